#!/usr/bin/env bash
# End-to-end checks of the qaxdb command-line tool: help and usage errors, global options,
# simulate, check, wal-dump, load (good and bad CSV, and what sql --csv exports), the SQL shell
# (statements, dot-commands, Ctrl-C), get and scan in every format, detection of a damaged
# segment with file and offset, and the directory lock. Usage: cli_test.sh PATH/TO/qaxdb
set -uo pipefail
QAXDB=$1
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

expect 0 "help" -- "$QAXDB" --help
cp "$TMP/out" "$TMP/help"
for c in simulate load get scan stats compact sql wal-dump check schema version; do
  contains help "$c"
  expect 0 "$c --help" -- "$QAXDB" "$c" --help
  contains out "usage: qaxdb $c"
done
expect 2 "no command" -- "$QAXDB"
expect 2 "unknown command" -- "$QAXDB" frobnicate
contains err "unknown command"
expect 2 "bad flag" -- "$QAXDB" simulate --events many
expect 2 "bad durability" -- "$QAXDB" simulate --durability maybe
expect 1 "check without data" -- "$QAXDB" check --data "$TMP/none"
contains err "not a data folder"
expect 1 "wal-dump without data" -- "$QAXDB" wal-dump --data "$TMP/none"
expect 0 "version" -- "$QAXDB" version
contains out "DuckDB v1.4.4"
expect 0 "--version" -- "$QAXDB" --version
contains out "DuckDB v1.4.4"
expect 2 "unknown global option" -- "$QAXDB" --frobnicate version
contains err "unknown option '--frobnicate' before the command"
expect 2 "global option without a command" -- "$QAXDB" --data "$TMP/none"

