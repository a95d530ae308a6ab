#!/usr/bin/env bash
# qaxdbd's /ws from a Node program (tests/ws_client_test.cjs, the `ws` module): resume, binary
# batches, slow consumers and the web token, against a simulating qaxdbd.
# Usage: ws_client_test.sh PATH/TO/qaxdb PATH/TO/qaxdbd SOURCE_DIR
set -uo pipefail
QAXDB=$1
QAXDBD=$2
SRC=$3
NODE_MODULES=$SRC/third_party/node/node_modules
[ -d "$NODE_MODULES/ws" ] || { echo "ws_client_test: $NODE_MODULES lacks ws: run scripts/bootstrap.sh" >&2; exit 1; }
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
NODE_PATH=$NODE_MODULES timeout 900 node "$(dirname "$0")/ws_client_test.cjs" "$QAXDB" "$QAXDBD" "$TMP" ||
  fail "ws_client_test.cjs (qaxdbd logs: QAXDB_TEST_KEEP=1 keeps $TMP)"
cli_finish ws_client_test
