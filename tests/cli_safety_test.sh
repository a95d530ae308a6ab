#!/usr/bin/env bash
# End-to-end checks that no command destroys data: read-only commands change no byte and no
# file of a folder; a folder whose CURRENT is gone is refused (nothing deleted), reported by
# check, and brought back whole by repair; check beside a running writer says so instead of
# calling its work in progress damage. Usage: cli_safety_test.sh PATH/TO/qaxdb
set -uo pipefail
QAXDB=$1
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
writer=
trap '[ -n "$writer" ] && kill "$writer" 2>/dev/null; cli_cleanup' EXIT

# Every file under a folder with its size and checksum, and every directory.
listing() { (cd "$1" && find . -type d | sort && find . -type f -exec md5sum {} + | sort -k2); }

D=$TMP/data
expect 0 "simulate" -- "$QAXDB" simulate --data "$D" --events 60000 --seed 5
expect 0 "compact" -- "$QAXDB" compact --data "$D"
# More writes after the compaction, so a tail lives only in the WAL.
expect 0 "simulate more" -- "$QAXDB" simulate --data "$D" --events 5000 --seed 6

# Read-only commands change nothing.
listing "$D" >"$TMP/before"
expect 0 "get" -- "$QAXDB" get accounts acct000001 --data "$D"
cp "$TMP/out" "$TMP/account"
expect 0 "scan" -- "$QAXDB" scan orders --data "$D" --limit 5
expect 0 "stats" -- "$QAXDB" stats --data "$D"
expect 0 "sql" -- "$QAXDB" sql --data "$D" --csv "SELECT count(*) FROM trades"
cp "$TMP/out" "$TMP/trades"
expect 0 "wal-dump" -- "$QAXDB" wal-dump --data "$D" --limit 3
expect 0 "check" -- "$QAXDB" check --data "$D"
contains out "open: would succeed"
listing "$D" >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" || fail "a read-only command changed the folder: $(diff "$TMP/before" "$TMP/after" | head -5)"

# A folder without CURRENT is not new: open refuses and deletes nothing.
rm "$D/CURRENT"
listing "$D" >"$TMP/before"
expect 1 "get without CURRENT" -- "$QAXDB" get accounts acct000001 --data "$D"
contains err "CURRENT is missing"
contains err "qaxdb repair"
expect 1 "simulate without CURRENT" -- "$QAXDB" simulate --data "$D" --events 10
expect 1 "check without CURRENT" -- "$QAXDB" check --data "$D"
contains err "open would fail"
listing "$D" >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" || fail "a refused open changed the folder"

# repair brings every record back.
expect 0 "repair" -- "$QAXDB" repair --data "$D"
contains out "table files:"
[ -d "$D/lost" ] || fail "repair kept no lost/ folder for the old MANIFEST"
expect 0 "check after repair" -- "$QAXDB" check --data "$D"
expect 0 "get after repair" -- "$QAXDB" get accounts acct000001 --data "$D"
cmp -s "$TMP/out" "$TMP/account" || fail "the account differs after repair"
expect 0 "sql after repair" -- "$QAXDB" sql --data "$D" --csv "SELECT count(*) FROM trades"
cmp -s "$TMP/out" "$TMP/trades" || fail "the trade count differs after repair"

# check beside a running writer: the live tail is not crash damage.
W=$TMP/live
"$QAXDB" simulate --data "$W" --events 1000000000 --durability none >/dev/null 2>"$TMP/writer" &
writer=$!
for _ in $(seq 300); do grep -q "from LSN" "$TMP/writer" 2>/dev/null && break; sleep 0.1; done
expect 0 "check beside a writer" -- "$QAXDB" check --data "$W"
contains out "a writer holds this folder"
grep -q "torn tail" "$TMP/out" && fail "check called the writer's tail a torn tail"
expect 1 "get beside a writer" -- "$QAXDB" get accounts acct000001 --data "$W"
contains err "a writer holds this folder"
kill "$writer"
wait "$writer" 2>/dev/null
writer=

cli_finish cli_safety_test
