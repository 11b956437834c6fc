// VulkanMemoryDevice on its own (no allocator core): allocate, map, write,
// flush, invalidate and free on every host-visible type; the dedicated,
// device-address and priority chains; the type-erased adapter; and
// allocations from two threads at once. Each chain is also shown to be really
// there: leaving it out makes the validation layer object.
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <cstring>
#include <thread>
#include <vector>

#include <gpu_alloc/types/dyn_device.hpp>
#include <gpu_alloc/vulkan/adapter.hpp>

#include "vulkan_fixture.hpp"

namespace gpu_alloc::vulkan_testing {
namespace {

using gpu_alloc::vulkan::VulkanMemoryDevice;
using Range = MappedMemoryRange<VkDeviceMemory>;

std::uint8_t pattern(std::uint64_t i, std::uint32_t seed) { return static_cast<std::uint8_t>((i * 131 + seed) >> 3); }

class MemoryDeviceTest : public VulkanTest {
protected:
    std::vector<std::uint32_t> host_visible_types(const VulkanMemoryDevice& device) const {
        VkPhysicalDeviceMemoryProperties memory{};
        vkGetPhysicalDeviceMemoryProperties(ctx_->physical_device(), &memory);
        std::vector<std::uint32_t> out;
        for (std::uint32_t i = 0; i < memory.memoryTypeCount; ++i)
            if ((device.usable_memory_types() & (1u << i)) &&
                (memory.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
                out.push_back(i);
        return out;
    }

    VkBuffer make_buffer(VkDeviceSize size, VkBufferUsageFlags usage) {
        VkBufferCreateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
        info.size = size;
        info.usage = usage;
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
        VkBuffer buffer = VK_NULL_HANDLE;
        EXPECT_EQ(vkCreateBuffer(ctx_->device(), &info, nullptr, &buffer), VK_SUCCESS);
        return buffer;
    }

    VkDeviceSize atom() const {
        VkPhysicalDeviceProperties p{};
        vkGetPhysicalDeviceProperties(ctx_->physical_device(), &p);
        return p.limits.nonCoherentAtomSize;
    }
};

TEST_F(MemoryDeviceTest, MapWriteFlushInvalidateOnEveryHostVisibleType) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    const std::vector<std::uint32_t> types = host_visible_types(device);
    ASSERT_FALSE(types.empty());
    const VkDeviceSize a = atom();
    // Not a multiple of the atom: the last range may end at the object's end.
    const std::uint64_t size = (1u << 20) + 100;
    for (std::uint32_t type : types) {
        SCOPED_TRACE(type);
        MemoryAllocateInfo info;
        info.size = size;
        info.memory_type = type;
        auto memory = device.allocate_memory(info);
        ASSERT_TRUE(memory) << to_string(memory.error());
        EXPECT_EQ(device.live_memory_objects(), 1u);

        auto ptr = device.map_memory(*memory, 0, size);
        ASSERT_TRUE(ptr) << to_string(ptr.error());
        for (std::uint64_t i = 0; i < size; ++i) (*ptr)[i] = static_cast<std::byte>(pattern(i, type));

        // 40 ranges (more than one batch of 32) of one atom every 16 KiB, and one
        // that reaches the end of the object.
        std::vector<Range> ranges;
        for (std::uint64_t i = 0; i < 40; ++i) ranges.push_back({&*memory, i * 16384, a});
        const std::uint64_t tail = size / a * a - a;
        ranges.push_back({&*memory, tail, size - tail});
        EXPECT_TRUE(device.flush_memory_ranges(ranges));
        EXPECT_TRUE(device.invalidate_memory_ranges(ranges));
        device.unmap_memory(*memory);

        // The bytes are still there through a second, offset mapping.
        const std::uint64_t offset = 8 * a;
        auto again = device.map_memory(*memory, offset, size - offset);
        ASSERT_TRUE(again);
        const Range whole{&*memory, offset, size - offset};
        EXPECT_TRUE(device.invalidate_memory_ranges(std::span<const Range>(&whole, 1)));
        std::uint64_t wrong = 0;
        for (std::uint64_t i = offset; i < size; ++i)
            wrong += (*again)[i - offset] != static_cast<std::byte>(pattern(i, type));
        EXPECT_EQ(wrong, 0u);
        device.unmap_memory(*memory);
        device.deallocate_memory(*memory);
        EXPECT_EQ(device.live_memory_objects(), 0u);
    }
    EXPECT_EQ(device.total_memory_objects(), types.size());
}

TEST_F(MemoryDeviceTest, EmptyRangeListsAreFine) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    EXPECT_TRUE(device.flush_memory_ranges({}));
    EXPECT_TRUE(device.invalidate_memory_ranges({}));
}

TEST_F(MemoryDeviceTest, DedicatedBufferAndImage) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    ASSERT_TRUE(device.dedicated_allocation());
    const vulkan::VulkanFunctions& f = device.functions();

