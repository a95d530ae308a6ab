# Running several qaxdbd nodes in the shell tests (after cli_lib.sh): each node N has a folder,
# a port and a pid; every wait is bounded, and every node still running is killed at exit.
# $QAXDBD is the caller's.
declare -A NODE_PID NODE_PORT NODE_DIR NODE_HOST NODE_NETNS
cluster_cleanup() {
  local n
  for n in "${!NODE_PID[@]}"; do kill -9 "${NODE_PID[$n]}" 2>/dev/null; done
  [ "$(type -t cluster_extra_cleanup)" = function ] && cluster_extra_cleanup
  cli_cleanup
}
trap cluster_cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_node N DIR PORT [qaxdbd flags...]: starts node N and waits until it listens.
start_node() {
  local n=$1 dir=$2 port=$3
  shift 3
  NODE_DIR[$n]=$dir
  NODE_PORT[$n]=$port
  ${NODE_NETNS[$n]:+ip netns exec ${NODE_NETNS[$n]}} "$QAXDBD" --data "$dir" --pg-port "$port" \
    --http-port 0 --node "$n" --snapshot-interval 0 "$@" >"$TMP/$n.out" 2>>"$TMP/$n.err" &
  NODE_PID[$n]=$!
  for _ in $(seq 300); do
    grep -q '^qaxdbd: metrics' "$TMP/$n.out" 2>/dev/null && return 0
    kill -0 "${NODE_PID[$n]}" 2>/dev/null || break
    sleep 0.1
  done
  fail "node $n did not start: $(tail -3 "$TMP/$n.err")"
  return 1
}

stop_node() {
  local n=$1
  kill -TERM "${NODE_PID[$n]}" 2>/dev/null
  for _ in $(seq 300); do kill -0 "${NODE_PID[$n]}" 2>/dev/null || break; sleep 0.1; done
  wait "${NODE_PID[$n]}" 2>/dev/null
  local rc=$?
  unset "NODE_PID[$n]"
  [ "$rc" -eq 0 ] || fail "node $n exit $rc after SIGTERM: $(tail -3 "$TMP/$n.err")"
}

kill_node() {
  kill -9 "${NODE_PID[$1]}" 2>/dev/null
  wait "${NODE_PID[$1]}" 2>/dev/null
  unset "NODE_PID[$1]"
}

# q N SQL...: runs statements on node N, unaligned, tuples only.
q() {
  local n=$1
  shift
  local args=()
  for s in "$@"; do args+=(-c "$s"); done
  PGCONNECT_TIMEOUT=2 psql -h "${NODE_HOST[$n]:-127.0.0.1}" -p "${NODE_PORT[$n]}" -U "${PGUSER:-qaxdb}" \
    -d qaxdb -Atq "${args[@]}" 2>&1
}

# role N / applied N / last N: from QAXDB REPLICATION's first row (this node).
node_field() { q "$1" "QAXDB REPLICATION" | head -1 | cut -d'|' -f"$2"; }
role() { node_field "$1" 2; }
epoch() { node_field "$1" 3; }
last_lsn() { node_field "$1" 5; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s; fails after SECONDS.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "timed out after ${seconds}s waiting for: $what"
  return 1
}

# caught_up P R: replica R applied everything primary P has.
caught_up() {
  local last
  last=$(last_lsn "$1")
  [ -n "$last" ] && [ "$(node_field "$2" 8)" = "$last" ]
}

# copied_at N: the LSN node N was last copied from a primary at (0 if never): its log starts
# after it.
copied_at() {
  local lsn
  lsn=$(grep 'msg="copied the primary"' "$TMP/$1.err" 2>/dev/null | tail -1 | sed 's/.*lsn=\([0-9]*\).*/\1/')
  echo "${lsn:-0}"
}

# same_log LSN N...: every node's log checksum over the LSNs all of them hold up to LSN is the
# same.
same_log() {
  local to=$1 from=1 first="" n sum
  shift
  for n in "$@"; do
    [ "$(copied_at "$n")" -ge "$from" ] && from=$(($(copied_at "$n") + 1))
  done
  for n in "$@"; do
    sum=$(q "$n" "QAXDB CHECKSUM $from $to")
    [ -n "$first" ] || first=$sum
    [ "$sum" = "$first" ] || { echo "node $n: $sum, not $first"; return 1; }
  done
  echo "$first"
}

# The primary among the nodes named (its name), or nothing.
primary_of() {
  local n
  for n in "$@"; do
    [ "$(role "$n")" = primary ] && echo "$n"
  done
}
