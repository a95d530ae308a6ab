#!/usr/bin/env bash
# Replication without etcd, end to end with real qaxdbd processes on loopback: a new replica is
# copied from the primary (base backup) and streams; replicas serve SQL and refuse writes
# (naming the primary); writes at `replicated` are on the replicas when acknowledged, and time
# out with a clear error when no replica is there; a killed replica and a stale one catch up
# from the primary's WAL; every node's log has the same checksum; `qaxdb promote` makes a
# replica the primary in a new epoch; an old primary whose log diverged is moved aside and
# rebuilt from the new one; lag shows in `qaxdb stats` and /metrics. Waits are bounded.
# Usage: repl_test.sh PATH/TO/qaxdb PATH/TO/qaxdbd
set -uo pipefail
QAXDB=$1
QAXDBD=$2
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
# shellcheck source=cluster_lib.sh
source "$(dirname "$0")/cluster_lib.sh"
command -v psql >/dev/null || { echo "repl_test: psql is missing (scripts/bootstrap.sh)" >&2; exit 1; }

insert() { # insert NODE ID [durability]
  q "$1" "SET qaxdb.durability = ${3:-group}" \
    "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) VALUES ('$2', 'TEST', 1, 1, TIMESTAMP '2026-11-30 00:00:00')"
}
rows() { q "$1" "SELECT count(*) FROM instruments"; }

P=$(free_port) R1=$(free_port) R2=$(free_port)
start_node p "$TMP/p" "$P" --replicas-required 1 --replication-timeout 1500
for i in $(seq 50); do insert p "before$i" >/dev/null; done

# New replicas: copied from the primary, then streaming.
start_node r1 "$TMP/r1" "$R1" --primary "127.0.0.1:$P"
start_node r2 "$TMP/r2" "$R2" --primary "127.0.0.1:$P"
grep -q "copied the primary" "$TMP/r1.err" || fail "r1 was not copied from the primary: $(tail -3 "$TMP/r1.err")"
wait_until 30 "r1 caught up" caught_up p r1
wait_until 30 "r2 caught up" caught_up p r2
[ "$(role r1)" = replica ] || fail "r1 is $(role r1), not a replica"

# Writes at `replicated` are on a replica when acknowledged.
for i in $(seq 100); do
  out=$(insert p "repl$i" replicated)
  [ -z "$out" ] || fail "replicated insert $i: $out"
done
last=$(last_lsn p)
most=$(q p "QAXDB REPLICATION" | tail -n +2 | cut -d'|' -f7 | sort -n | tail -1)
[ "${most:-0}" -ge "$last" ] || fail "acknowledged at LSN $last, but the replicas flushed up to ${most:-nothing}"
wait_until 30 "r1 caught up after the replicated writes" caught_up p r1
wait_until 30 "r2 caught up after the replicated writes" caught_up p r2
same_log "$last" p r1 r2 >/dev/null || fail "the logs differ: $(same_log "$last" p r1 r2)"
sees_rows() { [ "$(rows "$1")" = "$2" ]; }
wait_until 30 "r1's SQL sees every row" sees_rows r1 150
[ "$(q r1 "SELECT count(*) FROM instruments_history WHERE instrument_id LIKE 'repl%'")" = 100 ] ||
  fail "the history on r1 lacks rows of the primary"
[ "$(rows r2)" = "$(rows p)" ] || fail "r2 counts $(rows r2) rows, the primary $(rows p)"

# A subscriber on a replica's folder follows what the replica applies: the next write on the
# primary reaches it.
"$QAXDB" tail --data "$TMP/r1" --live --table instruments --limit 1 >"$TMP/tail.out" 2>"$TMP/tail.err" &
tail_pid=$!
sleep 0.5
insert p "seen-by-tail" replicated >/dev/null
for _ in $(seq 100); do kill -0 "$tail_pid" 2>/dev/null || break; sleep 0.1; done
kill "$tail_pid" 2>/dev/null
grep -q "seen-by-tail" "$TMP/tail.out" || fail "a subscriber on r1 did not see the write: $(cat "$TMP/tail.err")"

