#!/usr/bin/env bash
# Valgrind memcheck over the Vulkan tests, once per test binary (not per test
# case: starting lavapipe under valgrind costs seconds each time).
#
#   tests/valgrind/run_valgrind.sh [BUILD_DIR] [--with-validation]
#
# BUILD_DIR: a normal (not sanitized) build in which the Vulkan tests were
# built, default "build" (the test command's RelWithDebInfo build). Each
# binary in BUILD_DIR/tests/vulkan/*_test runs all its cases under
#   valgrind --tool=memcheck --error-exitcode=1 --leak-check=full
#            --errors-for-leak-kinds=definite --suppressions=tests/valgrind/vulkan.supp
# so that any invalid read/write, use of uninitialized memory or definite
# leak outside the loader and the driver fails the script (exit 1), as does
# a failing test case. By default the Khronos validation layer is left out
# (VK_LOADER_LAYERS_DISABLE): the normal ctest run already runs every case
# under it, and under valgrind it multiplies the time; --with-validation keeps it.
# The per-binary time and result go to stdout and BUILD_DIR/valgrind/summary.txt,
# the full valgrind logs to BUILD_DIR/valgrind/<binary>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
with_validation=0
for arg in "$@"; do
  case "$arg" in
    --with-validation) with_validation=1 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) build=$arg ;;
  esac
done
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

shopt -s nullglob
binaries=()
for b in "$build"/tests/vulkan/*_test; do [ -x "$b" ] && binaries+=("$b"); done
if [ ${#binaries[@]} -eq 0 ]; then
  echo "no Vulkan test binaries in $build/tests/vulkan (expected vulkan_allocator_test," \
       "vulkan_functions_test, vulkan_memory_device_test, vulkan_no_prototypes_test," \
       "vulkan_properties_test); build them first" >&2
  exit 2
fi

out="$build/valgrind"
mkdir -p "$out" "$out/xdg-runtime" "$out/xdg-cache"
chmod 700 "$out/xdg-runtime"
summary="$out/summary.txt"
: > "$summary"
export XDG_RUNTIME_DIR="$PWD/$out/xdg-runtime" XDG_CACHE_HOME="$PWD/$out/xdg-cache"
# Mesa's on-disk shader cache makes the second run differ from the first; keep runs alike.
export MESA_SHADER_CACHE_DISABLE=true
if [ $with_validation -eq 0 ]; then
  export VK_LOADER_LAYERS_DISABLE='*validation*'
  unset GPU_ALLOC_VK_REQUIRE_VALIDATION
else
  export GPU_ALLOC_VK_REQUIRE_VALIDATION=1
fi

failed=()
for bin in "${binaries[@]}"; do
  name=$(basename "$bin")
  log="$out/$name.log"
  start=$(date +%s)
  set +e
  valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --num-callers=40 --suppressions=tests/valgrind/vulkan.supp \
    --gen-suppressions=all --log-file="$log" "$bin" --gtest_brief=1 > "$out/$name.out" 2>&1
  rc=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$' || echo "?")
  line="$name seconds=$seconds exit=$rc valgrind_errors=$errors"
  echo "$line" | tee -a "$summary"
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    tail -5 "$out/$name.out" || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "valgrind: failures in ${failed[*]} (logs in $out/)" >&2
  exit 1
fi
echo "== valgrind memcheck: all ${#binaries[@]} Vulkan test binaries clean"
