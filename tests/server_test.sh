#!/usr/bin/env bash
# qaxdbd end to end with the real psql: a simulated folder served on a free loopback port,
# queries whose answers are known from `qaxdb sql` beforehand, several statements in one query,
# an error's SQLSTATE, a refused write, concurrent clients, a cancelled query, a listen address
# that is not loopback refused, SIGTERM closing cleanly, and logins with SCRAM-SHA-256 against
# a users file, with and without TLS. Every wait is bounded.
# Usage: server_test.sh PATH/TO/qaxdb PATH/TO/qaxdbd PATH/TO/server_libpq
set -uo pipefail
QAXDB=$1
QAXDBD=$2
LIBPQ_CLIENT=$3
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
# shellcheck source=server_lib.sh
source "$(dirname "$0")/server_lib.sh"
command -v psql >/dev/null || { echo "server_test: psql is missing (scripts/bootstrap.sh installs postgresql-client)" >&2; exit 1; }

D=$TMP/data
expect 0 "simulate" -- "$QAXDB" simulate --data "$D" --events 3000 --seed 5
expect 0 "count with qaxdb sql" -- "$QAXDB" sql --data "$D" --csv "SELECT count(*) AS n FROM trades"
trades=$(tail -1 "$TMP/out")
[ "$trades" -gt 0 ] || fail "no trades in the simulated folder: $trades"

q() { timeout 60 psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U trader -d qaxdb -v ON_ERROR_STOP=1 "$@"; }

# What get, scan and stats print from the folder, to compare with what they print through the
# server once it holds the folder.
expect 0 "local get" -- "$QAXDB" get --data "$D" trades 1
cp "$TMP/out" "$TMP/local_get"
expect 0 "local scan" -- "$QAXDB" scan --data "$D" trades --limit 5 --csv
cp "$TMP/out" "$TMP/local_scan"
cp "$TMP/err" "$TMP/local_scan_note"

start_server || { cli_finish server_test; exit 1; }
[ -f "$D/SERVER" ] || fail "no SERVER file in the served folder"
contains_in() { grep -q -- "$2" "$1" || fail "$1 lacks '$2'"; }
contains_in "$D/SERVER" "^pg_port=$PORT$"

# The CLI asks the server that holds the folder instead of failing on its lock.
expect 0 "get through the server" -- "$QAXDB" get --data "$D" trades 1
cmp -s "$TMP/out" "$TMP/local_get" || fail "get through the server: $(cat "$TMP/out")"
expect 0 "scan through the server" -- "$QAXDB" scan --data "$D" trades --limit 5 --csv
cmp -s "$TMP/out" "$TMP/local_scan" || fail "scan through the server differs: $(head -3 "$TMP/out")"
cmp -s "$TMP/err" "$TMP/local_scan_note" || fail "scan's note through the server: $(cat "$TMP/err")"
expect 1 "get of a missing key through the server" -- "$QAXDB" get --data "$D" trades 999999999
contains err "no trades record with key (999999999)"
expect 0 "stats through the server" -- "$QAXDB" stats --data "$D"
contains out "^level  files"
expect 0 "sql through the server" -- "$QAXDB" sql --data "$D" --csv "SELECT count(*) AS n FROM trades"
[ "$(tail -1 "$TMP/out")" = "$trades" ] || fail "sql through the server counted $(cat "$TMP/out")"
expect 0 "sql footer through the server" -- "$QAXDB" sql --data "$D" "SELECT true AS t"
contains out "true"
contains out "(1 row, at LSN [1-9]"
expect 1 "sql error through the server" -- "$QAXDB" sql --data "$D" "SELECT * FROM nope"
contains err "nope"
expect 0 "psql count" -- q -c "SELECT count(*) FROM trades"
[ "$(cat "$TMP/out")" = "$trades" ] || fail "psql counted $(cat "$TMP/out") trades, qaxdb sql $trades"
expect 0 "two statements" -- q -c "SELECT 1 AS a; SELECT 'x' AS b, NULL AS c, true AS d"
[ "$(tr '\n' ' ' <"$TMP/out")" = "1 x||t " ] || fail "two statements: $(tr '\n' ' ' <"$TMP/out")"
expect 0 "a predefined query" -- q -c "SELECT count(*) > 0 FROM ohlcv(NULL, INTERVAL 1 MINUTE)"
expect 0 "empty query" -- q -c ";"

