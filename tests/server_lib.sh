# Starting and stopping qaxdbd in the shell tests (after cli_lib.sh): $QAXDBD, $D and $TMP are
# the caller's; every wait is bounded.
server=
trap '[ -n "$server" ] && kill -9 "$server" 2>/dev/null; cli_cleanup' EXIT

# Starts qaxdbd on folder $SERVED (default $D) on free ports; sets server, PORT and HTTP.
start_server() {
  "$QAXDBD" --data "${SERVED:-$D}" --pg-port 0 --http-port 0 "$@" >"$TMP/server.out" \
    2>"$TMP/server.err" &
  server=$!
  PORT=
  for _ in $(seq 300); do
    PORT=$(sed -n '1s/.* on [0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/server.out")
    HTTP=$(sed -n '2s|.*http://[0-9.]*:\([0-9]*\)/metrics.*|\1|p' "$TMP/server.out")
    [ -n "$PORT" ] && [ -n "$HTTP" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  fail "qaxdbd did not start: $(cat "$TMP/server.err")"
  return 1
}
# SIGTERM: the server must stop cleanly (exit 0) within a bounded wait.
stop_server() {
  kill -TERM "$server"
  for _ in $(seq 300); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  wait "$server"
  local rc=$?
  server=
  [ "$rc" -eq 0 ] || fail "qaxdbd exit $rc after SIGTERM: $(cat "$TMP/server.err")"
}
