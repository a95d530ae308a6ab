#!/usr/bin/env bash
# Automatic failover through etcd, with three real qaxdbd nodes and a real etcd on loopback,
# under a write load at durability `replicated` (tests/repl_writer.py):
#   1. the primary cut off by a network partition (it runs in its own network namespace, whose
#      link is taken down): it fences itself, the others elect a new primary, and after the
#      link is back it follows (as root only, for `ip netns`; otherwise every node is on
#      loopback and this case is skipped, saying so);
#   2. kill -9 of the primary: a replica takes over in a new epoch; no acknowledged write is
#      lost; the killed node comes back as a replica (rebuilt if its log diverged);
#   3. kill -9 of a replica, and its restart after the others moved on: it catches up.
# After each: no epoch has writes acknowledged by two nodes, and every node's log has the same
# checksum. Waits are bounded; each step waits on observed progress (acknowledgements, roles).
# Usage: failover_test.sh PATH/TO/qaxdb PATH/TO/qaxdbd
set -uo pipefail
QAXDB=$1
QAXDBD=$2
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
# shellcheck source=cluster_lib.sh
source "$(dirname "$0")/cluster_lib.sh"
# shellcheck source=etcd_lib.sh
source "$(dirname "$0")/etcd_lib.sh"
command -v psql >/dev/null || { echo "failover_test: psql is missing (scripts/bootstrap.sh)" >&2; exit 1; }
WRITER="$(dirname "$0")/repl_writer.py"
NODES=(n1 n2 n3)

# With network namespaces, n1 lives in one, linked to the host by a veth pair: etcd, n2 and
# n3 listen on the host's end, n1 on its own; off loopback, every login is checked.
NS=
# `ip netns exec` needs to remount /sys, which a chroot may not allow, and `ip netns add`
# leaves a mount under the chroot's /run that keeps it from being removed: outside the
# machine's root directory, skip namespaces; inside, try one first.
if [ "$(id -u)" = 0 ] && [ / -ef /proc/1/root ] && ip netns add "qxfo$$" 2>/dev/null &&
  { ip netns exec "qxfo$$" true 2>/dev/null || { ip netns del "qxfo$$"; false; }; }; then
  NS=qxfo$$
  cluster_extra_cleanup() { ip netns del "$NS" 2>/dev/null; ip link del "qxh$$" 2>/dev/null; }
  { ip link add "qxh$$" type veth peer name "qxn$$" && ip link set "qxn$$" netns "$NS" &&
    ip addr add 10.213.0.1/24 dev "qxh$$" && ip link set "qxh$$" up &&
    ip netns exec "$NS" ip addr add 10.213.0.2/24 dev "qxn$$" &&
    ip netns exec "$NS" ip link set "qxn$$" up && ip netns exec "$NS" ip link set lo up; } ||
    fail "cannot set up the network namespace"
  printf 'secret\n' | "$QAXDBD" --add-user qaxdb --users "$TMP/users" >/dev/null || fail "add-user"
  export PGPASSWORD=secret QAXDB_REPL_PASSWORD=secret
  NODE_HOST[n1]=10.213.0.2 NODE_NETNS[n1]=$NS NODE_HOST[n2]=10.213.0.1 NODE_HOST[n3]=10.213.0.1
  start_etcd "$TMP" 10.213.0.1 || { cli_finish failover_test; exit 1; }
else
  echo "failover_test: not root, in a chroot, or network namespaces cannot be entered here: the partition case is skipped" >&2
  start_etcd "$TMP" || { cli_finish failover_test; exit 1; }
fi
for n in "${NODES[@]}"; do NODE_PORT[$n]=$(free_port); done
start_cluster_node() { # start_cluster_node N
  local n=$1 host=${NODE_HOST[$1]:-127.0.0.1}
  local flags=(--etcd "$ETCD_ENDPOINT" --ttl 2 --durability replicated --replication-timeout 3000
    --listen "$host" --advertise "$host:${NODE_PORT[$n]}")
  [ -n "$NS" ] && flags+=(--users "$TMP/users" --repl-user qaxdb)
  start_node "$n" "$TMP/$n" "${NODE_PORT[$n]}" "${flags[@]}"
}

one_primary() { [ "$(primary_of "${NODES[@]}" | wc -l)" = 1 ]; }
acks() { cat "$TMP/acked.count" 2>/dev/null || echo 0; }
at_least_acks() { [ "$(acks)" -ge "$1" ]; }
writer_pid=
run=0
start_writer() {
  rm -f "$TMP/stop" "$TMP/acked.count"
  local targets=() n
  for n in "${NODES[@]}"; do targets+=("${NODE_HOST[$n]:-127.0.0.1}:${NODE_PORT[$n]}"); done
  run=$((run + 1))
  /usr/bin/python3 "$WRITER" "$TMP/acked" "$TMP/stop" 120 "run$run" "${targets[@]}" &
  writer_pid=$!
}
stop_writer() {
  touch "$TMP/stop"
  wait "$writer_pid"
  cat "$TMP/acked" >>"$TMP/all_acked"
}