# Errors: the statement's SQLSTATE, and the session goes on.
expect 1 "unknown table" -- q -v VERBOSITY=verbose -c "SELECT * FROM no_such_table"
contains err "42P01"
contains err "no_such_table"
expect 1 "syntax error" -- q -v VERBOSITY=verbose -c "SELEC 1"
contains err "42601"
expect 1 "a write" -- q -v VERBOSITY=verbose -c "CREATE TABLE t (a INT)"
contains err "42501"
printf 'SELECT * FROM nope;\nSELECT 42;\n' >"$TMP/script.sql"
expect 0 "after an error" -- timeout 60 psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U u -f "$TMP/script.sql"
contains out "^42$"

# Point lookups are answered from the engine (src/server/pg_point.c): the same rows, columns
# and types as the SQL engine's answer to the same query with a LIMIT, which it runs instead.
for call in "trades_by_key(5)" "orders_by_key(13)" "trades_by_key(999999999)" \
  "accounts_by_key('$(q -c "SELECT account_id FROM accounts LIMIT 1")')" \
  "instruments_by_key('$(q -c "SELECT instrument_id FROM instruments LIMIT 1")')"; do
  for suffix in "" " \\gdesc"; do
    echo "SELECT * FROM $call$suffix" | q >"$TMP/point" 2>&1
    echo "SELECT * FROM $call LIMIT 1$suffix" | q >"$TMP/sql" 2>&1
    cmp -s "$TMP/point" "$TMP/sql" || fail "point lookup $call$suffix: $(cat "$TMP/point") vs $(cat "$TMP/sql")"
  done
done
grep -q "numeric(18,4)" "$TMP/point" || fail "point lookup types: $(cat "$TMP/point")"
expect 0 "point lookup of a NULL key" -- q -c "SELECT * FROM trades_by_key(NULL)"
[ ! -s "$TMP/out" ] || fail "a NULL key found $(cat "$TMP/out")"

# psql's catalog commands: the engine's tables are tables with PostgreSQL's type names, the
# history and predefined views are views, and qaxdb's own catalog schema (qx_pg) stays hidden.
lacks() { if grep -q -- "$2" "$TMP/$1"; then fail "$1 has '$2'"; fi; }
expect 0 "psql \\dt" -- q -c '\dt'
contains out "^main|trades|table|qaxdb$"
lacks out "_history"
lacks out "qx_pg"
expect 0 "psql \\dv" -- q -c '\dv'
contains out "^main|orders_history|view|qaxdb$"
expect 0 "psql \\d trades" -- q -c '\d trades'
contains out "^price|numeric(18,4)|"
contains out "^volume|bigint|"
contains out "^ts|timestamp without time zone|"
expect 0 "psql \\d+ orders" -- q -c '\d+ orders'
contains out "^order_id|numeric|"
expect 0 "psql \\d of a view" -- q -c '\d klines_1m'
expect 0 "psql \\l" -- q -c '\l'
contains out "^qaxdb|qaxdb|UTF8|"
expect 0 "psql \\dn" -- q -c '\dn'
lacks out "qx_pg"
# Grafana's PostgreSQL data source: its table list (a function in FROM whose alias names its
# column, a scalar function in FROM, the search path) and its column list.
expect 0 "grafana tables" -- q -c "SELECT CASE WHEN quote_ident(table_schema) IN (SELECT CASE
  WHEN trim(s[i]) = '\"\$user\"' THEN user ELSE trim(s[i]) END FROM generate_series(
  array_lower(string_to_array(current_setting('search_path'), ','), 1),
  array_upper(string_to_array(current_setting('search_path'), ','), 1)) AS i,
  string_to_array(current_setting('search_path'), ',') s) THEN quote_ident(table_name)
  ELSE quote_ident(table_schema) || '.' || quote_ident(table_name) END AS \"table\"
  FROM information_schema.tables WHERE quote_ident(table_schema) NOT IN
  ('information_schema', 'pg_catalog') ORDER BY 1"
