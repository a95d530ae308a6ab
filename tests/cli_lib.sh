# The harness the command-line tests share (sourced, not run): a temporary folder $TMP, and
# checks that count failures. The sourcing script sets QAXDB and calls cli_finish NAME last.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qaxdb-cli-XXXXXX")
# Log rings of the writers a test kills stay behind (docs/formats/ring.md): keep them in a
# folder of the test's own, removed with it.
QAXDB_SHM_DIR=$(mktemp -d /dev/shm/qaxdb-cli-XXXXXX)
export QAXDB_SHM_DIR
# QAXDB_TEST_KEEP=1 keeps the folder of a run to look into.
cli_cleanup() { [ -n "${QAXDB_TEST_KEEP:-}" ] || rm -rf "$TMP" "$QAXDB_SHM_DIR"; }
trap cli_cleanup EXIT
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

# Exits 1 if any check failed, 0 after saying all passed.
cli_finish() {
  if [ "$failures" -gt 0 ]; then
    echo "$1: $failures failure(s)" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}
