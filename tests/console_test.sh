#!/usr/bin/env bash
# The web console in headless Chromium (tests/console_test.cjs) against a simulating qaxdbd.
# Skipped (exit 0, saying so) only when /usr/bin/chromium is absent.
# Usage: console_test.sh PATH/TO/qaxdbd SOURCE_DIR
set -uo pipefail
QAXDBD=$1
SRC=$2
if [ ! -x /usr/bin/chromium ]; then
  echo "console_test: /usr/bin/chromium is missing (scripts/bootstrap.sh installs it): skipped" >&2
  exit 0
fi
NODE_MODULES=$SRC/third_party/node/node_modules
[ -d "$NODE_MODULES/puppeteer-core" ] || { echo "console_test: $NODE_MODULES lacks puppeteer-core: run scripts/bootstrap.sh" >&2; exit 1; }
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
NODE_PATH=$NODE_MODULES timeout 600 node "$(dirname "$0")/console_test.cjs" "$QAXDBD" "$TMP" ||
  fail "console_test.cjs (qaxdbd logs and a screenshot: QAXDB_TEST_KEEP=1 keeps $TMP)"
cli_finish console_test