contains out "^trades$"
lacks out "qx_pg"
expect 0 "grafana columns" -- q -c "SELECT quote_ident(column_name), data_type FROM
  information_schema.columns WHERE quote_ident(table_name) = 'trades'"
contains out "^ts|timestamp without time zone$"
contains out "^price|numeric$"
expect 0 "base tables" -- q -c "SELECT table_name FROM information_schema.tables WHERE
  table_type = 'BASE TABLE' ORDER BY 1"
contains out "^trades$"
lacks out "_history"
expect 0 "server version" -- q -c "SELECT current_setting('server_version_num')::int >= 150000"
contains out "^t$"

# Concurrent clients, each with its own answer.
for i in 1 2 3 4 5 6; do q -c "SELECT $i * 1000 + count(*) FROM trades" >"$TMP/c$i" 2>&1 & done
wait_ok=0
for i in 1 2 3 4 5 6; do wait -n && wait_ok=$((wait_ok + 1)); done
[ "$wait_ok" -eq 6 ] || fail "$((6 - wait_ok)) of 6 concurrent clients failed"
for i in 1 2 3 4 5 6; do
  [ "$(cat "$TMP/c$i")" = "$((i * 1000 + trades))" ] || fail "client $i: $(cat "$TMP/c$i")"
done

# Two SQL engines: a long statement on one connection does not hold up others, which run on
# the other engine while it goes on; psql's Ctrl-C then cancels it.
timeout -s INT 60 psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U u -v VERBOSITY=verbose -c \
  "SELECT count(*) FROM range(100000000000) a" >"$TMP/long.out" 2>"$TMP/long.err" &
long=$!
for i in $(seq 20); do
  q -c "SELECT $i * 2 AS n, count(*) FROM trades" >"$TMP/short" 2>&1 || fail "short statement $i: $(cat "$TMP/short")"
done
kill -0 "$long" 2>/dev/null || fail "the long statement ended early: $(cat "$TMP/long.err")"
kill -INT "$long"
wait "$long"
grep -q "57014" "$TMP/long.err" || fail "the long statement was not cancelled: $(cat "$TMP/long.err")"

# INSERT: rows through the record parser of `qaxdb load`, all or nothing, durable when acknowledged.
expect 0 "insert" -- q -c "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) VALUES ('zz2612', 'SHFE', 0.5, 10, TIMESTAMP '2026-11-30 09:00:00'), ('yy2612', 'DCE', '1', 5, '2026-11-30T09:00:00Z')"
expect 0 "read back" -- q -c "SELECT instrument_id, price_tick, multiplier, ts FROM instruments WHERE instrument_id IN ('zz2612', 'yy2612') ORDER BY 1"
[ "$(tr '\n' ' ' <"$TMP/out")" = "yy2612|1.0000|5|2026-11-30 09:00:00 zz2612|0.5000|10|2026-11-30 09:00:00 " ] ||
  fail "read back: $(cat "$TMP/out")"
expect 1 "a bad row" -- q -v VERBOSITY=verbose -c "INSERT INTO instruments (instrument_id, price_tick) VALUES ('ok2612', 1), ('bad2612', 'abc')"
contains err "22P02"
contains err "row 2: column price_tick"
expect 0 "nothing of it" -- q -c "SELECT count(*) FROM instruments WHERE instrument_id IN ('ok2612', 'bad2612')"
contains out "^0$"
expect 1 "unknown column" -- q -v VERBOSITY=verbose -c "INSERT INTO instruments (instrument_id, nope) VALUES ('a', 1)"
contains err "42703"
expect 1 "unknown table" -- q -v VERBOSITY=verbose -c "INSERT INTO nosuch VALUES (1)"
contains err "42P01"
expect 1 "insert select" -- q -v VERBOSITY=verbose -c "INSERT INTO instruments (instrument_id) SELECT 'a'"
contains err "42601"

