// device_properties() and the budget query against what the driver itself
// reports, at Vulkan 1.3 (or the device's highest), at 1.0 with the KHR
// extensions, and at bare 1.0; and the validation messenger itself: it must
// count a provoked error and a leaked VkDeviceMemory, or the other tests'
// "no validation errors" would prove nothing.
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <algorithm>
#include <vector>

#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/vulkan/adapter.hpp>

#include "vulkan_fixture.hpp"

namespace gpu_alloc::vulkan_testing {
namespace {

using gpu_alloc::vulkan::VulkanMemoryDevice;

// Every field of `props` against the driver's own answers.
void expect_matches_driver(const VulkanContext& ctx, const DeviceProperties& props) {
    VkPhysicalDeviceMemoryProperties memory{};
    vkGetPhysicalDeviceMemoryProperties(ctx.physical_device(), &memory);
    VkPhysicalDeviceProperties device{};
    vkGetPhysicalDeviceProperties(ctx.physical_device(), &device);

    EXPECT_TRUE(is_valid(props));
    ASSERT_EQ(props.memory_types.size(), memory.memoryTypeCount);
    ASSERT_EQ(props.memory_heaps.size(), memory.memoryHeapCount);
    for (std::uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(props.memory_types[i].heap, memory.memoryTypes[i].heapIndex);
        EXPECT_EQ(static_cast<std::uint32_t>(props.memory_types[i].props), memory.memoryTypes[i].propertyFlags & 0x3fu);
    }
    for (std::uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(props.memory_heaps[i].size, memory.memoryHeaps[i].size);
        EXPECT_EQ(static_cast<std::uint32_t>(props.memory_heaps[i].flags), memory.memoryHeaps[i].flags & 0x3u);
    }
    EXPECT_EQ(props.max_memory_allocation_count, device.limits.maxMemoryAllocationCount);
    EXPECT_EQ(props.non_coherent_atom_size, device.limits.nonCoherentAtomSize);
    EXPECT_EQ(props.buffer_image_granularity, device.limits.bufferImageGranularity);
    EXPECT_EQ(props.buffer_device_address, ctx.info().buffer_device_address);
}

std::uint64_t largest_heap(const DeviceProperties& props) {
    std::uint64_t largest = 0;
    for (const MemoryHeap& h : props.memory_heaps) largest = std::max(largest, h.size);
    return largest;
}

using PropertiesTest = VulkanTest;

TEST_F(PropertiesTest, MatchDriver) {
    expect_matches_driver(*ctx_, vulkan::device_properties(ctx_->functions(), ctx_->info()));
}

TEST_F(PropertiesTest, MaxAllocationSizeIsMaintenance3Limit) {
    ASSERT_GE(ctx_->api_version(), VK_API_VERSION_1_1) << "this driver offers only Vulkan 1.0";
    VkPhysicalDeviceMaintenance3Properties maintenance3{};
    maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
    VkPhysicalDeviceProperties2 props2{};
    props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props2.pNext = &maintenance3;
    vkGetPhysicalDeviceProperties2(ctx_->physical_device(), &props2);
    const DeviceProperties props = vulkan::device_properties(ctx_->functions(), ctx_->info());
    EXPECT_EQ(props.max_memory_allocation_size, maintenance3.maxMemoryAllocationSize);
    EXPECT_LT(props.max_memory_allocation_size, UINT64_MAX);
}

TEST_F(PropertiesTest, BufferDeviceAddressFollowsWhatWasEnabled) {
    vulkan::VulkanDeviceInfo info = ctx_->info();
    info.buffer_device_address = false;
    EXPECT_FALSE(vulkan::device_properties(ctx_->functions(), info).buffer_device_address);
    info.buffer_device_address = true;
    EXPECT_TRUE(vulkan::device_properties(ctx_->functions(), info).buffer_device_address);
}

TEST_F(PropertiesTest, MemoryDeviceReportsWhatItUses) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    EXPECT_EQ(device.api_version(), vulkan::effective_api_version(ctx_->functions(), ctx_->info()));
    EXPECT_EQ(device.api_version(), ctx_->api_version());
    EXPECT_TRUE(device.dedicated_allocation());
    EXPECT_EQ(device.memory_budget(), ctx_->info().memory_budget);
    EXPECT_EQ(device.device(), ctx_->device());
    EXPECT_EQ(device.physical_device(), ctx_->physical_device());
    EXPECT_EQ(device.live_memory_objects(), 0u);
}

TEST_F(PropertiesTest, UsableTypesLeaveOutFeatureGatedTypes) {
    VkPhysicalDeviceMemoryProperties memory{};
    vkGetPhysicalDeviceMemoryProperties(ctx_->physical_device(), &memory);
    std::uint32_t expected = 0;
    for (std::uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
        const VkMemoryPropertyFlags gated = VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD |
                                            VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD | VK_MEMORY_PROPERTY_PROTECTED_BIT;
        if ((memory.memoryTypes[i].propertyFlags & gated) == 0) expected |= 1u << i;
    }
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    EXPECT_EQ(device.usable_memory_types(), expected);
    EXPECT_NE(device.usable_memory_types(), 0u);

    vulkan::VulkanDeviceInfo everything = ctx_->info();
    everything.device_coherent_memory = true;
    everything.protected_memory = true;
    const std::uint32_t all = memory.memoryTypeCount == 32 ? ~0u : (1u << memory.memoryTypeCount) - 1;
    EXPECT_EQ(vulkan::usable_memory_types(ctx_->functions(), everything), all);
}

TEST_F(PropertiesTest, BudgetOnlyFromTheExtension) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    const DeviceProperties props = vulkan::device_properties(ctx_->functions(), ctx_->info());
    std::vector<HeapBudget> heaps(props.memory_heaps.size());
    const bool reported = device.query_budget(heaps);
    EXPECT_EQ(reported, ctx_->info().memory_budget);
    if (reported) {
        for (std::size_t i = 0; i < heaps.size(); ++i) {
            SCOPED_TRACE(i);
            EXPECT_GT(heaps[i].budget, 0u);
            EXPECT_LE(heaps[i].budget, props.memory_heaps[i].size);
        }
    }
    // Without the extension the same device reports nothing.
    vulkan::VulkanDeviceInfo without = ctx_->info();
    without.memory_budget = false;
    VulkanMemoryDevice no_budget(ctx_->functions(), without);
    EXPECT_FALSE(no_budget.query_budget(heaps));
}

