#!/usr/bin/env bash
# Fuzzes the readers of bytes from disk with libFuzzer (docs/fuzzing.md); not part of CI.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default: 60 s; wal sstable manifest csv)
# Installs clang and its libFuzzer runtime if missing, builds build-fuzz with -DQAXDB_FUZZ=ON,
# then runs the targets one after another, each in one process. New inputs go to a work corpus
# outside git (build-fuzz/corpus/<target>, seeded from tests/fuzz/corpus/<target>), crashes to
# build-fuzz/findings/<target>/, logs to build-fuzz/logs/. At the end it says how to merge
# new inputs into the checked-in corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wal sstable manifest csv)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# libFuzzer ships with clang's runtime libraries: on Debian 12, libclang-rt-<major>-dev.
install_clang() {
  if ! command -v clang >/dev/null; then
    echo "fuzz: installing clang"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null
  fi
  local runtime
  runtime=$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)
  [ -f "$runtime" ] || runtime=$(clang --print-runtime-dir)/libclang_rt.fuzzer-x86_64.a
  if [ ! -f "$runtime" ]; then
    local major
    major=$(clang -dumpversion | cut -d. -f1)
    echo "fuzz: installing libclang-rt-$major-dev (libFuzzer)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "libclang-rt-$major-dev" >/dev/null
  fi
}

bash scripts/bootstrap.sh
install_clang
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQAXDB_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
ninja -C build-fuzz -j2 "${targets[@]/#/qaxdb-fuzz-}" >/dev/null ||
  ninja -C build-fuzz -j2 "${targets[@]/#/qaxdb-fuzz-}"

# libFuzzer ends a timed run without the targets' exit handlers: their scratch folders go with
# this one.
scratch=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp)/qaxdb-fuzzing-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

summary=()
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t findings=build-fuzz/findings/$t
  log=build-fuzz/logs/$t-$(date +%Y%m%d-%H%M%S).log
  mkdir -p "$work" "$findings" build-fuzz/logs
  before=$(ls "$work" | wc -l)
  echo "== fuzzing $t for $seconds s (log: $log)"
  status=0
  # The checked-in corpus is read, never written: new inputs land in the work corpus.
  build-fuzz/bin/qaxdb-fuzz-"$t" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=256 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
    "$work" tests/fuzz/corpus/"$t" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  new=$(($(ls "$work" | wc -l) - before))
  line="$t: $runs runs in $seconds s, $cov, $new new inputs, exit $status"
  [ "$status" -eq 0 ] || line="$line: FINDING, see $log and $findings/"
  summary+=("$line")
  echo "$line"
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
cat <<MSG

To add the new inputs that reach new code to the checked-in corpus (then commit them):
  build-fuzz/bin/qaxdb-fuzz-TARGET -merge=1 -use_counters=0 tests/fuzz/corpus/TARGET build-fuzz/corpus/TARGET
A finding: reproduce it with build/bin/qaxdb-fuzz-TARGET FILE (the replay driver), copy it to
tests/fuzz/corpus/TARGET/finding-<what-it-breaks>, fix the bug, and record the run in
docs/fuzzing.md.
MSG
