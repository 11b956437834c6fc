#!/usr/bin/env bash
# Runs the Vulkan adapter's test binaries and the buffer benchmark on whatever
# Vulkan device the machine has: lavapipe on a machine without a GPU, or a real
# GPU such as an NVIDIA H100 (see docs/vulkan.md, "On a real GPU"). The
# binaries are built on any x86-64 Linux machine (they need nothing beyond
# libvulkan.so.1 and libstdc++) and copied into BIN_DIR, so that the GPU
# machine needs no compiler. The validation layer is used where installed.
#
# usage: run_vulkan_suite.sh BIN_DIR OUT_DIR [COUNT [SEED]]
# writes OUT_DIR/vulkan-tests.log (every test's output) and OUT_DIR/bench.txt
# (the benchmark's key=value lines); exits non-zero when a test or the
# benchmark failed.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 BIN_DIR OUT_DIR [COUNT [SEED]]" >&2
  exit 2
fi
bin=$1
out=$2
count=${3:-100000}
seed=${4:-1}
mkdir -p "$out"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
status=0
: >"$out/vulkan-tests.log"
for test in "$bin"/vulkan_*_test; do
  [ -x "$test" ] || continue
  name=$(basename "$test")
  echo "===== $name" >>"$out/vulkan-tests.log"
  if "$test" >>"$out/vulkan-tests.log" 2>&1; then
    echo "$name: passed"
  else
    echo "$name: FAILED"
    status=1
  fi
done
if ! "$bin/gpu_alloc_vulkan_buffer_bench" --count "$count" --seed "$seed" >"$out/bench.txt" 2>&1; then
  status=1
fi
cat "$out/bench.txt"
exit $status
