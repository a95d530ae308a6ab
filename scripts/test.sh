#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, a normal build and its tests, the same tests
# under AddressSanitizer + UndefinedBehaviorSanitizer, and the concurrent WAL tests under
# ThreadSanitizer. Long stress runs are excluded (run them with: ctest --test-dir build -L stress).
set -euo pipefail
cd "$(dirname "$0")/.."

run_suite() { # BUILD_DIR DESCRIPTION [CTEST_ARGS...]
  local dir=$1 what=$2
  shift 2
  echo "== $what"
  ctest --test-dir "$dir" --output-on-failure -j2 -LE stress "$@"
}

bash scripts/build.sh build
run_suite build "tests"

bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DQAXDB_SANITIZE=address,undefined
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_suite build-asan "tests under AddressSanitizer + UndefinedBehaviorSanitizer"

bash scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQAXDB_SANITIZE=thread
TSAN_OPTIONS=halt_on_error=1 run_suite build-tsan "concurrent tests under ThreadSanitizer" \
  -L concurrent

echo "== all test suites passed"