TEST_F(PropertiesTest, BudgetUsageGrowsWithAnAllocation) {
    if (!ctx_->info().memory_budget) GTEST_SKIP() << ctx_->device_name() << " has no VK_EXT_memory_budget";
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    const DeviceProperties props = vulkan::device_properties(ctx_->functions(), ctx_->info());
    const std::uint32_t type = ctx_->find_memory_type(device.usable_memory_types(), VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    ASSERT_NE(type, UINT32_MAX);
    const std::uint32_t heap = props.memory_types[type].heap;
    std::vector<HeapBudget> before(props.memory_heaps.size()), after(props.memory_heaps.size());
    ASSERT_TRUE(device.query_budget(before));
    MemoryAllocateInfo info;
    info.size = 64ull << 20;
    info.memory_type = type;
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    ASSERT_TRUE(device.query_budget(after));
    device.deallocate_memory(*memory);
    EXPECT_GE(after[heap].usage, before[heap].usage + info.size / 2);
}

// --- Vulkan 1.0 with the KHR extensions -----------------------------------------

class Vulkan10PropertiesTest : public VulkanTest {
protected:
    ContextOptions options() const override {
        ContextOptions o;
        o.api_version = VK_API_VERSION_1_0;
        return o;
    }
};

TEST_F(Vulkan10PropertiesTest, MatchDriverThroughKhrNames) {
    ASSERT_EQ(ctx_->api_version(), VK_API_VERSION_1_0);
    const vulkan::VulkanFunctions& f = ctx_->functions();
    EXPECT_EQ(f.vkGetPhysicalDeviceMemoryProperties2 != nullptr, ctx_->info().get_physical_device_properties2);
    EXPECT_EQ(f.vkGetBufferMemoryRequirements2 != nullptr, ctx_->info().dedicated_allocation);
    const DeviceProperties props = vulkan::device_properties(f, ctx_->info());
    expect_matches_driver(*ctx_, props);
    if (ctx_->info().maintenance3) {
        VkPhysicalDeviceMaintenance3Properties maintenance3{};
        maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
        VkPhysicalDeviceProperties2 props2{};
        props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        props2.pNext = &maintenance3;
        f.vkGetPhysicalDeviceProperties2(ctx_->physical_device(), &props2);
        EXPECT_EQ(props.max_memory_allocation_size, maintenance3.maxMemoryAllocationSize);
    } else {
        EXPECT_EQ(props.max_memory_allocation_size, largest_heap(props));
    }
    VulkanMemoryDevice device(f, ctx_->info());
    EXPECT_EQ(device.api_version(), VK_API_VERSION_1_0);
    EXPECT_EQ(device.dedicated_allocation(), ctx_->info().dedicated_allocation);
}

class BareVulkan10PropertiesTest : public VulkanTest {
protected:
    ContextOptions options() const override {
        ContextOptions o;
        o.api_version = VK_API_VERSION_1_0;
        o.khr_fallbacks = false;
        return o;
    }
};

TEST_F(BareVulkan10PropertiesTest, FallBackToTheOneZeroQueries) {
    const vulkan::VulkanFunctions& f = ctx_->functions();
    EXPECT_EQ(f.vkGetPhysicalDeviceProperties2, nullptr);
    EXPECT_EQ(f.vkGetPhysicalDeviceMemoryProperties2, nullptr);
    EXPECT_EQ(f.vkGetBufferMemoryRequirements2, nullptr);
    EXPECT_EQ(f.vkGetImageMemoryRequirements2, nullptr);
    const DeviceProperties props = vulkan::device_properties(f, ctx_->info());
    expect_matches_driver(*ctx_, props);
    EXPECT_EQ(props.max_memory_allocation_size, largest_heap(props));
    EXPECT_FALSE(props.buffer_device_address);
    VulkanMemoryDevice device(f, ctx_->info());
    EXPECT_FALSE(device.dedicated_allocation());
    EXPECT_FALSE(device.memory_budget());
}

// --- The messenger itself ------------------------------------------------------

using ValidationTest = VulkanTest;

TEST_F(ValidationTest, CountsAProvokedError) {
    if (!ctx_->validation_enabled()) GTEST_SKIP() << "validation layer not installed";
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    const std::uint32_t type = ctx_->find_memory_type(device.usable_memory_types(), VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    ASSERT_NE(type, UINT32_MAX);
    MemoryAllocateInfo info;
    info.size = 4096;
    info.memory_type = type;
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    ASSERT_TRUE(device.map_memory(*memory, 0, 4096));
    EXPECT_EQ(validation_errors(), 0u);
    // Mapping a mapped object breaks VUID-vkMapMemory-memory-00678; the layer skips the call.
    (void)device.map_memory(*memory, 0, 4096);
    EXPECT_GE(validation_errors(), 1u);
    accept_validation_errors_so_far();
    device.unmap_memory(*memory);
    device.deallocate_memory(*memory);
}

TEST_F(ValidationTest, CountsALeakedMemoryObjectAtDeviceDestruction) {
    if (!ctx_->validation_enabled()) GTEST_SKIP() << "validation layer not installed";
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    MemoryAllocateInfo info;
    info.size = 4096;
    info.memory_type = ctx_->find_memory_type(device.usable_memory_types(), 0);
    ASSERT_TRUE(device.allocate_memory(info));
    EXPECT_EQ(device.live_memory_objects(), 1u);
    ctx_.reset();  // vkDestroyDevice with the object alive
    EXPECT_GE(validation_errors(), 1u);
    accept_validation_errors_so_far();
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