# Session settings: the durability writes are acknowledged at, and what drivers set.
expect 0 "settings" -- q -c "SHOW qaxdb.durability" -c "SET qaxdb.durability = 'none'" \
  -c "SHOW qaxdb.durability" -c "INSERT INTO instruments (instrument_id) VALUES ('nd01')" \
  -c "RESET qaxdb.durability" -c "SHOW qaxdb.durability" -c "SET TIME ZONE 'UTC'" \
  -c "SET client_encoding TO 'UTF8'" -c "INSERT INTO instruments (instrument_id) VALUES ('nd02')" \
  -c "SELECT count(*) FROM instruments WHERE instrument_id IN ('nd01', 'nd02')"
# (SQL sees what is durable: the `none` row once the `group` one after it is synced.)
[ "$(tr '\n' ' ' <"$TMP/out")" = "group none group 2 " ] || fail "settings: $(tr '\n' ' ' <"$TMP/out")"
expect 1 "a bad durability" -- q -v VERBOSITY=verbose -c "SET qaxdb.durability = 'fast'"
contains err "22023"
expect 1 "an unknown setting" -- q -v VERBOSITY=verbose -c "SET work_mem = '1GB'"
contains err "42704"
expect 1 "another time zone" -- q -v VERBOSITY=verbose -c "SET TIME ZONE 'Asia/Shanghai'"
contains err "times are in UTC"

# COPY FROM STDIN: psql's \copy of a CSV file with a header naming the columns, and rows on
# stdin for a column list; a bad line stops the whole statement.
printf 'instrument_id,exchange,multiplier\ncp01,SHFE,3\ncp02,"D,CE",4\n' >"$TMP/cp.csv"
expect 0 "\\copy with a header" -- q -c "\\copy instruments FROM '$TMP/cp.csv' WITH (FORMAT csv, HEADER)"
printf 'cp03,INE\ncp04,CZCE\n' >"$TMP/cp.rows"
expect 0 "COPY with columns" -- q -c "COPY instruments (instrument_id, exchange) FROM STDIN WITH CSV" <"$TMP/cp.rows"
expect 0 "copied rows" -- q -c "SELECT instrument_id, exchange, multiplier FROM instruments WHERE instrument_id LIKE 'cp0%' ORDER BY 1"
[ "$(tr '\n' ' ' <"$TMP/out")" = "cp01|SHFE|3 cp02|D,CE|4 cp03|INE|0 cp04|CZCE|0 " ] || fail "copied: $(cat "$TMP/out")"
printf 'cp05,1\ncp06,x\n' >"$TMP/cp.bad"
expect 1 "COPY, a bad line" -- q -v VERBOSITY=verbose -c "COPY instruments (instrument_id, price_tick) FROM STDIN CSV" <"$TMP/cp.bad"
contains err "22P02"
contains err "line 2: column price_tick"
expect 0 "nothing of the bad COPY" -- q -c "SELECT count(*) FROM instruments WHERE instrument_id IN ('cp05', 'cp06')"
contains out "^0$"
expect 1 "COPY in text format" -- q -v VERBOSITY=verbose -c "COPY instruments FROM STDIN" </dev/null
contains err "CSV only"
expect 1 "COPY with a long delimiter" -- q -v VERBOSITY=verbose -c "COPY instruments FROM STDIN WITH (FORMAT csv, DELIMITER '$(printf 'x%.0s' $(seq 300))')" </dev/null
contains err "DELIMITER ',' only"

# psycopg2 (Debian's module, in Debian's python): column types, parameters, implicit BEGIN.
expect 0 "psycopg2" -- timeout 120 /usr/bin/python3 "$(dirname "$0")/server_psycopg2.py" "$PORT" "$trades"

# libpq's extended protocol: parameters, a prepared statement described and run, INSERT.
expect 0 "libpq" -- timeout 120 "$LIBPQ_CLIENT" "$PORT" "$trades"