# A replica refuses writes, naming the primary (SQLSTATE 25006).
out=$(q r1 "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) VALUES ('x', 'TEST', 1, 1, TIMESTAMP '2026-11-30 00:00:00')")
echo "$out" | grep -q "replica; the primary is 127.0.0.1:$P" || fail "a replica took a write or did not name the primary: $out"

# A killed replica and a stale one catch up from the primary's WAL.
kill_node r2
for i in $(seq 100); do insert p "r2gone$i" replicated >/dev/null; done
start_node r2 "$TMP/r2" "$R2" --primary "127.0.0.1:$P"
wait_until 30 "the stale r2 caught up" caught_up p r2
grep -q "copied the primary" <(sed -n '/r2gone/,$p' "$TMP/r2.err") && fail "the stale r2 was copied again instead of catching up"
last=$(last_lsn p)
same_log "$last" p r1 r2 >/dev/null || fail "after r2's restart the logs differ: $(same_log "$last" p r1 r2)"

# Lag in qaxdb stats (through the server) and /metrics.
"$QAXDB" stats --data "$TMP/r1" >"$TMP/out" 2>"$TMP/err" || fail "qaxdb stats on r1: $(cat "$TMP/err")"
contains out "replication"
grep -q "^ *r1 *| replica" "$TMP/out" || fail "qaxdb stats does not show r1 as a replica: $(tail -4 "$TMP/out")"
"$QAXDB" stats --data "$TMP/p" >"$TMP/out" 2>&1
grep -q "r2 *| replica" "$TMP/out" || fail "qaxdb stats on the primary does not list r2: $(tail -4 "$TMP/out")"
http=$(sed -n 's|.*http://[0-9.]*:\([0-9]*\)/metrics.*|\1|p' "$TMP/p.out")
curl -s "http://127.0.0.1:$http/metrics" >"$TMP/metrics"
contains metrics 'qaxdb_repl_replica_lag_records{replica="r1"}'
contains metrics 'qaxdb_repl_primary 1'

# With no replica left, a write at `replicated` is refused after the timeout, not acknowledged.
stop_node r1
stop_node r2
out=$(insert p "alone" replicated)
echo "$out" | grep -q "only 0 of 1 replica(s) flushed it" || fail "a replicated write without replicas: $out"

# Promote r1 while the primary is gone; the primary diverged (it took writes r1 never saw):
# started as r1's replica it is moved aside and rebuilt from r1.
for i in $(seq 5); do insert p "lost$i" >/dev/null; done
stop_node p
start_node r1 "$TMP/r1" "$R1" --primary "127.0.0.1:$P"
expect 0 "qaxdb promote" -- "$QAXDB" promote --data "$TMP/r1"
contains out "promoted"
[ "$(role r1)" = primary ] || fail "r1 is $(role r1) after promote"
[ "$(epoch r1)" = 2 ] || fail "r1's epoch is $(epoch r1), not 2"
expect 1 "promote a primary" -- "$QAXDB" promote --data "$TMP/r1"
contains err "already the primary"
for i in $(seq 3); do insert r1 "after$i" replicated >/dev/null; done
start_node p "$TMP/p" "$P" --primary "127.0.0.1:$R1"
wait_until 60 "the old primary was rebuilt from r1 and caught up" caught_up r1 p
grep -q "rebuilding this replica" "$TMP/p.err" || fail "the diverged primary was not rebuilt: $(tail -3 "$TMP/p.err")"
ls -d "$TMP"/p.diverged-* >/dev/null 2>&1 || fail "the diverged folder was not kept aside"
[ "$(q p "SELECT count(*) FROM instruments WHERE instrument_id LIKE 'lost%'")" = 0 ] ||
  fail "the rebuilt node still has the writes r1 never had"
same_log "$(last_lsn r1)" r1 p >/dev/null || fail "after the rebuild the logs differ: $(same_log "$(last_lsn r1)" r1 p)"
[ "$(epoch p)" = 2 ] || fail "the rebuilt node is in epoch $(epoch p), not 2"
start_node r2 "$TMP/r2" "$R2" --primary "127.0.0.1:$R1"
wait_until 60 "r2 follows r1" caught_up r1 r2
same_log "$(last_lsn r1)" r1 p r2 >/dev/null || fail "the three logs differ at the end"
stop_node r2
stop_node p
stop_node r1
cli_finish repl_test
