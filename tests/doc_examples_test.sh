#!/usr/bin/env bash
# Every example in the user docs runs as written: README.md, docs/sql.md, docs/operations.md,
# docs/simulate.md and docs/csv.md, against a seeded simulated folder. Usage:
#   doc_examples_test.sh PATH/TO/qaxdb REPO_ROOT
#
# The folder is `qaxdb simulate --events 20000` (seed 1, the defaults otherwise): the first
# 20000 events of the default run, so a key an example names exists in the default folder too.
# Commands run in a scratch directory where that folder is ./qaxdb-data (the default --data),
# `qaxdb` is on PATH and build/bin/qaxdb is the binary, with no input on stdin.
#
# What is an example:
#   - A fenced ```sql block: each statement (up to a ';' that ends a line) runs as
#     `qaxdb sql --csv "<statement>"`; it must succeed and return at least one row, so a key
#     the simulator never writes is a failure.
#   - A line of a fenced ```sh block whose first word is `qaxdb` or `build/bin/qaxdb`, and an
#     inline `qaxdb ...` span in prose with arguments (a bare `qaxdb simulate` names the
#     command): it must exit 0.
#   - A synopsis is not run: a command with [optional] parts, a|b alternatives, "..." or a
#     placeholder in capitals (TABLE, FILE.csv, DIR, N) outside its quotes.
# Markers, an HTML comment on the line before a fenced block:
#   <!-- doc-test: skip (why) -->   the block is not run (building, the 3-million-event run).
#   <!-- doc-test: output of `COMMAND` (exit N) -->   the block is what COMMAND prints (stdout
#       and stderr): COMMAND runs (exit N, default 0) and its output must match the block in
#       shape: line by line, numbers standing for any number, runs of spaces for any spaces, a
#       line "..." for any lines, and lines before and after the block's are allowed.
#       trades.csv in the scratch directory holds 2500 good trades and a bad price on line 2502.
# The default run itself (3,000,000 events) is measured, not run: the time and size that
# `qaxdb simulate --help` gives for it must appear in README.md and docs/simulate.md too.
set -uo pipefail
QAXDB=$(realpath "$1")
ROOT=$(realpath "$2")
DOCS="README.md docs/sql.md docs/operations.md docs/simulate.md docs/csv.md"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qaxdb-docs-XXXXXX")
QAXDB_SHM_DIR=$(mktemp -d /dev/shm/qaxdb-docs-XXXXXX) # rings of killed writers go with it
export QAXDB_SHM_DIR
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP" "$QAXDB_SHM_DIR"' EXIT
failures=0
ran=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# ---- extracting the examples: $EX/NNNN.{kind,where,text[,cmd,exit]} ----
EX=$TMP/examples
mkdir -p "$EX"
extract() { # FILE: the examples of one document, numbered from the count already there
  awk -v file="$1" -v ex="$EX" -v first="$(find "$EX" -name '*.kind' | wc -l)" '
    function put(kind, where, text, cmd, code, base) {
      base = sprintf("%s/%04d", ex, first + (n++))
      printf "%s\n", kind > (base ".kind"); close(base ".kind")
      printf "%s\n", where > (base ".where"); close(base ".where")
      printf "%s", text > (base ".text"); close(base ".text")
      if (kind == "out") {
        printf "%s\n", cmd > (base ".cmd"); close(base ".cmd")
        printf "%s\n", code > (base ".exit"); close(base ".exit")
      }
    }
    # A command line is a synopsis if, outside its quotes, it has [ ] | ... or a placeholder.
    function synopsis(line, bare, i, w, k) {
      bare = line
      gsub(/"[^"]*"/, "", bare)
      gsub(/\047[^\047]*\047/, "", bare)
      if (bare ~ /[][|]/ || index(bare, "...")) return 1
      k = split(bare, w, " ")
      for (i = 2; i <= k; i++) if (w[i] ~ /^[A-Z][A-Z0-9_]*(\.[a-z]+)?$/) return 1
      return 0
    }
    function command(line, where, inline, w, k) {
      sub(/^[ \t]+/, "", line)
      if (line !~ /^(build\/bin\/)?qaxdb( |$)/ || synopsis(line)) return
      k = split(line, w, " ")
      if (inline && k == 2 && w[2] !~ /^-/) return
      put("cmd", where, line "\n")
    }
    function sql_block(text, start, lines, k, i, stmt, at, line) {
      k = split(text, lines, "\n")
      stmt = ""
      for (i = 1; i <= k; i++) {
        line = lines[i]
        if (stmt == "" && (line ~ /^[ \t]*--/ || line ~ /^[ \t]*$/)) continue
        if (stmt == "") at = start + i
        stmt = stmt line "\n"
        if (line ~ /;[ \t]*(--.*)?$/) { put("sql", file ":" at, stmt); stmt = "" }
      }
      if (stmt != "") put("sql", file ":" at, stmt)
    }
    /^```/ && !fenced {
      fenced = 1; lang = substr($0, 4); start = FNR; body = ""
      skip = pending_skip; out_cmd = pending_cmd; out_exit = pending_exit
      pending_skip = 0; pending_cmd = ""
      next
    }
    /^```/ && fenced {
      fenced = 0
      if (skip) next
      if (out_cmd != "") put("out", file ":" start, body, out_cmd, out_exit)
      else if (lang == "sql") sql_block(body, start)
      else if (lang == "sh") {
        k = split(body, lines, "\n")
        for (i = 1; i <= k; i++) command(lines[i], file ":" (start + i), 0)
      }
      next
    }
    fenced { body = body $0 "\n"; next }
    /<!-- doc-test: skip/ { pending_skip = 1; next }
    /<!-- doc-test: output of `/ {
      rest = substr($0, index($0, "`") + 1)
      pending_cmd = substr(rest, 1, index(rest, "`") - 1)
      pending_exit = 0
      if (match(rest, /\(exit [0-9]+\)/)) pending_exit = substr(rest, RSTART + 6, RLENGTH - 7)
      next
    }
    {
      rest = $0
      while (match(rest, /`(build\/bin\/)?qaxdb [^`]*`/)) {
        command(substr(rest, RSTART + 1, RLENGTH - 2), file ":" FNR, 1)
        rest = substr(rest, RSTART + RLENGTH)
      }
    }
    END { if (fenced) print file ": a fenced block is never closed" > "/dev/stderr" }
  ' "$ROOT/$1"
}
for doc in $DOCS; do extract "$doc"; done

# ---- the scratch directory and the seeded folder ----
W=$TMP/work
mkdir -p "$W/bin" "$W/build/bin"
ln -s "$QAXDB" "$W/bin/qaxdb"
ln -s "$QAXDB" "$W/build/bin/qaxdb"
export PATH="$W/bin:$PATH"
cd "$W" || exit 1
if ! qaxdb simulate --events 20000 >"$TMP/seed.out" 2>&1; then
  echo "FAIL: seeding the folder: $(tail -3 "$TMP/seed.out")" >&2
  exit 1
fi
{
  echo "trade_id,instrument_id,price,volume"
  for i in $(seq 1 2500); do echo "$((900000000 + i)),rb2501,3850.$((i % 10)),1"; done
  echo "900002501,rb2501,1.23456,1"
} >trades.csv

# ---- matching output in shape ----
# Each line of the block becomes an extended regular expression.
shape_regex() {
  sed -e 's/[][\.*^$?+(){}|/\\]/\\&/g' \
    -e 's/[0-9][0-9]*\(\\\.[0-9][0-9]*\)\{0,1\}/[0-9]+(\\.[0-9]+)?/g' \
    -e 's/  */ +/g' -e 's/^/^/' -e 's/$/$/'
}
# shape_matches BLOCK OUTPUT: the block's lines appear in OUTPUT in order, consecutive unless a
# "..." line separates them.
shape_matches() {
  awk -v blockfile="$1" '
    BEGIN {
      segments = 1
      while ((getline line < blockfile) > 0) {
        if (line == "^\\.\\.\\.$") { segments++; continue } # a "..." line
        re[segments, ++len[segments]] = line
      }
    }
    { out[m++] = $0 }
    # Each segment (lines between "..." lines) matches consecutive lines, after the previous.
    END {
      from = 0
      for (s = 1; s <= segments; s++) {
        found = 0
        for (j = from; !found && j + len[s] <= m; j++) {
          ok = 1
          for (i = 1; ok && i <= len[s]; i++) ok = out[j + i - 1] ~ re[s, i]
          if (ok) { found = 1; from = j + len[s] }
        }
        if (!found) exit 1
      }
      exit 0
    }
  ' "$2"
}

# ---- running them ----
for kind_file in "$EX"/*.kind; do
  base=${kind_file%.kind}
  kind=$(cat "$kind_file")
  where=$(cat "$base.where")
  ran=$((ran + 1))
  case $kind in
  sql)
    if ! qaxdb sql --csv "$(cat "$base.text")" </dev/null >"$TMP/out" 2>"$TMP/err"; then
      fail "$where: $(head -1 "$base.text"): $(head -3 "$TMP/err")"
    elif [ "$(wc -l <"$TMP/out")" -lt 2 ]; then
      fail "$where: $(head -1 "$base.text"): no rows on the seeded folder"
    fi
    ;;
  cmd)
    if ! bash -c "$(cat "$base.text")" </dev/null >"$TMP/out" 2>"$TMP/err"; then
      fail "$where: $(cat "$base.text"): $(head -3 "$TMP/err")"
    fi
    ;;
  out)
    bash -c "$(cat "$base.cmd")" </dev/null >"$TMP/out" 2>&1
    code=$?
    [ "$code" -eq "$(cat "$base.exit")" ] ||
      fail "$where: $(cat "$base.cmd") exited $code, not $(cat "$base.exit"): $(tail -3 "$TMP/out")"
    shape_regex <"$base.text" >"$TMP/regex"
    shape_matches "$TMP/regex" "$TMP/out" ||
      fail "$where: the output of $(cat "$base.cmd") does not have the documented shape:
$(cat "$TMP/out")"
    ;;
  esac
done

# The default run's figures agree in `simulate --help`, README.md and docs/simulate.md.
figures=$(qaxdb simulate --help | tr '\n' ' ' | grep -o '[0-9][0-9-]* s on 2 cores; [0-9]* MiB')
time_taken=${figures%% on 2 cores*}
size=${figures##*; }
if [ -z "$figures" ]; then
  fail "simulate --help gives no time and size of the default run"
else
  for doc in README.md docs/simulate.md; do
    tr '\n' ' ' <"$ROOT/$doc" | grep -q "$time_taken .*$size" ||
      fail "$doc does not give the default run's $time_taken and $size of simulate --help"
  done
fi

[ "$ran" -ge 25 ] || fail "only $ran examples found: is the extraction broken?"
if [ "$failures" -gt 0 ]; then
  echo "doc_examples_test: $failures failure(s) in $ran examples" >&2
  exit 1
fi
echo "doc_examples_test: all $ran examples ran as documented"