# HTTP: /health, and /metrics as promtool checks it, with the statements just run counted (12
# rows written: 4 inserted and 4 copied by psql, 1 and 2 by psycopg2, 1 inserted by libpq).
command -v promtool >/dev/null || fail "promtool is missing (scripts/bootstrap.sh installs prometheus)"
expect 0 "health" -- curl -sf "http://127.0.0.1:$HTTP/health"
contains out "^ok$"
expect 0 "metrics" -- curl -sf "http://127.0.0.1:$HTTP/metrics"
cp "$TMP/out" "$TMP/metrics"
expect 0 "promtool check metrics" -- promtool check metrics <"$TMP/metrics"
grep -q '^qaxdb_durable_lsn [1-9]' "$TMP/metrics" || fail "no durable LSN in /metrics"
grep -q '^qaxdb_sql_engines 2$' "$TMP/metrics" || fail "SQL engines: $(grep sql_engines "$TMP/metrics")"
grep -q '^qaxdb_inserted_rows_total 12$' "$TMP/metrics" || fail "inserted rows: $(grep inserted "$TMP/metrics")"
grep -q '^qaxdb_query_duration_seconds_count [1-9]' "$TMP/metrics" || fail "no queries counted"
grep -q '^qaxdb_query_failures_total [1-9]' "$TMP/metrics" || fail "no failed query counted"
grep -q '^qaxdb_level_bytes{level="0"}' "$TMP/metrics" || fail "no level sizes"
expect 22 "not found" -- curl -sf "http://127.0.0.1:$HTTP/nope"

# A query cancelled by psql's Ctrl-C (a CancelRequest on a second connection).
timeout 60 psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U u -v VERBOSITY=verbose -c \
  "SELECT count(*) FROM range(100000000000) a" >"$TMP/cancel.out" 2>"$TMP/cancel.err" &
canceller=$!
sleep 2
kill -INT "$canceller"
wait "$canceller"
[ $? -ne 0 ] || fail "the cancelled query finished"
grep -q "57014" "$TMP/cancel.err" || fail "cancel: $(cat "$TMP/cancel.err")"
expect 0 "after a cancel" -- q -c "SELECT 7"
contains out "^7$"

# SIGTERM: a clean stop, exit 0, and the folder opens again.
stop_server
contains server.err "stopped cleanly"
[ ! -f "$D/SERVER" ] || fail "the SERVER file outlived the server"
expect 0 "reopen after the server" -- "$QAXDB" sql --data "$D" --csv "SELECT count(*) FROM trades"
expect 0 "the inserted row, from the folder" -- "$QAXDB" get --data "$D" instruments zz2612
contains out "SHFE"

# Settings from a config file; SIGHUP reads it again and a lowered statement timeout applies
# at once. A statement past it is cancelled; the session goes on.
printf '# qaxdbd settings\nstatement_timeout = 600000\n[qaxdbd]\nquery-memory = 512\n' >"$TMP/q.ini"
start_server --config "$TMP/q.ini" || { cli_finish server_test; exit 1; }
contains_in "$TMP/server.err" 'level=info msg="listening" address=127.0.0.1'
printf 'statement_timeout = 500\nquery_memory = 512\n' >"$TMP/q.ini"
kill -HUP "$server"
for _ in $(seq 300); do grep -q 'msg="reloaded"' "$TMP/server.err" && break; sleep 0.1; done
contains_in "$TMP/server.err" 'msg="reloaded" log_level=info statement_timeout_ms=500'
expect 1 "statement timeout" -- q -v VERBOSITY=verbose -c "SELECT count(*) FROM range(100000000000) a"
contains err "57014"
contains err "statement timeout (500 ms)"
expect 0 "after a timeout" -- q -c "SELECT 8"
contains out "^8$"
stop_server

