// Packaging tests: a consumer of gpu_alloc::vulkan (and, through
// gpu_alloc::vulkan_helpers, the core). Needs no Vulkan device: an empty
// function table must be reported incomplete, which links the adapter's library.
#include <cstdio>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/vulkan/functions.hpp>

int main() {
    gpu_alloc::vulkan::VulkanFunctions functions{};
    const char* missing = gpu_alloc::vulkan::find_missing_function(functions);
    if (missing == nullptr) {
        std::fprintf(stderr, "an empty VulkanFunctions table was reported complete\n");
        return 1;
    }
    std::printf("gpu_alloc::vulkan consumer: ok (first missing: %s)\n", missing);
    return 0;
}
