# Build flags shared by the project's own targets. Never exported: users of the
# installed package get none of them.

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

# Warnings, as a PRIVATE dependency of each target.
add_library(gpu_alloc_warnings INTERFACE)
target_compile_options(gpu_alloc_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>)

# The libraries promise to work without exceptions and RTTI; they are built so.
add_library(gpu_alloc_no_exceptions INTERFACE)
target_compile_options(gpu_alloc_no_exceptions INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-fno-exceptions -fno-rtti>)

if(GPU_ALLOC_SANITIZE)
  add_compile_options(-fsanitize=${GPU_ALLOC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GPU_ALLOC_SANITIZE})
endif()

# The profiles shipped with the project (read off real devices).
set(GPU_ALLOC_PROFILE_DIR ${PROJECT_SOURCE_DIR}/data/profiles)
