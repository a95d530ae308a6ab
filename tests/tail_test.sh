#!/usr/bin/env bash
# qaxdb tail end to end: reading a finished log from its files, following a running
# `qaxdb simulate` live with a table filter, JSON lines with lsn and table, instrument
# filters, Ctrl-C, and clear errors. Every wait is bounded. Usage: tail_test.sh PATH/TO/qaxdb
set -uo pipefail
QAXDB=$1
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
follower=
trap '[ -n "$follower" ] && kill "$follower" 2>/dev/null; cli_cleanup' EXIT

D=$TMP/data
expect 0 "simulate" -- "$QAXDB" simulate --data "$D" --events 2000 --seed 3

# A finished log, from its files.
expect 0 "tail --from 1" -- timeout 60 "$QAXDB" tail --data "$D" --from 1 --limit 3 --json
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "tail --limit 3 printed $(wc -l <"$TMP/out") lines"
for lsn in 1 2 3; do
  sed -n "${lsn}p" "$TMP/out" | grep -q "\"lsn\":$lsn," || fail "line $lsn lacks lsn $lsn"
done
contains out '"table":"instruments"'
expect 0 "tail --oldest" -- timeout 60 "$QAXDB" tail --data "$D" --oldest --limit 2
head -1 "$TMP/out" | grep -q '^lsn=1 .*table=instruments' || fail "oldest: $(head -1 "$TMP/out")"
expect 0 "tail --instrument" -- timeout 60 "$QAXDB" tail --data "$D" --from 1 --instrument cu2501 --limit 20 --json
[ "$(grep -c '"instrument_id":"cu2501"' "$TMP/out")" -eq 20 ] ||
  fail "--instrument cu2501: $(grep -vc '"instrument_id":"cu2501"' "$TMP/out") other lines"

# Live: a tail waiting for trades, then a writer.
timeout 120 "$QAXDB" tail --data "$D" --live --table trades --json --limit 20 >"$TMP/live" 2>"$TMP/live.err" &
follower=$!
for _ in $(seq 100); do grep -q following "$TMP/live.err" && break; sleep 0.1; done
contains live.err "following"
start=$(sed -n 's/.*from LSN \([0-9]*\).*/\1/p' "$TMP/live.err")
expect 0 "simulate while tailing" -- "$QAXDB" simulate --data "$D" --events 5000 --seed 4
for _ in $(seq 300); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
wait "$follower"
rc=$?
follower=
[ "$rc" -eq 0 ] || fail "live tail exit $rc: $(cat "$TMP/live.err")"
[ "$(grep -c '"table":"trades"' "$TMP/live")" -eq 20 ] || fail "live: $(head -2 "$TMP/live")"
previous=$((start - 1))
for lsn in $(sed 's/.*"lsn":\([0-9]*\),.*/\1/' "$TMP/live"); do
  [ "$lsn" -gt "$previous" ] || fail "live: LSN $lsn after $previous"
  previous=$lsn
done

# Ctrl-C ends a waiting tail with exit 0.
"$QAXDB" tail --data "$D" >"$TMP/int" 2>"$TMP/int.err" &
follower=$!
for _ in $(seq 100); do grep -q following "$TMP/int.err" && break; sleep 0.1; done
kill -INT "$follower"
for _ in $(seq 100); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
wait "$follower"
rc=$?
follower=
[ "$rc" -eq 0 ] || fail "tail after Ctrl-C: exit $rc"

# A named cursor: a second tail goes on where the first stopped; subscribers lists it.
expect 0 "tail --cursor" -- timeout 60 "$QAXDB" tail --data "$D" --oldest --cursor ops --limit 5
contains out '^lsn=5 '
expect 0 "tail --cursor again" -- timeout 60 "$QAXDB" tail --data "$D" --live --cursor ops --limit 2
head -1 "$TMP/out" | grep -q '^lsn=6 ' || fail "resumed at: $(head -1 "$TMP/out")"
expect 0 "subscribers" -- "$QAXDB" subscribers --data "$D"
grep -q '^ops  *7 ' "$TMP/out" || fail "subscribers: $(cat "$TMP/out")"
contains out "^writer: none running; the log ends at LSN "
expect 0 "subscribers --delete" -- "$QAXDB" subscribers --data "$D" --delete ops
expect 0 "subscribers, none" -- "$QAXDB" subscribers --data "$D"
contains err "no named cursors"
expect 1 "subscribers --delete again" -- "$QAXDB" subscribers --data "$D" --delete ops

# A conflated tail of a finished log: one tick per instrument.
expect 0 "tail --conflate" -- timeout 60 "$QAXDB" tail --data "$D" --oldest --table ticks --delay 10 --conflate --json --limit 5
[ "$(sed 's/.*"instrument_id":"\([^"]*\)".*/\1/' "$TMP/out" | sort -u | wc -l)" -eq 5 ] ||
  fail "conflated ticks repeat an instrument: $(cut -c1-80 "$TMP/out")"
expect 2 "tail --conflate without --delay" -- "$QAXDB" tail --data "$D" --conflate

# Errors.
expect 1 "tail of no folder" -- "$QAXDB" tail --data "$TMP/nothing"
expect 1 "tail beyond the log" -- timeout 60 "$QAXDB" tail --data "$D" --from 99999999
contains err "not in the log"
expect 2 "tail of no table" -- "$QAXDB" tail --data "$D" --table nosuch
expect 2 "tail --limit x" -- "$QAXDB" tail --data "$D" --limit x

cli_finish tail_test