# --simulate: the venue simulator writes while the server serves; trades keep coming, and
# SIGTERM stops both cleanly.
# Polls the trades until there are more than $1 (bounded); prints how many.
trades_above() {
  local n=0
  for _ in $(seq 100); do
    n=$(q -c "SELECT count(*) FROM trades" 2>/dev/null || echo 0)
    [ "$n" -gt "$1" ] && break
    sleep 0.2
  done
  echo "$n"
}
S=$TMP/live
SERVED=$S start_server --simulate-rate 2000 || { cli_finish server_test; exit 1; }
contains server.out "simulating the venue, 2000 events/s"
first=$(trades_above 0)
[ "$first" -gt 0 ] || fail "no trades from the simulator"
later=$(trades_above "$first")
[ "$later" -gt "$first" ] || fail "trades stopped coming: $first, then $later"
stop_server
contains server.err 'msg="the simulator stopped" events=[1-9]'
expect 0 "the live folder afterwards" -- "$QAXDB" sql --data "$S" --csv "SELECT count(*) FROM trades"
[ "$(tail -1 "$TMP/out")" -ge "$later" ] || fail "trades after the stop: $(tail -1 "$TMP/out") < $later"

# A users file made with --add-user (the password on stdin): it holds verifiers, not passwords.
U=$TMP/users
expect 0 "add a user" -- "$QAXDBD" --add-user alice --users "$U" <<<"pencil 1"
contains out "added user alice to $U"
expect 0 "add another" -- "$QAXDBD" --add-user bob --users "$U" <<<"first"
expect 0 "change a password" -- "$QAXDBD" --add-user bob --users "$U" <<<"bob's secret"
contains out "changed the password of user bob"
# shellcheck disable=SC2016 # a literal $ in the pattern
[ "$(grep -c '^[a-z]* SCRAM-SHA-256\$4096:[^ ]*\$[^ ]*:[^ ]*$' "$U")" = 2 ] || fail "users file: $(cat "$U")"
grep -q -e pencil -e secret "$U" && fail "the users file holds a password"
expect 2 "no password" -- "$QAXDBD" --add-user carol --users "$U" </dev/null
expect 2 "--add-user without --users" -- "$QAXDBD" --add-user carol <<<"x"
# shellcheck disable=SC2016 # a literal $ in the verifier
printf '# users\nalice SCRAM-SHA-256$4096:c2FsdA==$short:short\n' >"$TMP/bad-users"
expect 1 "a bad users file" -- timeout 60 "$QAXDBD" --data "$D" --pg-port 0 --users "$TMP/bad-users"
contains err "$TMP/bad-users:2: user alice: the StoredKey is not 32 bytes"

# With the users file every connection logs in: the right password works, a wrong one and an
# unknown user get the same 28P01 message. A self-signed certificate offers TLS: psql's
# sslmode=require gets it, and psycopg2 and libpq run their tests over it with a password.
command -v openssl >/dev/null || fail "openssl is missing (scripts/bootstrap.sh installs it)"
expect 0 "a self-signed certificate" -- openssl req -x509 -newkey ec -pkeyopt \
  ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
  -subj /CN=localhost
start_server --users "$U" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" ||
  { cli_finish server_test; exit 1; }
