// The adapter under VK_NO_PROTOTYPES, the way volk users and engines with
// their own loaders build: this file sees no Vulkan prototypes, reaches the
// loader only through dlopen/dlsym, and hands the adapter that
// vkGetInstanceProcAddr. (The VkInstance and VkDevice come from the shared test
// context, created through the same loader library.)
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <dlfcn.h>

#include <cstring>

#include <gpu_alloc/vulkan/adapter.hpp>

#include "vulkan_fixture.hpp"

#if !defined(VK_NO_PROTOTYPES)
#error "this test must be built with VK_NO_PROTOTYPES"
#endif

namespace gpu_alloc::vulkan_testing {
namespace {

// Under VK_NO_PROTOTYPES the linked-loader overload of load_functions does not exist.
template <class Info>
concept HasLinkedLoaderOverload = requires(const Info& info) { vulkan::load_functions(info); };
static_assert(!HasLinkedLoaderOverload<vulkan::VulkanDeviceInfo>);

using NoPrototypesTest = VulkanTest;

TEST_F(NoPrototypesTest, AdapterRunsOnADlopenedLoader) {
    void* loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(loader, nullptr) << dlerror();
    auto gipa = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(loader, "vkGetInstanceProcAddr"));
    ASSERT_NE(gipa, nullptr);

    auto functions = vulkan::load_functions(ctx_->info(), gipa);
    ASSERT_TRUE(functions) << functions.error().name;
    EXPECT_EQ(vulkan::find_missing_function(*functions), nullptr);

    const DeviceProperties props = vulkan::device_properties(*functions, ctx_->info());
    EXPECT_TRUE(is_valid(props));

    vulkan::VulkanMemoryDevice device(*functions, ctx_->info());
    std::uint32_t type = UINT32_MAX;
    for (std::uint32_t i = 0; i < props.memory_types.size() && type == UINT32_MAX; ++i)
        if ((device.usable_memory_types() & (1u << i)) &&
            contains(props.memory_types[i].props, MemoryPropertyFlags::host_visible))
            type = i;
    ASSERT_NE(type, UINT32_MAX);
    MemoryAllocateInfo info;
    info.size = 65536;
    info.memory_type = type;
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    auto ptr = device.map_memory(*memory, 0, info.size);
    ASSERT_TRUE(ptr);
    std::memset(*ptr, 0x3c, info.size);
    const MappedMemoryRange<VkDeviceMemory> range{&*memory, 0, info.size};
    EXPECT_TRUE(device.flush_memory_ranges(std::span(&range, 1)));
    device.unmap_memory(*memory);
    device.deallocate_memory(*memory);
    EXPECT_EQ(device.live_memory_objects(), 0u);
    dlclose(loader);
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
