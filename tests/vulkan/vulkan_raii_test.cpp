// The RAII wrapper of examples/vulkan_raii on a real device: ownership moves,
// reset and destruction free the object before its memory and give every
// block back once; mapped buffers read and write within bounds only; and an
// allocator destroyed under live resources stops the program instead of
// leaving them dangling.
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <optional>
#include <vector>

#include <gpu_alloc/vulkan/adapter.hpp>

#include "vulkan_fixture.hpp"
#include "vulkan_raii.hpp"

namespace gpu_alloc::vulkan_testing {
namespace {

VkBufferCreateInfo buffer_info(VkDeviceSize size) {
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = size;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    return info;
}

VkImageCreateInfo image_info(std::uint32_t size) {
    VkImageCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
    info.imageType = VK_IMAGE_TYPE_2D;
    info.format = VK_FORMAT_R8G8B8A8_UNORM;
    info.extent = {size, size, 1};
    info.mipLevels = 1;
    info.arrayLayers = 1;
    info.samples = VK_SAMPLE_COUNT_1_BIT;
    info.tiling = VK_IMAGE_TILING_OPTIMAL;
    info.usage = VK_IMAGE_USAGE_SAMPLED_BIT;
    return info;
}

vulkan::ResourceMemoryInfo upload() {
    vulkan::ResourceMemoryInfo info;
    info.usage = UsageFlags::upload;
    return info;
}

using RaiiTest = VulkanTest;

TEST_F(RaiiTest, OwnershipMovesAndEveryBlockIsGivenBackOnce) {
    vulkan::VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    {
        vulkan_raii::Allocator allocator(device);
        std::vector<vulkan_raii::Buffer> buffers;
        for (VkDeviceSize size : {256u, 5000u, 70000u, 1u << 20}) {
            auto b = allocator.create_buffer(buffer_info(size), upload());
            ASSERT_TRUE(b) << to_string(b.error());
            EXPECT_EQ(b->size(), size);
            buffers.push_back(std::move(*b));  // moved twice: out of the Result, into the vector
        }
        auto image = allocator.create_image(image_info(64));
        ASSERT_TRUE(image) << to_string(image.error());
        EXPECT_EQ(image->extent().width, 64u);
        EXPECT_EQ(allocator.live_resources(), 5u);
        EXPECT_EQ(allocator.allocator().totals().block_count, 5u);

        vulkan_raii::Image moved = std::move(*image);
        EXPECT_FALSE(*image);
        EXPECT_TRUE(moved);
        EXPECT_NE(moved.handle(), VK_NULL_HANDLE);

        // Move-assigning over a live buffer frees the old one first.
        buffers[0] = std::move(buffers[1]);
        EXPECT_FALSE(buffers[1]);
        EXPECT_EQ(buffers[0].size(), 5000u);
        EXPECT_EQ(allocator.live_resources(), 4u);
        EXPECT_EQ(allocator.allocator().totals().block_count, 4u);

        buffers[2].reset();
        buffers[2].reset();  // a second reset is a no-op
        EXPECT_EQ(allocator.live_resources(), 3u);
        moved.reset();
        EXPECT_EQ(allocator.live_resources(), 2u);
        EXPECT_EQ(allocator.allocator().totals().block_count, 2u);
        buffers.clear();
        EXPECT_EQ(allocator.live_resources(), 0u);
        EXPECT_EQ(allocator.allocator().totals().block_count, 0u);
        EXPECT_EQ(allocator.allocator().misuse_count(), 0u);
    }
    EXPECT_EQ(device.live_memory_objects(), 0u);
}

TEST_F(RaiiTest, MappedBuffersReadAndWriteWithinBounds) {
    vulkan::VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    vulkan_raii::Allocator allocator(device);
    auto b = allocator.create_buffer(buffer_info(1000), upload());
    ASSERT_TRUE(b);
    ASSERT_EQ(b->mapped().size(), 1000u);
    std::vector<std::byte> bytes(600, std::byte{7});
    EXPECT_TRUE(b->write(400, bytes));
    EXPECT_FALSE(b->write(401, bytes));   // one past the end
    EXPECT_FALSE(b->write(2000, {}));     // offset past the end
    std::vector<std::byte> back(600);
    EXPECT_TRUE(b->read(400, back));
    EXPECT_EQ(back, bytes);
    EXPECT_FALSE(b->read(500, back));
    EXPECT_EQ(b->mapped()[999], std::byte{7});

    // A buffer whose memory the host cannot see has no mapping.
    auto local = allocator.create_buffer(buffer_info(4096));
    ASSERT_TRUE(local);
    EXPECT_EQ(local->mapped().empty(), !contains(local->block().props(), MemoryPropertyFlags::host_visible));
}

TEST_F(RaiiTest, AllocatorOutlivingItsResourcesIsEnforced) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    vulkan::VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    EXPECT_DEATH(
        {
            std::optional<vulkan_raii::Buffer> outlives;
            {
                vulkan_raii::Allocator allocator(device);
                outlives = std::move(*allocator.create_buffer(buffer_info(4096)));
            }
        },
        "destroyed with 1 live Buffers/Images");
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
