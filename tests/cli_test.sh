#!/usr/bin/env bash
# End-to-end checks of the qaxdb command-line tool: help and usage errors, simulate, check,
# wal-dump, load (good and bad CSV), detection of a damaged segment with file and offset,
# and the directory lock. Usage: cli_test.sh PATH/TO/qaxdb
set -uo pipefail
QAXDB=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qaxdb-cli-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, output in $TMP/out and $TMP/err
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  [ "$got" -eq "$code" ] || fail "$what: exit $got, expected $code; stderr: $(head -3 "$TMP/err")"
}
contains() { grep -q -- "$2" "$TMP/$1" || fail "$1 lacks '$2': $(head -3 "$TMP/$1")"; }

expect 0 "help" -- "$QAXDB" --help
cp "$TMP/out" "$TMP/help"
for c in simulate load get scan stats compact wal-dump check schema version; do
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
contains err "no orders record"
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

if [ "$failures" -gt 0 ]; then
  echo "cli_test: $failures failure(s)" >&2
  exit 1
fi
echo "cli_test: all checks passed"