contains server.out "users of $U; TLS offered"
# pq PASSWORD CONNINFO ARGS...: psql with a connection string, never prompting for a password.
pq() { PGPASSWORD=$1 timeout 60 psql -X -q -A -t -w -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$PORT dbname=qaxdb $2" "${@:3}"; }
expect 0 "the right password" -- pq "pencil 1" "user=alice" -c "SELECT count(*) FROM trades"
[ "$(cat "$TMP/out")" = "$trades" ] || fail "with a password: $(cat "$TMP/out") trades"
expect 2 "a wrong password" -- pq "pencil" "user=alice" -c "SELECT 1"
contains err 'FATAL:  password authentication failed for user "alice"'
expect 2 "an unknown user" -- pq "pencil 1" "user=mallory" -c "SELECT 1"
contains err 'FATAL:  password authentication failed for user "mallory"'
expect 2 "no password" -- pq "" "user=alice" -c "SELECT 1"
contains err "no password supplied"
expect 0 "sslmode=require" -- pq "bob's secret" "user=bob sslmode=require" -c "SELECT 'tls'" -c "\\conninfo"
contains out "^tls$"
contains out "SSL connection (protocol: TLSv1"
expect 0 "the certificate verified" -- pq "bob's secret" "user=bob sslmode=verify-full sslrootcert=$TMP/cert.pem host=localhost" -c "SELECT 1"
expect 0 "in the clear" -- pq "pencil 1" "user=alice sslmode=disable" -c "SELECT 2"
contains out "^2$"
# A user added while the server runs logs in once SIGHUP has read the users file again.
expect 0 "add a user while serving" -- "$QAXDBD" --add-user carol --users "$U" <<<"carol's"
expect 2 "the new user before the reload" -- pq "carol's" "user=carol" -c "SELECT 1"
kill -HUP "$server"
for _ in $(seq 300); do grep -q 'msg="reloaded"' "$TMP/server.err" && break; sleep 0.1; done
expect 0 "the new user after SIGHUP" -- pq "carol's" "user=carol" -c "SELECT 4"
contains out "^4$"
# The qaxdb CLI finds the served folder locked and logs in as PostgreSQL clients do.
expect 0 "qaxdb sql with a password" -- env PGUSER=alice PGPASSWORD="pencil 1" "$QAXDB" sql --data "$D" --csv "SELECT count(*) AS n FROM trades"
[ "$(tail -1 "$TMP/out")" = "$trades" ] || fail "qaxdb sql with a password: $(cat "$TMP/out")"
expect 1 "qaxdb get with a wrong password" -- env PGUSER=alice PGPASSWORD=nope "$QAXDB" get --data "$D" trades 1
contains err 'password authentication failed for user "alice"'
expect 0 "SCRAM on the wire" -- timeout 120 /usr/bin/python3 "$(dirname "$0")/server_scram.py" "$PORT" alice "pencil 1"
expect 0 "psycopg2 with a password over TLS" -- timeout 120 /usr/bin/python3 \
  "$(dirname "$0")/server_psycopg2.py" "$PORT" "$trades" "user=alice password='pencil 1' sslmode=require"
expect 0 "libpq with a password over TLS" -- timeout 120 "$LIBPQ_CLIENT" "$PORT" "$trades" \
  "user=bob password='bob\\'s secret' sslmode=require"
stop_server

# Without a certificate, sslmode=require finds no TLS; a users file lets qaxdbd listen on any
# address (0.0.0.0 here: every interface, loopback included).
start_server --users "$U" --listen 0.0.0.0 || { cli_finish server_test; exit 1; }
expect 2 "sslmode=require without TLS" -- pq "pencil 1" "user=alice sslmode=require" -c "SELECT 1"
contains err "server does not support SSL"
expect 0 "listening on 0.0.0.0" -- pq "pencil 1" "user=alice" -c "SELECT 3"
contains out "^3$"
stop_server

# Bad arguments, bad config files, and a listen address that would need authentication.
expect 2 "bad port" -- "$QAXDBD" --data "$D" --pg-port 70000
printf 'pg_port = 0\nno_such_setting = 1\n' >"$TMP/bad.ini"
expect 2 "bad config setting" -- "$QAXDBD" --config "$TMP/bad.ini"
contains err "bad.ini:2: bad setting no_such_setting = 1"
expect 2 "missing config file" -- "$QAXDBD" --config "$TMP/none.ini"
contains err "none.ini: No such file"
expect 2 "bad timeout" -- "$QAXDBD" --data "$D" --statement-timeout -5
expect 1 "not loopback" -- timeout 60 "$QAXDBD" --data "$D" --pg-port 0 --listen 0.0.0.0
contains err "listen address 0.0.0.0 is not a loopback address: listening on others needs a users file"
expect 2 "a certificate without its key" -- "$QAXDBD" --data "$D" --tls-cert "$TMP/cert.pem"
expect 1 "a key that is not one" -- timeout 60 "$QAXDBD" --data "$D" --pg-port 0 --tls-cert "$TMP/cert.pem" --tls-key "$TMP/cert.pem"
contains err "TLS key $TMP/cert.pem"

cli_finish server_test
