# Starting and stopping a real single-member etcd in the shell tests, as tests/etcd_proc.c does
# for the C tests: free loopback ports, data and log in a folder of the caller's, fast timings
# (leases down to 1 s), every wait bounded. $ETCD overrides the program (default etcd).
# Source it after cli_lib.sh and server_lib.sh: its EXIT trap runs theirs after killing etcd.
ETCD_PID=
eval "etcd_prev_exit_trap=$(trap -p EXIT | sed 's/^trap -- //; s/ EXIT$//')"
trap '[ -n "$ETCD_PID" ] && kill -9 "$ETCD_PID" 2>/dev/null; eval "$etcd_prev_exit_trap"' EXIT

# Two loopback ports the kernel picked for port 0, held together so that they differ.
etcd_free_ports() {
  python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))'
}

# start_etcd DIR [HOST]: etcd with data in DIR/etcd/data and its log in DIR/etcd/etcd.log,
# serving clients on HOST (default 127.0.0.1); waits up to 20 s for /health. Sets ETCD_ENDPOINT
# (http://HOST:PORT) and ETCD_PID.
start_etcd() {
  local dir=$1/etcd client peer
  mkdir -p "$dir" || return 1
  read -r client peer < <(etcd_free_ports) || return 1
  ETCD_ENDPOINT=http://${2:-127.0.0.1}:$client
  local peer_url=http://127.0.0.1:$peer
  "${ETCD:-etcd}" --name n1 --data-dir "$dir/data" \
    --listen-client-urls "$ETCD_ENDPOINT" --advertise-client-urls "$ETCD_ENDPOINT" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
    --initial-cluster "n1=$peer_url" --initial-cluster-state new \
    --heartbeat-interval 10 --election-timeout 100 </dev/null >"$dir/etcd.log" 2>&1 &
  ETCD_PID=$!
  for _ in $(seq 200); do
    curl -s --max-time 1 "$ETCD_ENDPOINT/health" | grep -q '"health":"true"' && return 0
    kill -0 "$ETCD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "etcd did not become healthy; its log ($dir/etcd.log):" >&2
  tail -20 "$dir/etcd.log" >&2
  stop_etcd
  return 1
}

# SIGTERM, then SIGKILL after 10 s.
stop_etcd() {
  [ -n "$ETCD_PID" ] || return 0
  kill -TERM "$ETCD_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$ETCD_PID" 2>/dev/null
  wait "$ETCD_PID" 2>/dev/null
  ETCD_PID=
}
