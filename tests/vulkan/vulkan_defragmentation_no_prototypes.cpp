// gpu_alloc/vulkan/defragmentation.hpp compiled under VK_NO_PROTOTYPES (set on
// this file by tests/vulkan/CMakeLists.txt): the helper reaches Vulkan only
// through the VulkanFunctions table, so a volk user can include it. Linked into
// vulkan_defragmentation_test, which compares the function's address with its own.
#ifndef VK_NO_PROTOTYPES
#error "this file must be compiled with VK_NO_PROTOTYPES"
#endif

#include <gpu_alloc/vulkan/defragmentation.hpp>

namespace gpu_alloc::vulkan_testing {

decltype(&vulkan::record_buffer_moves) record_buffer_moves_without_prototypes() {
    return &vulkan::record_buffer_moves;
}

}  // namespace gpu_alloc::vulkan_testing