D=$TMP/data
expect 0 "simulate" -- "$QAXDB" simulate --data "$D" --events 20000 --seed 3
contains out "events      20000"
contains out "last LSN"
expect 0 "check after simulate" -- "$QAXDB" check --data "$D"
contains out "all checksums valid"
expect 0 "wal-dump" -- "$QAXDB" wal-dump --data "$D" --from 2 --limit 2
[ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "wal-dump --limit 2 printed $(wc -l <"$TMP/out") lines"
contains out "lsn=2 "
contains out "table=instruments" # the reference data comes first
[ -s "$TMP/err" ] && fail "wal-dump from a kept LSN printed a note: $(cat "$TMP/err")"
expect 0 "wal-dump --limit 0" -- "$QAXDB" wal-dump --data "$D" --limit 0
[ -s "$TMP/out" ] && fail "wal-dump --limit 0 printed entries"
expect 0 "wal-dump past the end" -- "$QAXDB" wal-dump --data "$D" --from 999999999
contains err "no entries from LSN 999999999 on"

# SQL over what simulate wrote: the trade count equals the WAL's trades entries.
wal_trades=$("$QAXDB" wal-dump --data "$D" | grep -c "table=trades")
expect 0 "sql count" -- "$QAXDB" sql --data "$D" --csv "SELECT count(*) AS n FROM trades"
contains out "^$wal_trades\$"
expect 0 "sql json" -- "$QAXDB" sql --data "$D" --json "SELECT 1.5::DECIMAL(18,4) AS p, 'a' AS s, NULL AS z"
contains out '{"p":1.5000,"s":"a","z":null}'
expect 0 "sql table" -- "$QAXDB" sql --data "$D" "SELECT * FROM account_pnl() LIMIT 2"
contains out "(2 rows, at LSN"
# A record by key from the engine's index equals the same record filtered from Parquet.
expect 0 "sql by key" -- "$QAXDB" sql --data "$D" --csv "SELECT * FROM trades_by_key(1)"
contains out "^1,"
by_key=$(tail -1 "$TMP/out")
expect 0 "sql by filter" -- "$QAXDB" sql --data "$D" --csv "SELECT * FROM trades WHERE trade_id = 1"
[ "$(tail -1 "$TMP/out")" = "$by_key" ] || fail "trades_by_key(1) differs from the filtered scan"
expect 1 "sql error" -- "$QAXDB" sql --data "$D" "SELECT nosuch FROM trades"
contains err "nosuch"
expect 1 "sql refuses files" -- "$QAXDB" sql --data "$D" "SELECT * FROM read_csv('/etc/passwd')"
contains err "disabled by configuration"
printf 'SELECT count(*)\n  FROM orders;\n.quit\n' | "$QAXDB" sql --data "$D" >"$TMP/out" 2>"$TMP/err" ||
  fail "sql shell from a pipe failed: $(cat "$TMP/err")"
contains out "(1 row, at LSN"

# Every type prints as its value, in every format; JSON keeps numbers, lists and structs typed.
types="SELECT max(ts) - min(ts) AS span, now() AS t, [1, 2] AS l, {'a': 1, 'b': 'x,y'} AS s,
  'ab'::BLOB AS b, TIME '09:30:00.5' AS tm, 1.50::DECIMAL(38,2) AS d, true AS ok FROM trades"
for format in "" --csv --json; do
  expect 0 "sql types $format" -- "$QAXDB" sql --data "$D" $format "$types"
  grep -q "value of" "$TMP/out" && fail "sql $format printed a placeholder: $(cat "$TMP/out")"
  contains out "[1,2]"
  contains out "09:30:00.5"
done
contains out '"l":\[1,2\],"s":{"a":1,"b":"x,y"},"b":"ab","tm":"09:30:00.5","d":1.50,"ok":true}'
grep -Eq '"span":"[0-9:.]+","t":"[0-9-]+ [0-9:.]+\+00"' "$TMP/out" || fail "interval or now(): $(cat "$TMP/out")"
expect 0 "sql csv nested" -- "$QAXDB" sql --data "$D" --csv "SELECT {'a': 1, 'b': 'x,y'} AS s"
contains out '^"{""a"":1,""b"":""x,y""}"$'

# Several statements: each result is printed; statements are split by DuckDB's parser.
expect 0 "sql two statements" -- "$QAXDB" sql --data "$D" --csv "SELECT 1 AS a; SELECT ';' AS b"
[ "$(tr '\n' ' ' <"$TMP/out")" = "a 1 b ; " ] || fail "two statements printed: $(cat "$TMP/out")"
expect 1 "sql stops at a failing statement" -- "$QAXDB" sql --data "$D" --csv "SELECT 1 AS a; SELECT nosuch; SELECT 3 AS c"
contains out "^a$"
contains err "nosuch"
grep -q "^c$" "$TMP/out" && fail "a statement after a failing one ran"

# The shell from a pipe: a last statement without ';', dot-commands that swallow nothing, a
# failure that does not stop the rest but sets the exit status.
shell() { printf "$1" | "$QAXDB" sql --data "$D" >"$TMP/out" 2>"$TMP/err"; }
shell 'SELECT 41 + 1 AS answer\n' || fail "shell: a last statement without ';': $(cat "$TMP/err")"
contains out "^ *42$"
shell '.frobnicate\nSELECT 7 AS seven;\n' && fail "shell: an unknown dot-command exited 0"
contains err "unknown command '.frobnicate'"
contains out "^ *7$"
shell "SELECT nosuch;\nSELECT 'went on' AS s;\n" && fail "shell: a failed statement exited 0"
contains out "went on"
shell ".mode csv\nSELECT 1 AS x, 'a;b' AS y; SELECT 2 AS z;\nSELECT 'c;' AS q -- a comment;\n, 3 AS r;\nSELECT \$\$d;\$\$ AS dollar /* ; */\n;\n.mode json\nSELECT [1] AS l;\n.mode line\nSELECT 3 AS w;\n.timer on\nSELECT 4 AS v;\n.help\n.schema trades\n.tables\n.quit\nSELECT 'after quit';\n" ||
  fail "shell dot-commands: $(cat "$TMP/err")"
contains out '^x,y$'
contains out '^1,a;b$'
contains out '^z$'
contains out '^c;,3$'
contains out '^d;$'
contains out '^{"l":\[1\]}$'
contains out '^w = 3$'
contains out '^Run Time (s): real'
contains out '^\.schema \[TABLE\]'
contains out 'trade_id UBIGINT, instrument_id VARCHAR'
contains out 'name = orderbook_snapshots'
grep -q "after quit" "$TMP/out" && fail "shell: .quit did not leave"
shell '.schema nosuch\n.timer maybe\n.mode html\n' && fail "shell: bad dot-command arguments exited 0"
contains err "no table or view named 'nosuch'"
contains err "on or off"
contains err "unknown mode 'html'"

# Ctrl-C during a query cancels that query and the shell goes on with the next statement.
printf "SELECT 'ready' AS state;\nSELECT count(*) FROM range(10000000000000) t(x) WHERE x %% 7 = 3;\nSELECT 'after' AS state;\n" |
  "$QAXDB" sql --data "$D" >"$TMP/out" 2>"$TMP/err" &
shell_pid=$!
for _ in $(seq 300); do grep -q ready "$TMP/out" && break; sleep 0.1; done
for _ in $(seq 300); do
  grep -q "cancelled" "$TMP/err" && break
  kill -INT "$shell_pid" 2>/dev/null
  sleep 0.1
done
grep -q "cancelled" "$TMP/err" || kill -KILL "$shell_pid" 2>/dev/null
wait "$shell_pid"
[ $? -eq 1 ] || fail "shell after a cancelled query: exit status not 1"
contains err "query cancelled (Ctrl-C)"
contains out "after"

# The shell on a terminal (under script): Ctrl-C at the prompt abandons the line, Ctrl-C in a
# query cancels it, Ctrl-D leaves. Each key is sent once the terminal shows what came before.
mkfifo "$TMP/keys"
HOME=$TMP script -q -e -c "$QAXDB sql --data $D" /dev/null <"$TMP/keys" >"$TMP/tty" 2>&1 &
tty_pid=$!
exec 3>"$TMP/keys"
shown() { for _ in $(seq 300); do tr -d '\r' <"$TMP/tty" | grep -q -- "$1" && return 0; sleep 0.1; done; return 1; }
shown 'qaxdb> ' || fail "terminal shell: no prompt"
printf 'SELECT 12' >&3
shown 'SELECT 12' && printf '\003' >&3
shown '\^C' && printf 'SELECT 5 AS five;\r' >&3
shown '^ *5$' || fail "terminal shell: the line after Ctrl-C at the prompt did not run alone"
printf 'SELECT count(*) FROM range(10000000000000) t(x) WHERE x %% 7 = 3;\r' >&3
shown 'x % 7 = 3;$' # accepted: the query starts
for _ in $(seq 300); do
  tr -d '\r' <"$TMP/tty" | grep -q "query cancelled" && break
  printf '\003' >&3
  sleep 0.1
done
shown "query cancelled" || fail "terminal shell: Ctrl-C did not cancel the query"
printf '\004' >&3
exec 3>&-
wait "$tty_pid" || fail "terminal shell: exit status $? after Ctrl-D"
grep -q "syntax error" "$TMP/tty" && fail "terminal shell: an abandoned line was kept: $(cat "$TMP/tty")"

# What sql --csv exports loads back as it is: the derived lsn and date columns are skipped.
R=$TMP/reloaded
both="SELECT * EXCLUDE (lsn) FROM trades ORDER BY ALL; SELECT * EXCLUDE (lsn) FROM orders ORDER BY ALL"
for t in trades orders; do
  "$QAXDB" sql --data "$D" --csv "SELECT * FROM $t" >"$TMP/$t.csv"
  expect 0 "load $t exported by sql" -- "$QAXDB" load "$t" "$TMP/$t.csv" --data "$R"
  contains err "skipped the columns lsn, date"
done
"$QAXDB" sql --data "$D" --csv "$both" >"$TMP/exported"
"$QAXDB" sql --data "$R" --csv "$both" >"$TMP/reloaded.csv"
[ "$(wc -l <"$TMP/exported")" -gt 1000 ] || fail "too little exported: $(head -3 "$TMP/exported")"
cmp -s "$TMP/exported" "$TMP/reloaded.csv" || fail "trades or orders differ after sql --csv | load"

# Same seed, same records: a second data folder gets byte-identical payloads.
expect 0 "simulate again" -- "$QAXDB" simulate --data "$TMP/again" --events 20000 --seed 3
"$QAXDB" wal-dump --data "$D" | sed 's/ ts=[^ ]*//' >"$TMP/a"
"$QAXDB" wal-dump --data "$TMP/again" | sed 's/ ts=[^ ]*//' >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "the same seed gave different records"

L=$TMP/load
printf 'trade_id,instrument_id,price,volume,aggressor,ts\n1,rb2501,3850.25,10,buy,2026-11-24T09:30:00Z\n2,cu2502,71230,3,sell,1795512600000000001\n' >"$TMP/good.csv"
expect 0 "load good csv" -- "$QAXDB" load trades "$TMP/good.csv" --data "$L"
contains out "2 rows durably written to trades (LSN 1..2)"
printf 'trade_id,price\n3,1.5\n4,oops\n5,2\n' >"$TMP/bad.csv"
expect 1 "load bad csv" -- "$QAXDB" load trades "$TMP/bad.csv" --data "$L"
contains err "bad.csv:3: column price"
contains err "1 rows durably written to trades (LSN 3..3)"
expect 2 "load unknown table" -- "$QAXDB" load nosuch "$TMP/good.csv" --data "$L"
expect 2 "load without file" -- "$QAXDB" load trades --data "$L"
expect 0 "wal-dump loaded" -- "$QAXDB" wal-dump --data "$L"
contains out "price=3850.2500"
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "expected 3 loaded rows"

# The engine: latest state by key, ordered scans, compaction, table checksums.
E=$TMP/engine
cp -r "$D" "$E"
expect 0 "scan orders" -- "$QAXDB" scan orders --data "$E" --limit 3
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "scan --limit 3 printed $(wc -l <"$TMP/out") lines"
order_id=$(head -1 "$TMP/out" | sed 's/.* order_id=\([0-9]*\).*/\1/')
head -1 "$TMP/out" >"$TMP/first_order"
expect 0 "get order" -- "$QAXDB" get orders "$order_id" --data "$E"
cmp -s "$TMP/out" "$TMP/first_order" || fail "get and scan disagree on order $order_id"
expect 1 "get missing order" -- "$QAXDB" get orders 999999999999 --data "$E"
contains err "no orders record with key (999999999999)"
expect 1 "get missing position" -- "$QAXDB" get positions acct000001 nosuch --data "$E"
contains err "no positions record with key (acct000001, nosuch)"
# A global --data before the command, as well as after it.
expect 0 "get with --data first" -- "$QAXDB" --data "$E" get orders "$order_id"
cmp -s "$TMP/out" "$TMP/first_order" || fail "--data before get changed the answer"
expect 0 "get with --data= first" -- "$QAXDB" --data="$E" get orders "$order_id" --data "$E"
cmp -s "$TMP/out" "$TMP/first_order" || fail "--data= before get changed the answer"
# get and scan in sql's formats: the same columns and text as SELECT * FROM orders.
expect 0 "get --csv" -- "$QAXDB" get orders "$order_id" --data "$E" --csv
cp "$TMP/out" "$TMP/get.csv"
expect 0 "sql by key --csv" -- "$QAXDB" sql --data "$E" --csv "SELECT * FROM orders_by_key($order_id)"
cmp -s "$TMP/out" "$TMP/get.csv" || fail "get --csv differs from sql --csv: $(cat "$TMP/get.csv")"
expect 0 "get --json" -- "$QAXDB" get orders "$order_id" --data "$E" --json
cp "$TMP/out" "$TMP/get.json"
expect 0 "sql by key --json" -- "$QAXDB" sql --data "$E" --json "SELECT * FROM orders_by_key($order_id)"
cmp -s "$TMP/out" "$TMP/get.json" || fail "get --json differs from sql --json: $(cat "$TMP/get.json")"
contains out "\"order_id\":$order_id,"
expect 0 "scan --csv" -- "$QAXDB" scan orders --data "$E" --limit 2 --csv
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "scan --csv --limit 2 printed $(wc -l <"$TMP/out") lines"
expect 0 "scan --json" -- "$QAXDB" scan orders --data "$E" --limit 1 --json
contains out '^{"order_id":'
# scan prints 100 records unless told otherwise, and says when more exist.
orders=$("$QAXDB" sql --data "$E" --csv "SELECT count(*) FROM orders" | tail -1)
expect 0 "scan by default" -- "$QAXDB" scan orders --data "$E"
[ "$(wc -l <"$TMP/out")" -eq 100 ] || fail "scan printed $(wc -l <"$TMP/out") lines by default"
contains err "100 orders records; more exist"
expect 0 "scan --all" -- "$QAXDB" scan orders --data "$E" --all
[ "$(wc -l <"$TMP/out")" -eq "$orders" ] || fail "scan --all printed $(wc -l <"$TMP/out") of $orders"
grep -q "more exist" "$TMP/err" && fail "scan --all says more exist"
expect 0 "scan --limit 0" -- "$QAXDB" scan orders --data "$E" --limit 0
[ -s "$TMP/out" ] && fail "scan --limit 0 printed records"
contains err "0 orders records; more exist"
expect 2 "scan --limit with --all" -- "$QAXDB" scan orders --data "$E" --limit 5 --all
expect 2 "get with a bad key" -- "$QAXDB" get orders abc --data "$E"
expect 2 "get with too few key values" -- "$QAXDB" get positions acct1 --data "$E"
expect 0 "scan positions of one account" -- "$QAXDB" scan positions --data "$E" --from acct000001 --to acct000002
grep -qv "account_id=acct000001 " "$TMP/out" && fail "scan --from/--to leaked other accounts"
expect 0 "compact" -- "$QAXDB" compact --data "$E"
contains out "L1"
expect 0 "get after compact" -- "$QAXDB" get orders "$order_id" --data "$E"
cmp -s "$TMP/out" "$TMP/first_order" || fail "order $order_id changed by compaction"
expect 0 "stats" -- "$QAXDB" stats --data "$E"
contains out "write amplification"
expect 0 "check tables" -- "$QAXDB" check --data "$E"
contains out "tables: MANIFEST valid"
sst=$(ls "$E"/sst/*.sst | head -1)
printf '\xff' | dd of="$sst" bs=1 seek=100 conv=notrunc status=none
expect 1 "check finds a damaged table file" -- "$QAXDB" check --data "$E"
contains err "$(basename "$sst")"
contains err "offset"

# Entries checkpointed into table files are trimmed from the log; wal-dump says so.
W=$TMP/trimmed
expect 0 "simulate two segments" -- "$QAXDB" simulate --data "$W" --events 150000 --durability none
expect 0 "compact" -- "$QAXDB" compact --data "$W"
expect 0 "wal-dump below the log" -- "$QAXDB" wal-dump --data "$W" --from 5 --limit 1
first=$(sed 's/^lsn=\([0-9]*\) .*/\1/' "$TMP/out")
[ "${first:-0}" -gt 5 ] || fail "expected the log to start after LSN 5, got '$first'"
contains err "the log starts at LSN $first: entries 5..$((first - 1)) were trimmed"
rm -rf "$W"

# Two writers on one data folder: the second is refused while the first holds the lock.
"$QAXDB" simulate --data "$TMP/locked" --events 1000000000 --durability none 2>"$TMP/first" >/dev/null &
first=$!
for _ in $(seq 100); do grep -q "from LSN" "$TMP/first" 2>/dev/null && break; sleep 0.1; done
expect 1 "second writer" -- "$QAXDB" simulate --data "$TMP/locked" --events 10
contains err "locked by another process"
kill "$first"
wait "$first" 2>/dev/null

# A flipped byte in the middle of the log: check and open name the file and offset.
seg=$(ls "$D"/wal/*.wal | head -1)
printf '\xff' | dd of="$seg" bs=1 seek=200000 conv=notrunc status=none
expect 1 "check finds damage" -- "$QAXDB" check --data "$D"
contains err "$(basename "$seg")"
contains err "at offset"
expect 1 "simulate refuses a damaged log" -- "$QAXDB" simulate --data "$D" --events 10
contains err "corruption detected"

# compact merges each table's Parquet files of a trading day into one: two runs on one folder
# leave at least two files per table and day (each run writes its own at close, and the
# simulated clock starts each run on the same day).
P=$TMP/parquet
expect 0 "simulate, first run" -- "$QAXDB" simulate --data "$P" --events 3000
expect 0 "simulate, second run" -- "$QAXDB" simulate --data "$P" --events 3000
[ "$(find "$P/olap/trades" -name 'part-*.parquet' | wc -l)" -ge 2 ] ||
  fail "two runs left $(find "$P/olap/trades" -name 'part-*.parquet' | wc -l) trades files"
expect 0 "compact merges Parquet" -- "$QAXDB" compact --data "$P"
for part in "$P"/olap/*/date=*; do
  n=$(find "$part" -name 'part-*.parquet' | wc -l)
  [ "$n" -eq 1 ] || fail "after compact, $part holds $n part files"
done
expect 0 "sql after compact" -- "$QAXDB" sql --data "$P" --csv "SELECT count(*) AS n FROM instruments"
contains out "^50\$"

cli_finish cli_test
