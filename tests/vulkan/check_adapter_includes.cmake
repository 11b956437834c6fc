# Fails when a header or source of gpu_alloc::vulkan includes a gpu_alloc header
# other than gpu_alloc/types... and gpu_alloc/vulkan/... (the design's adapter
# rule: adapters depend on gpu-alloc-types only). resources.hpp and
# defragmentation.hpp belong to the header-only target gpu_alloc::vulkan_helpers,
# which may include the core.
# Usage: cmake -DADAPTER_DIR=<gpu-alloc-vulkan> -P check_adapter_includes.cmake
file(GLOB_RECURSE files ${ADAPTER_DIR}/include/*.hpp ${ADAPTER_DIR}/src/*.cpp ${ADAPTER_DIR}/src/*.hpp)
list(FILTER files EXCLUDE REGEX "/gpu_alloc/vulkan/(resources|defragmentation)\\.hpp$")
set(bad "")
foreach(file ${files})
  file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]gpu_alloc/")
  foreach(line ${includes})
    if(NOT line MATCHES "[<\"]gpu_alloc/(types|vulkan)[/.]")
      list(APPEND bad "${file}: ${line}")
    endif()
  endforeach()
endforeach()
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "no adapter files found under ${ADAPTER_DIR}")
endif()
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "gpu_alloc::vulkan includes core headers:\n  ${bad}")
endif()
message(STATUS "${count} adapter files include gpu_alloc/types and gpu_alloc/vulkan only")
