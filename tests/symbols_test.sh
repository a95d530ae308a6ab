#!/usr/bin/env bash
# Every global symbol libqaxdb defines carries the qx_ prefix, so that linking the library
# into a program cannot collide with the program's own names (arena_alloc, bloom_hash, ...).
# Usage: symbols_test.sh PATH/TO/libqaxdb.a
set -uo pipefail
lib=$1
# T/D/B/R/C/W/V: code, data, zeroed data, read-only data, common and weak symbols it defines.
# A sanitizer build adds its own globals (__odr_asan.qx_..., __asan_..., __ubsan_...): the
# compiler's names, not ours.
unprefixed=$(nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRCWV]$/ { print $3 }' |
  grep -v -e '^qx_' -e '^__odr_asan\.' -e '^__asan_' -e '^__ubsan_' -e '^__tsan_' | sort -u)
total=$(nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRCWV]$/' | wc -l)
if [ "$total" -eq 0 ]; then
  echo "symbols_test: nm found no symbols in $lib" >&2
  exit 1
fi
if [ -n "$unprefixed" ]; then
  echo "symbols_test: global symbols without the qx_ prefix in $lib:" >&2
  echo "$unprefixed" | sed 's/^/  /' >&2
  exit 1
fi
echo "symbols_test: all $total global symbols carry the qx_ prefix"
