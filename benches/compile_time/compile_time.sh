#!/usr/bin/env bash
# CPU time (user + system) to compile a file that uses the allocator, beside
# VMA's header and implementation file compiled in the same run, interleaved.
#   benches/compile_time/compile_time.sh [VMA_DIR] [RUNS]
# VMA_DIR: a VulkanMemoryAllocator checkout (include/vk_mem_alloc.h); optional.
# Prints the minimum and the median of RUNS (default 5) per file, in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vma=${1:-}
runs=${2:-5}
cxx=${CXX:-g++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build=$(ls -d "$root"/build*/gpu-alloc/include 2>/dev/null | head -1 || true)  # the generated version.hpp
flags=(-std=c++20 -O2 -c -I"$root/gpu-alloc/include" -I"$root/gpu-alloc-types/include")
[ -n "$build" ] && flags+=(-I"$build")

cases=("allocator:$here/uses_allocator.cpp" "allocator+defragmentation:$here/uses_defragmentation.cpp")
if [ -n "$vma" ]; then
  printf '#include <vk_mem_alloc.h>\nint vma_header_only;\n' > "$work/vma_header.cpp"
  printf '#define VMA_IMPLEMENTATION\n#include <vk_mem_alloc.h>\n' > "$work/vma_impl.cpp"
  cases+=("vk_mem_alloc.h included:$work/vma_header.cpp" "VMA implementation file:$work/vma_impl.cpp")
fi

declare -A times
for ((i = 0; i < runs; ++i)); do
  for c in "${cases[@]}"; do
    name=${c%%:*}; file=${c#*:}
    extra=()
    [[ $name == vk* || $name == VMA* ]] && extra=(-I"$vma/include")
    t=$( { /usr/bin/time -f '%U %S' "$cxx" "${flags[@]}" "${extra[@]}" "$file" -o "$work/out.o" ; } 2>&1 | tail -1 |
         awk '{ printf "%.2f", $1 + $2 }')
    times[$name]+="$t "
  done
done
printf '%-28s %8s %8s   %s\n' file min median "all runs (s CPU, $cxx -O2)"
for c in "${cases[@]}"; do
  name=${c%%:*}
  read -r -a all <<< "${times[$name]}"
  sorted=($(printf '%s\n' "${all[@]}" | sort -n))
  printf '%-28s %8s %8s   %s\n' "$name" "${sorted[0]}" "${sorted[$((${#sorted[@]} / 2))]}" "${times[$name]}"
done
