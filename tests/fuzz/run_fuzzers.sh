#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan) in
# build-fuzz and runs each for a bounded time, one after the other.
#
#   tests/fuzz/run_fuzzers.sh [SECONDS] [TARGET...]
#
# SECONDS: per target (default 30). TARGET: a subset of buddy free_list slab
# linear gpu_allocator profile trace (default all).
# Each target starts from its checked-in seeds (tests/fuzz/corpus/<target>)
# and grows a working corpus in build-fuzz/corpus/<target> (not checked in).
# A crash, leak, sanitizer report or timeout stops that target, leaves the
# input in build-fuzz/artifacts/<target>/, and makes the script exit 1 after
# the other targets ran. The executions per target are written to
# build-fuzz/fuzz-summary.txt (docs/reliability.md quotes them).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(buddy free_list slab linear gpu_allocator profile trace)
build=build-fuzz
build_targets=()

CC=clang-14 CXX=clang++-14 cmake -S tests/fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$build" -j2 "${build_targets[@]}"

summary="$build/fuzz-summary.txt"
: > "$summary"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  log="$build/fuzz_$t.log"
  echo "== fuzz_$t for ${seconds}s"
  set +e
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo "[0-9]+$" | tail -1 || true)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo "[0-9]+" || true)
  echo "$t executions=${runs:-0} coverage=${cov:-0} seconds=$seconds exit=$rc" | tee -a "$summary"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -20 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in $build/artifacts/, logs in $build/fuzz_<target>.log)" >&2
  exit 1
fi
echo "== all fuzz targets ran ${seconds}s without a crash"