# Every acknowledged row is on node $1; no epoch was acknowledged by two nodes.
check_acks() {
  local on=$1 missing
  q "$on" "SELECT instrument_id FROM instruments" | sort >"$TMP/have"
  cut -d' ' -f1 "$TMP/all_acked" | sort >"$TMP/want"
  missing=$(comm -23 "$TMP/want" "$TMP/have" | wc -l)
  [ "$missing" = 0 ] || fail "$missing acknowledged writes are missing on $on: $(comm -23 "$TMP/want" "$TMP/have" | head -3 | tr '\n' ' ')"
  awk '{print $3, $2}' "$TMP/all_acked" | sort -u | awk '{n[$1]++} END {for (e in n) if (n[e] > 1) print e}' >"$TMP/shared"
  [ -s "$TMP/shared" ] && fail "epochs acknowledged by two nodes: $(cat "$TMP/shared")"
}

all_caught_up() {
  local p n
  p=$(primary_of "${NODES[@]}")
  [ -n "$p" ] || return 1
  for n in "${NODES[@]}"; do
    [ "$n" = "$p" ] || caught_up "$p" "$n" || return 1
  done
}

converged() {
  wait_until 60 "every node caught up with the primary" all_caught_up
  local p
  p=$(primary_of "${NODES[@]}")
  same_log "$(last_lsn "$p")" "${NODES[@]}" >/dev/null ||
    fail "the logs differ: $(same_log "$(last_lsn "$p")" "${NODES[@]}")"
  check_acks "$p"
}

# One line per case for the record (docs/operations.md): the writes acknowledged so far, the
# primary and its epoch, whether a node was rebuilt.
report() {
  local p
  p=$(primary_of "${NODES[@]}")
  echo "failover_test: $1: $(wc -l <"$TMP/all_acked") writes acknowledged in all, $failures failed check(s);" \
    "primary $p in epoch $(epoch "$p"); rebuilt so far: $(grep -l 'rebuilding this replica' "$TMP"/n*.err 2>/dev/null | wc -l)" >&2
}

# n1 starts alone, so that it is the first primary.
start_cluster_node n1
wait_until 30 "n1 elected" test "$(role n1)" = primary
start_cluster_node n2
start_cluster_node n3
wait_until 60 "n2 and n3 follow n1" all_caught_up

# 1. The primary partitioned away.
if [ -n "$NS" ]; then
  start_writer
  wait_until 60 "100 acknowledged writes before the partition" at_least_acks 100
  ip link set "qxh$$" down
  before=$(acks)
  wait_until 60 "200 writes acknowledged during the partition" at_least_acks $((before + 200))
  grep -q 'msg="replication: fenced"' "$TMP/n1.err" || fail "the partitioned primary did not fence itself"
  stop_writer
  ip link set "qxh$$" up
  [ "$(primary_of n2 n3 | wc -l)" = 1 ] || fail "not one primary among n2 and n3"
  converged
  report "partition of n1"
fi

# 2. kill -9 of the primary under the write load.
start_writer
wait_until 60 "200 acknowledged writes" at_least_acks 200
old=$(primary_of "${NODES[@]}")
old_epoch=$(epoch "$old")
kill_node "$old"
before=$(acks)
wait_until 60 "200 writes acknowledged after the kill" at_least_acks $((before + 200))
stop_writer
new=$(primary_of "${NODES[@]}")
[ -n "$new" ] && [ "$new" != "$old" ] || fail "no new primary after $old was killed (now: '$new')"
[ "$(epoch "$new")" -gt "$old_epoch" ] || fail "the new primary's epoch $(epoch "$new") is not above $old_epoch"
start_cluster_node "$old"
converged
report "kill -9 of the primary $old"

# 3. kill -9 of a replica, writes go on, then it is restarted behind the others.
start_writer
wait_until 60 "100 acknowledged writes" at_least_acks 100
p=$(primary_of "${NODES[@]}")
for n in "${NODES[@]}"; do [ "$n" != "$p" ] && victim=$n; done
kill_node "$victim"
before=$(acks)
wait_until 60 "200 writes acknowledged without $victim" at_least_acks $((before + 200))
stop_writer
start_cluster_node "$victim"
converged
report "kill -9 of the replica $victim"

for n in "${!NODE_PID[@]}"; do stop_node "$n"; done
cli_finish failover_test
