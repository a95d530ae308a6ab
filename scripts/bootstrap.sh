#!/usr/bin/env bash
# Installs everything qaxdb needs on a Debian 12 machine: the apt packages (compilers, the
# libraries, the benchmark peers), DuckDB v1.4.4 from the npm registry into third_party/duckdb
# and the web console's JS libraries and browser-test modules into third_party/node (both ignored
# by git). Idempotent: when everything is present it returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build pkg-config ca-certificates
  librocksdb-dev libleveldb-dev liblz4-dev libzstd-dev libxxhash-dev libedit-dev
  libiceoryx-binding-c-dev iceoryx postgresql-client libpq-dev python3-psycopg2 prometheus curl
  libinih-dev postgresql-15 libssl-dev openssl libcurl4-openssl-dev libjansson-dev
  etcd-server etcd-client patroni iproute2 chromium libwebsockets-dev)
DUCKDB_LIB_PKG='@duckdb/node-bindings-linux-x64@1.4.4-r.4'
DUCKDB_HDR_PKG='duckdb@1.4.4'
DUCKDB_DIR=third_party/duckdb
# The console's charts (copied into the build by web/CMakeLists.txt) and the modules of the
# browser and WebSocket tests; puppeteer-core 24.10 is the newest that runs on Debian 12's Node 18.
NODE_PACKAGES=(puppeteer-core@24.10.0 ws@8.18.3 lightweight-charts@5.0.8 uplot@1.6.32)
NODE_DIR=third_party/node

missing_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_apt_packages() {
  local missing
  missing=$(missing_packages)
  # npm may come with a nodejs build from outside Debian; only ask apt for it when absent
  command -v npm >/dev/null || missing="$missing nodejs npm"
  missing=$(echo $missing)
  [ -z "$missing" ] && return 0
  echo "bootstrap: installing apt packages:" $missing
  as_root apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
}

install_duckdb() {
  [ -f "$DUCKDB_DIR/libduckdb.so" ] && [ -f "$DUCKDB_DIR/include/duckdb.h" ] && return 0
  echo "bootstrap: fetching DuckDB 1.4.4 from npm"
  local tmp
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && npm pack --silent "$DUCKDB_LIB_PKG" "$DUCKDB_HDR_PKG" >"$tmp/npm.log" 2>&1); then
    cat "$tmp/npm.log" >&2
    echo "bootstrap: npm pack failed (is registry.npmjs.org reachable?)" >&2
    exit 1
  fi
  mkdir -p "$DUCKDB_DIR/include"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp" package/libduckdb.so
  cp "$tmp/package/libduckdb.so" "$DUCKDB_DIR/libduckdb.so"
  rm -rf "$tmp/package"
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp" package/src/duckdb/src/include/duckdb.h
  cp "$tmp/package/src/duckdb/src/include/duckdb.h" "$DUCKDB_DIR/include/duckdb.h"
  rm -rf "$tmp"
}

# The stamp names the versions, so changing NODE_PACKAGES installs again.
install_node_packages() {
  local stamp="$NODE_DIR/.installed"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${NODE_PACKAGES[*]}" ] && return 0
  echo "bootstrap: installing ${NODE_PACKAGES[*]} into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  # The tests drive Debian's chromium: puppeteer must not fetch a browser of its own.
  if ! PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$NODE_DIR" --no-audit --no-fund \
    --loglevel=error "${NODE_PACKAGES[@]}" >"$NODE_DIR/npm.log" 2>&1; then
    cat "$NODE_DIR/npm.log" >&2
    echo "bootstrap: npm install failed (is registry.npmjs.org reachable?)" >&2
    exit 1
  fi
  echo "${NODE_PACKAGES[*]}" >"$stamp"
}

install_apt_packages
install_duckdb
install_node_packages
