#!/usr/bin/env bash
# Snapshots and restores end to end: `qaxdb snapshot` of a simulated folder answers SQL as the
# folder does, `qaxdb restore` puts it back (and `qaxdb check` passes), both refuse a folder
# that holds something, restore refuses what is not a snapshot and a snapshot with a flipped
# byte (naming the file); qaxdbd's `SNAPSHOT TO` through psql holds an INSERT acknowledged
# before it and answers errors with an SQLSTATE; its periodic snapshots rotate. Waits are bounded.
# Usage: snapshot_test.sh PATH/TO/qaxdb PATH/TO/qaxdbd
set -uo pipefail
QAXDB=$1
QAXDBD=$2
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
# shellcheck source=server_lib.sh
source "$(dirname "$0")/server_lib.sh"
command -v psql >/dev/null || { echo "snapshot_test: psql is missing (scripts/bootstrap.sh installs postgresql-client)" >&2; exit 1; }

D=$TMP/data
count() { "$QAXDB" sql --data "$1" --csv "SELECT count(*) AS n FROM trades" | tail -1; }
expect 0 "simulate" -- "$QAXDB" simulate --data "$D" --events 3000 --seed 5
expect 0 "compact (so that the folder has table files)" -- "$QAXDB" compact --data "$D"
trades=$(count "$D")

# Offline snapshot and restore.
expect 0 "snapshot" -- "$QAXDB" snapshot "$D" "$TMP/snap"
contains out "at LSN"
grep -q '^lsn=[0-9]' "$TMP/snap/SNAPSHOT" || fail "no lsn in the SNAPSHOT marker"
[ "$(count "$TMP/snap")" = "$trades" ] || fail "the snapshot counts $(count "$TMP/snap") trades, not $trades"
expect 1 "snapshot into a folder that holds something" -- "$QAXDB" snapshot "$D" "$TMP/snap"
contains err "not an empty folder"
expect 2 "snapshot without DEST" -- "$QAXDB" snapshot
expect 1 "snapshot of a missing folder" -- "$QAXDB" snapshot "$TMP/none" "$TMP/snap2"
expect 0 "restore" -- "$QAXDB" restore "$TMP/snap" "$TMP/restored"
expect 0 "check the restored folder" -- "$QAXDB" check --data "$TMP/restored"
[ "$(count "$TMP/restored")" = "$trades" ] || fail "the restored folder counts $(count "$TMP/restored") trades"
expect 1 "restore over a folder that holds something" -- "$QAXDB" restore "$TMP/snap" "$D"
contains err "not an empty folder"
expect 1 "restore of a folder that is not a snapshot" -- "$QAXDB" restore "$D" "$TMP/r2"
contains err "not a snapshot"
expect 2 "restore without DIR" -- "$QAXDB" restore "$TMP/snap"

# A flipped byte: on a real copy (the snapshot's files are hard links to the folder's).
cp -r "$TMP/snap" "$TMP/bad"
sst=$(find "$TMP/bad/sst" -name '*.sst' | head -1)
size=$(stat -c %s "$sst")
printf '\xff' | dd of="$sst" bs=1 seek=$((size / 3)) conv=notrunc status=none
expect 1 "restore of a damaged snapshot" -- "$QAXDB" restore "$TMP/bad" "$TMP/r3"
contains err "$sst"
[ ! -e "$TMP/r3" ] || fail "a refused restore left $TMP/r3"

# Online: SNAPSHOT TO through psql, periodic snapshots every second, keeping 2.
start_server --snapshot-interval 1 --snapshot-keep 2 --snapshot-dir "$TMP/periodic" ||
  { cli_finish snapshot_test; exit 1; }
q() { timeout 60 psql -X -A -t -h 127.0.0.1 -p "$PORT" -U ops -d qaxdb -v ON_ERROR_STOP=1 "$@"; }
expect 0 "insert" -- q -c "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) VALUES ('snap2612', 'SHFE', 0.5, 10, TIMESTAMP '2026-11-30 09:00:00')"
expect 0 "SNAPSHOT TO" -- q -c "SNAPSHOT TO '$TMP/online'"
contains out "^SNAPSHOT [0-9][0-9]*$"
lsn=$(sed -n 's/^SNAPSHOT //p' "$TMP/out")
grep -q "^lsn=$lsn\$" "$TMP/online/SNAPSHOT" || fail "SNAPSHOT $lsn, but the marker says $(head -1 "$TMP/online/SNAPSHOT")"
# qaxdb snapshot finds the folder served and has the server take it (a relative DEST is the
# CLI's, made absolute for the server).
expect 0 "qaxdb snapshot through the server" -- bash -c "cd '$TMP' && '$QAXDB' snapshot '$D' by-cli"
contains out "taken by the qaxdbd serving it"
grep -q "^lsn=[1-9]" "$TMP/by-cli/SNAPSHOT" || fail "qaxdb snapshot through the server: no marker"
expect 1 "SNAPSHOT TO a relative path" -- q -v VERBOSITY=verbose -c "SNAPSHOT TO 'relative/dir'"
contains err "22023"
expect 1 "SNAPSHOT TO a folder that holds something" -- q -v VERBOSITY=verbose -c "SNAPSHOT TO '$TMP/online'"
contains err "22023"
expect 1 "SNAPSHOT without TO" -- q -v VERBOSITY=verbose -c "SNAPSHOT '$TMP/x'"
contains err "42601"
for _ in $(seq 600); do grep -q 'msg="deleted the old snapshot"' "$TMP/server.err" && break; sleep 0.1; done
contains server.err 'msg="snapshot" lsn=[1-9]'
kept=$(find "$TMP/periodic" -mindepth 1 -maxdepth 1 -name 'snap-*' | wc -l)
grep -q 'msg="deleted the old snapshot"' "$TMP/server.err" || fail "no periodic snapshot was rotated: $(tail -3 "$TMP/server.err")"
[ "$kept" -le 3 ] || fail "$kept periodic snapshots kept, expected at most 2 (+1 being taken)"
stop_server

expect 0 "restore the online snapshot" -- "$QAXDB" restore "$TMP/online" "$TMP/online-restored"
expect 0 "the inserted row is in it" -- "$QAXDB" sql --data "$TMP/online-restored" --csv "SELECT count(*) FROM instruments WHERE instrument_id = 'snap2612'"
[ "$(tail -1 "$TMP/out")" = "1" ] || fail "the online snapshot lacks the acknowledged INSERT: $(cat "$TMP/out")"
newest=$(find "$TMP/periodic" -mindepth 1 -maxdepth 1 -name 'snap-*' ! -name '*.tmp' | sort | tail -1)
expect 0 "restore a periodic snapshot" -- "$QAXDB" restore "$newest" "$TMP/periodic-restored"
expect 0 "check it" -- "$QAXDB" check --data "$TMP/periodic-restored"

cli_finish snapshot_test
