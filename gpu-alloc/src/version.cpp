// gpu_alloc::version(): the version the library was built as, from the
// gpu_alloc/version.hpp that CMake generates into the build tree.
#if __has_include(<gpu_alloc/version.hpp>)
#include <gpu_alloc/version.hpp>

namespace gpu_alloc {

Version version() noexcept {
    return Version{GPU_ALLOC_VERSION_MAJOR, GPU_ALLOC_VERSION_MINOR, GPU_ALLOC_VERSION_PATCH};
}

const char* version_string() noexcept {
    return GPU_ALLOC_VERSION_STRING;
}

}  // namespace gpu_alloc

#else
// Compiled outside the project's CMake build (a build that compiles the core's
// sources directly, such as the standalone fuzzing build, has no generated
// header): nothing is defined here, so a call to version() fails to link
// rather than returning a wrong version.
#endif