    VkBuffer buffer = make_buffer(3 << 20, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    VkBufferMemoryRequirementsInfo2 buffer_info{};
    buffer_info.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2;
    buffer_info.buffer = buffer;
    VkMemoryRequirements2 reqs{};
    reqs.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
    f.vkGetBufferMemoryRequirements2(ctx_->device(), &buffer_info, &reqs);
    MemoryAllocateInfo info;
    info.size = reqs.memoryRequirements.size;
    info.memory_type = ctx_->find_memory_type(reqs.memoryRequirements.memoryTypeBits & device.usable_memory_types(), 0);
    info.dedicated = vulkan::dedicated_buffer(buffer);
    auto buffer_memory = device.allocate_memory(info);
    ASSERT_TRUE(buffer_memory);
    EXPECT_EQ(vkBindBufferMemory(ctx_->device(), buffer, *buffer_memory, 0), VK_SUCCESS);

    VkImageCreateInfo image_info{};
    image_info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
    image_info.imageType = VK_IMAGE_TYPE_2D;
    image_info.format = VK_FORMAT_R8G8B8A8_UNORM;
    image_info.extent = {128, 96, 1};
    image_info.mipLevels = 1;
    image_info.arrayLayers = 1;
    image_info.samples = VK_SAMPLE_COUNT_1_BIT;
    image_info.tiling = VK_IMAGE_TILING_OPTIMAL;
    image_info.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    image_info.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    VkImage image = VK_NULL_HANDLE;
    ASSERT_EQ(vkCreateImage(ctx_->device(), &image_info, nullptr, &image), VK_SUCCESS);
    VkImageMemoryRequirementsInfo2 image_reqs_info{};
    image_reqs_info.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
    image_reqs_info.image = image;
    f.vkGetImageMemoryRequirements2(ctx_->device(), &image_reqs_info, &reqs);
    info.size = reqs.memoryRequirements.size;
    info.memory_type = ctx_->find_memory_type(reqs.memoryRequirements.memoryTypeBits & device.usable_memory_types(), 0);
    info.dedicated = vulkan::dedicated_image(image);
    auto image_memory = device.allocate_memory(info);
    ASSERT_TRUE(image_memory);
    EXPECT_EQ(vkBindImageMemory(ctx_->device(), image, *image_memory, 0), VK_SUCCESS);
    EXPECT_EQ(device.live_memory_objects(), 2u);

    vkDestroyImage(ctx_->device(), image, nullptr);
    vkDestroyBuffer(ctx_->device(), buffer, nullptr);
    device.deallocate_memory(*image_memory);
    device.deallocate_memory(*buffer_memory);
    EXPECT_EQ(device.live_memory_objects(), 0u);
}

// Proof that VkMemoryDedicatedAllocateInfo is chained: memory dedicated to one
// buffer cannot take another (VUID-vkBindBufferMemory-memory-01508).
TEST_F(MemoryDeviceTest, DedicatedMemoryRefusesAnotherBuffer) {
    if (!ctx_->validation_enabled()) GTEST_SKIP() << "validation layer not installed";
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    VkBuffer owner = make_buffer(65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
    VkBuffer other = make_buffer(65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
    VkMemoryRequirements reqs{};
    vkGetBufferMemoryRequirements(ctx_->device(), owner, &reqs);
    MemoryAllocateInfo info;
    info.size = reqs.size;
    info.memory_type = ctx_->find_memory_type(reqs.memoryTypeBits & device.usable_memory_types(), 0);
    info.dedicated = vulkan::dedicated_buffer(owner);
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    EXPECT_EQ(validation_errors(), 0u);
    (void)vkBindBufferMemory(ctx_->device(), other, *memory, 0);
    EXPECT_GE(validation_errors(), 1u);
    accept_validation_errors_so_far();
    vkDestroyBuffer(ctx_->device(), other, nullptr);
    vkDestroyBuffer(ctx_->device(), owner, nullptr);
    device.deallocate_memory(*memory);
}

TEST_F(MemoryDeviceTest, DeviceAddressFlag) {
    if (!ctx_->info().buffer_device_address) GTEST_SKIP() << ctx_->device_name() << " has no bufferDeviceAddress";
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    VkBuffer buffer = make_buffer(65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT);
    VkMemoryRequirements reqs{};
    vkGetBufferMemoryRequirements(ctx_->device(), buffer, &reqs);
    MemoryAllocateInfo info;
    info.size = 1 << 20;
    info.memory_type = ctx_->find_memory_type(reqs.memoryTypeBits & device.usable_memory_types(), 0);
    info.flags = AllocationFlags::device_address;
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    const VkDeviceSize offset = (65536 + reqs.alignment - 1) / reqs.alignment * reqs.alignment;
    ASSERT_EQ(vkBindBufferMemory(ctx_->device(), buffer, *memory, offset), VK_SUCCESS);
    VkBufferDeviceAddressInfo address_info{};
    address_info.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO;
    address_info.buffer = buffer;
    EXPECT_NE(vkGetBufferDeviceAddress(ctx_->device(), &address_info), 0u);
    vkDestroyBuffer(ctx_->device(), buffer, nullptr);
    device.deallocate_memory(*memory);
}

// Proof that VkMemoryAllocateFlagsInfo is chained: without the flag, a
// device-address buffer may not be bound (VUID-vkBindBufferMemory-bufferDeviceAddress-03339).
TEST_F(MemoryDeviceTest, DeviceAddressBufferNeedsTheFlag) {
    if (!ctx_->info().buffer_device_address) GTEST_SKIP() << ctx_->device_name() << " has no bufferDeviceAddress";
    if (!ctx_->validation_enabled()) GTEST_SKIP() << "validation layer not installed";
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    VkBuffer buffer = make_buffer(65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT);
    VkMemoryRequirements reqs{};
    vkGetBufferMemoryRequirements(ctx_->device(), buffer, &reqs);
    MemoryAllocateInfo info;
    info.size = reqs.size;
    info.memory_type = ctx_->find_memory_type(reqs.memoryTypeBits & device.usable_memory_types(), 0);
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    (void)vkBindBufferMemory(ctx_->device(), buffer, *memory, 0);
    EXPECT_GE(validation_errors(), 1u);
    accept_validation_errors_so_far();
    vkDestroyBuffer(ctx_->device(), buffer, nullptr);
    device.deallocate_memory(*memory);
}

TEST_F(MemoryDeviceTest, PrioritiesAcrossTheRange) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    RecordProperty("memory_priority", ctx_->info().memory_priority ? "enabled" : "not offered");
    for (float priority : {0.0f, 0.5f, 1.0f, 7.0f}) {
        MemoryAllocateInfo info;
        info.size = 65536;
        info.memory_type = ctx_->find_memory_type(device.usable_memory_types(), 0);
        info.priority = priority;  // 7.0 is clamped to 1.0 (VUID-VkMemoryPriorityAllocateInfoEXT-priority-02602)
        auto memory = device.allocate_memory(info);
        ASSERT_TRUE(memory);
        device.deallocate_memory(*memory);
    }
}

TEST_F(MemoryDeviceTest, TypeErasedAdapter) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    DynMemoryDeviceAdapter<VulkanMemoryDevice> dyn(device);
    DynMemoryDevice& erased = dyn;
    MemoryAllocateInfo info;
    info.size = 1 << 20;
    info.memory_type = host_visible_types(device).at(0);
    auto memory = erased.allocate_memory(info);
    ASSERT_TRUE(memory);
    EXPECT_EQ(device.live_memory_objects(), 1u);
    auto ptr = erased.map_memory(*memory, 0, info.size);
    ASSERT_TRUE(ptr);
    std::memset(*ptr, 0x5a, info.size);
    std::vector<MappedMemoryRange<DynMemory>> ranges;
    for (std::uint64_t i = 0; i < 12; ++i) ranges.push_back({&*memory, i * 4096, 4096});
    EXPECT_TRUE(erased.flush_memory_ranges(ranges));
    EXPECT_TRUE(erased.invalidate_memory_ranges(ranges));
    std::vector<HeapBudget> heaps(16);
    EXPECT_EQ(erased.query_budget(heaps), ctx_->info().memory_budget);
    erased.unmap_memory(*memory);
    erased.deallocate_memory(*memory);
    EXPECT_EQ(device.live_memory_objects(), 0u);
}

TEST_F(MemoryDeviceTest, TwoThreadsAllocateAndFreeAtOnce) {
    VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    const std::uint32_t type = host_visible_types(device).at(0);
    auto work = [&](std::uint32_t seed) {
        std::vector<VkDeviceMemory> live;
        for (std::uint32_t i = 0; i < 200; ++i) {
            MemoryAllocateInfo info;
            info.size = 4096 * (1 + (i + seed) % 16);
            info.memory_type = type;
            auto memory = device.allocate_memory(info);
            if (!memory) return false;
            auto ptr = device.map_memory(*memory, 0, info.size);
            if (!ptr) return false;
            (*ptr)[0] = std::byte{1};
            device.unmap_memory(*memory);
            live.push_back(*memory);
            if (i % 3 == 2) {
                device.deallocate_memory(live.front());
                live.erase(live.begin());
            }
        }
        for (VkDeviceMemory m : live) device.deallocate_memory(m);
        return true;
    };
    bool ok_a = false, ok_b = false;
    std::thread a([&] { ok_a = work(1); });
    std::thread b([&] { ok_b = work(2); });
    a.join();
    b.join();
    EXPECT_TRUE(ok_a);
    EXPECT_TRUE(ok_b);
    EXPECT_EQ(device.live_memory_objects(), 0u);
    EXPECT_EQ(device.total_memory_objects(), 400u);
}

// --- Pure conversions (no device) -------------------------------------------------

TEST(VulkanConversions, ErrorsMapToTheContract) {
    EXPECT_EQ(vulkan::to_out_of_memory(VK_ERROR_OUT_OF_HOST_MEMORY), OutOfMemory::out_of_host_memory);
    EXPECT_EQ(vulkan::to_out_of_memory(VK_ERROR_OUT_OF_DEVICE_MEMORY), OutOfMemory::out_of_device_memory);
    EXPECT_EQ(vulkan::to_out_of_memory(VK_ERROR_INVALID_EXTERNAL_HANDLE), OutOfMemory::out_of_device_memory);
    EXPECT_EQ(vulkan::to_map_error(VK_ERROR_MEMORY_MAP_FAILED), DeviceMapError::map_failed);
    EXPECT_EQ(vulkan::to_map_error(VK_ERROR_OUT_OF_HOST_MEMORY), DeviceMapError::out_of_host_memory);
    EXPECT_EQ(vulkan::to_map_error(VK_ERROR_OUT_OF_DEVICE_MEMORY), DeviceMapError::out_of_device_memory);
}

TEST(VulkanConversions, FlagsKeepVulkanBitsAndDropUnknownOnes) {
    EXPECT_EQ(vulkan::to_memory_property_flags(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT),
              MemoryPropertyFlags::device_local | MemoryPropertyFlags::host_cached);
    EXPECT_EQ(vulkan::to_memory_property_flags(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                               VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT | VK_MEMORY_PROPERTY_PROTECTED_BIT),
              MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_coherent |
                  MemoryPropertyFlags::lazily_allocated | MemoryPropertyFlags::protected_memory);
    EXPECT_EQ(vulkan::to_memory_property_flags(VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD |
                                               VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD |
                                               VK_MEMORY_PROPERTY_RDMA_CAPABLE_BIT_NV),
              MemoryPropertyFlags::none);
    EXPECT_EQ(vulkan::to_memory_heap_flags(VK_MEMORY_HEAP_DEVICE_LOCAL_BIT | VK_MEMORY_HEAP_MULTI_INSTANCE_BIT),
              MemoryHeapFlags::device_local | MemoryHeapFlags::multi_instance);
}

TEST(VulkanConversions, HandleBitsRoundTrip) {
    const std::uint64_t bits = 0x0000'7f12'3456'7890ull;
    VkBuffer buffer = vulkan::handle_from_bits<VkBuffer>(bits);
    EXPECT_EQ(vulkan::handle_bits(buffer), bits);
    const DedicatedResource r = vulkan::dedicated_buffer(buffer);
    EXPECT_EQ(r.kind, DedicatedResourceKind::buffer);
    EXPECT_EQ(r.handle, bits);
    const DedicatedResource i = vulkan::dedicated_image(vulkan::handle_from_bits<VkImage>(bits));
    EXPECT_EQ(i.kind, DedicatedResourceKind::image);
    EXPECT_EQ(i.handle, bits);
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
