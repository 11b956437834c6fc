// Packaging tests: the smallest consumer of the allocator core, for the
// pkg-config test (core only: no mock, no adapter). Compiled against the
// installed headers, linked with the installed library: the version the
// headers were generated with must be the version the library reports, and a
// strategy must work.
#include <cstdio>
#include <cstring>

#include <gpu_alloc/free_list.hpp>
#include <gpu_alloc/version.hpp>

int main() {
    const gpu_alloc::Version v = gpu_alloc::version();
    if (v != gpu_alloc::header_version || std::strcmp(gpu_alloc::version_string(), GPU_ALLOC_VERSION_STRING) != 0) {
        std::fprintf(stderr, "library %s, headers %s\n", gpu_alloc::version_string(), GPU_ALLOC_VERSION_STRING);
        return 1;
    }
    auto ranges = gpu_alloc::FreeListAllocator::create(1u << 20);
    if (!ranges) {
        std::fprintf(stderr, "FreeListAllocator::create failed\n");
        return 1;
    }
    std::printf("gpu_alloc %s (%d): ok\n", gpu_alloc::version_string(), GPU_ALLOC_VERSION);
    return 0;
}
