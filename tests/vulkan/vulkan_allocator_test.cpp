// The allocator core on a real Vulkan device through the adapter and the
// convenience helpers (resources.hpp): many buffers and images of mixed sizes
// bound into shared chunks without overlap, written and read back through
// mapped blocks; the dedicated paths (asked for, and by size); device
// addresses in shared chunks; errors that leave nothing behind; two threads at
// once; the Vulkan 1.0 requirements path; and, after every test, no
// VkDeviceMemory left (checked here and by the layer at vkDestroyDevice).
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <gpu_alloc/vulkan/adapter.hpp>
#include <gpu_alloc/vulkan/resources.hpp>

#include "vulkan_fixture.hpp"

namespace gpu_alloc::vulkan_testing {
namespace {

using namespace gpu_alloc::vulkan;

VkBufferCreateInfo buffer_info(VkDeviceSize size, VkBufferUsageFlags usage) {
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = size;
    info.usage = usage;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    return info;
}

VkImageCreateInfo image_info(std::uint32_t width, std::uint32_t height, VkFormat format, VkImageTiling tiling,
                             std::uint32_t mips = 1) {
    VkImageCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
    info.imageType = VK_IMAGE_TYPE_2D;
    info.format = format;
    info.extent = {width, height, 1};
    info.mipLevels = mips;
    info.arrayLayers = 1;
    info.samples = VK_SAMPLE_COUNT_1_BIT;
    info.tiling = tiling;
    info.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    info.initialLayout = tiling == VK_IMAGE_TILING_LINEAR ? VK_IMAGE_LAYOUT_PREINITIALIZED : VK_IMAGE_LAYOUT_UNDEFINED;
    return info;
}

class AllocatorTest : public VulkanTest {
protected:
    void SetUp() override {
        VulkanTest::SetUp();
        if (HasFatalFailure()) return;
        device_ = std::make_unique<VulkanMemoryDevice>(ctx_->functions(), ctx_->info());
        props_ = device_properties(ctx_->functions(), ctx_->info());
        allocator_ = std::make_unique<VulkanAllocator>(props_, Config::for_device(props_));
    }

    void TearDown() override {
        if (allocator_) {
            allocator_->cleanup(*device_);
            EXPECT_EQ(allocator_->totals().device_objects, 0u);
            EXPECT_EQ(allocator_->totals().block_count, 0u);
            EXPECT_EQ(device_->live_memory_objects(), 0u) << "VkDeviceMemory left after cleanup";
            EXPECT_EQ(allocator_->misuse_count(), 0u);
            allocator_.reset();
        }
        device_.reset();
        VulkanTest::TearDown();
    }

    std::unique_ptr<VulkanMemoryDevice> device_;
    DeviceProperties props_;
    std::unique_ptr<VulkanAllocator> allocator_;
};

struct Placed {
    VkDeviceMemory memory;
    std::uint64_t offset;
    std::uint64_t size;
    bool optimal;
};

// No two blocks of one memory object overlap, and no linear block shares a
// bufferImageGranularity page with an optimal one.
void expect_disjoint(std::vector<Placed> placed, std::uint64_t granularity) {
    std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
        return a.memory != b.memory ? a.memory < b.memory : a.offset < b.offset;
    });
    for (std::size_t i = 1; i < placed.size(); ++i) {
        const Placed& a = placed[i - 1];
        const Placed& b = placed[i];
        if (a.memory != b.memory) continue;
        EXPECT_LE(a.offset + a.size, b.offset) << "blocks overlap";
        if (a.optimal != b.optimal) {
            EXPECT_LT((a.offset + a.size - 1) / granularity, b.offset / granularity)
                << "linear and optimal resources share a granularity page";
        }
    }
}

TEST_F(AllocatorTest, ManyBuffersAndImagesShareChunks) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> log_size(std::log(256.0), std::log(512.0 * 1024));
    std::vector<BufferAllocation> buffers;
    std::vector<ImageAllocation> images;
    std::vector<Placed> placed;

    for (int i = 0; i < 400; ++i) {
        const auto size = static_cast<VkDeviceSize>(std::exp(log_size(rng)));
        ResourceMemoryInfo info;
        info.usage = i % 2 == 0 ? UsageFlags::upload : UsageFlags::fast_device_access;
        auto b = create_buffer(*allocator_, *device_,
                               buffer_info(size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT),
                               info);
        ASSERT_TRUE(b) << to_string(b.error());
        EXPECT_GE(b->block.size(), size);
        placed.push_back({b->block.memory(), b->block.offset(), b->block.size(), false});
        buffers.push_back(std::move(*b));
    }
    const VkFormat formats[] = {VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_R16G16B16A16_SFLOAT, VK_FORMAT_R8_UNORM,
                                VK_FORMAT_R32_SFLOAT};
    for (int i = 0; i < 60; ++i) {
        const std::uint32_t w = 8u << (i % 6);
        const std::uint32_t h = 4u + static_cast<std::uint32_t>(rng() % 200);
        const bool linear = i % 10 == 9;
        auto img = create_image(*allocator_, *device_,
                                image_info(w, h, formats[i % 4], linear ? VK_IMAGE_TILING_LINEAR : VK_IMAGE_TILING_OPTIMAL,
                                           linear ? 1 : 1 + i % 3));
        ASSERT_TRUE(img) << to_string(img.error());
        placed.push_back({img->block.memory(), img->block.offset(), img->block.size(), !linear});
        images.push_back(std::move(*img));
    }

    const std::size_t resources = buffers.size() + images.size();
    EXPECT_EQ(device_->live_memory_objects(), allocator_->totals().device_objects);
    EXPECT_LT(device_->live_memory_objects() * 10, resources) << "resources should share chunks";
    EXPECT_EQ(allocator_->totals().block_count, resources);
    expect_disjoint(placed, props_.buffer_image_granularity);

    // A distinct pattern through every host-visible buffer's mapping; all are
    // written before any is read, so overlapping memory would show.
    auto fill = [](std::size_t i, std::uint64_t j) { return static_cast<std::byte>((i * 7 + j * 13) & 0xff); };
    std::size_t mapped = 0;
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        VulkanBlock& block = buffers[i].block;
        if (!contains(block.props(), MemoryPropertyFlags::host_visible)) continue;
        auto ptr = block.map(*device_, 0, block.size());
        ASSERT_TRUE(ptr) << to_string(ptr.error());
        for (std::uint64_t j = 0; j < block.size(); ++j) (*ptr)[j] = fill(i, j);
        ASSERT_TRUE(block.flush(*device_, 0, block.size()));
        ASSERT_TRUE(block.unmap(*device_));
        ++mapped;
    }
    EXPECT_GE(mapped, buffers.size() / 2);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        VulkanBlock& block = buffers[i].block;
        if (!contains(block.props(), MemoryPropertyFlags::host_visible)) continue;
        std::vector<std::byte> back(block.size());
        ASSERT_TRUE(block.read_bytes(*device_, 0, back));
        for (std::uint64_t j = 0; j < back.size(); ++j) wrong += back[j] != fill(i, j);
    }
    EXPECT_EQ(wrong, 0u);

    // Free in a random order; chunks go back to the device as they empty.
    std::shuffle(buffers.begin(), buffers.end(), rng);
    for (BufferAllocation& b : buffers) destroy_buffer(*allocator_, *device_, std::move(b));
    for (ImageAllocation& img : images) destroy_image(*allocator_, *device_, std::move(img));
    EXPECT_EQ(allocator_->totals().block_count, 0u);
    EXPECT_LE(device_->live_memory_objects(), allocator_->config().spare_chunks * 4u * props_.memory_types.size());
    allocator_->cleanup(*device_);
    EXPECT_EQ(device_->live_memory_objects(), 0u);
}

TEST_F(AllocatorTest, DedicatedWhenAskedFor) {
    ResourceMemoryInfo info;
    info.dedicated = DedicatedHint::required;
    auto b = create_buffer(*allocator_, *device_, buffer_info(100000, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT), info);
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_TRUE(b->block.is_dedicated());
    EXPECT_EQ(b->block.offset(), 0u);
    // An image whose size is no multiple of the granularity: a dedicated object
    // must be exactly the image's size (VUID-VkMemoryDedicatedAllocateInfo-image-01433).
    auto img = create_image(*allocator_, *device_, image_info(7, 5, VK_FORMAT_R8_UNORM, VK_IMAGE_TILING_OPTIMAL), info);
    ASSERT_TRUE(img) << to_string(img.error());
    EXPECT_TRUE(img->block.is_dedicated());
    EXPECT_NE(img->block.memory(), b->block.memory());
    EXPECT_EQ(device_->live_memory_objects(), 2u);
    destroy_image(*allocator_, *device_, std::move(*img));
    destroy_buffer(*allocator_, *device_, std::move(*b));
    EXPECT_EQ(device_->live_memory_objects(), 0u);
}

// A dedicated object is exactly the resource's size, even where the allocator
// would round a sub-allocation up (granularity pages for resources of unknown
// kind): VUID-VkMemoryDedicatedAllocateInfo-buffer-02965.
TEST_F(AllocatorTest, DedicatedObjectHasTheResourcesExactSize) {
    VkBufferCreateInfo create = buffer_info(100, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
    VkBuffer buffer = VK_NULL_HANDLE;
    ASSERT_EQ(vkCreateBuffer(ctx_->device(), &create, nullptr, &buffer), VK_SUCCESS);
    ResourceMemoryInfo info;
    info.dedicated = DedicatedHint::required;
    Request request = buffer_request(*device_, buffer, create.usage, info);
    request.kind = ResourceKind::unknown;  // as a hand-made Request leaves it
    // The driver's size (100 on lavapipe, 112 on NVIDIA), deliberately not a
    // multiple of the granularity or the atom, so that rounding would show.
    EXPECT_GE(request.size, 100u);
    auto block = allocator_->allocate(*device_, request);
    if (!block) vkDestroyBuffer(ctx_->device(), buffer, nullptr);
    ASSERT_TRUE(block) << to_string(block.error());
    EXPECT_TRUE(block->is_dedicated());
    EXPECT_EQ(block->size(), request.size);
    EXPECT_EQ(vkBindBufferMemory(ctx_->device(), buffer, block->memory(), block->offset()), VK_SUCCESS);
    vkDestroyBuffer(ctx_->device(), buffer, nullptr);
    allocator_->deallocate(*device_, std::move(*block));
}

TEST_F(AllocatorTest, LargeBufferGetsItsOwnObject) {
    const VkDeviceSize size = allocator_->config().dedicated_threshold + 4096;
    auto b = create_buffer(*allocator_, *device_, buffer_info(size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT));
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_TRUE(b->block.is_dedicated());
    auto small = create_buffer(*allocator_, *device_, buffer_info(4096, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT));
    ASSERT_TRUE(small);
    EXPECT_FALSE(small->block.is_dedicated());
    destroy_buffer(*allocator_, *device_, std::move(*small));
    destroy_buffer(*allocator_, *device_, std::move(*b));
}

TEST_F(AllocatorTest, DeviceAddressesInSharedChunks) {
    if (!props_.buffer_device_address) GTEST_SKIP() << ctx_->device_name() << " has no bufferDeviceAddress";
    const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
    std::vector<BufferAllocation> buffers;
    std::vector<VkDeviceAddress> addresses;
    for (int i = 0; i < 16; ++i) {
        auto b = create_buffer(*allocator_, *device_, buffer_info(8192 + 1000 * i, usage));
        ASSERT_TRUE(b) << to_string(b.error());
        EXPECT_FALSE(b->block.is_dedicated());
        VkBufferDeviceAddressInfo address{};
        address.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO;
        address.buffer = b->buffer;
        addresses.push_back(vkGetBufferDeviceAddress(ctx_->device(), &address));
        EXPECT_NE(addresses.back(), 0u);
        buffers.push_back(std::move(*b));
    }
    EXPECT_EQ(buffers.front().block.memory(), buffers.back().block.memory());
    std::sort(addresses.begin(), addresses.end());
    EXPECT_EQ(std::unique(addresses.begin(), addresses.end()), addresses.end());
    for (BufferAllocation& b : buffers) destroy_buffer(*allocator_, *device_, std::move(b));
}

TEST_F(AllocatorTest, FailuresLeaveNothingBehind) {
    ResourceMemoryInfo info;
    info.memory_types = 0;  // no type allowed
    auto b = create_buffer(*allocator_, *device_, buffer_info(4096, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT), info);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().step, ResourceStep::allocate);
    EXPECT_EQ(b.error().allocation.kind, AllocationErrorKind::invalid_request);
    auto img = create_image(*allocator_, *device_, image_info(16, 16, VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TILING_OPTIMAL),
                            info);
    ASSERT_FALSE(img);
    EXPECT_EQ(img.error().step, ResourceStep::allocate);
    EXPECT_EQ(device_->live_memory_objects(), 0u);
    // The buffer and image were destroyed: the layer would report them at vkDestroyDevice.
}

TEST_F(AllocatorTest, TwoThreadsCreateAndDestroyAtOnce) {
    auto work = [&](unsigned seed) {
        std::mt19937 rng(seed);
        std::vector<BufferAllocation> live;
        for (int i = 0; i < 300; ++i) {
            ResourceMemoryInfo info;
            info.usage = i % 3 == 0 ? UsageFlags::upload : UsageFlags::fast_device_access;
            auto b = create_buffer(*allocator_, *device_,
                                   buffer_info(256 + rng() % 65536, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT), info);
            if (!b) return false;
            live.push_back(std::move(*b));
            if (rng() % 2 == 0) {
                std::swap(live[rng() % live.size()], live.back());
                destroy_buffer(*allocator_, *device_, std::move(live.back()));
                live.pop_back();
            }
        }
        for (BufferAllocation& b : live) destroy_buffer(*allocator_, *device_, std::move(b));
        return true;
    };
    bool ok_a = false, ok_b = false;
    std::thread a([&] { ok_a = work(1); });
    std::thread b([&] { ok_b = work(2); });
    a.join();
    b.join();
    EXPECT_TRUE(ok_a);
    EXPECT_TRUE(ok_b);
    EXPECT_EQ(allocator_->totals().block_count, 0u);
}

TEST_F(AllocatorTest, BudgetFromTheDeviceWhenReported) {
    allocator_->refresh_budget(*device_);
    for (std::uint32_t h = 0; h < props_.memory_heaps.size(); ++h) {
        SCOPED_TRACE(h);
        EXPECT_GT(allocator_->heap_budget(h).budget, 0u);
        EXPECT_LE(allocator_->heap_budget(h).budget, props_.memory_heaps[h].size);
    }
}

TEST(ResourceRequest, DriverHintsRaiseTheCallersHint) {
    const VkMemoryRequirements reqs{4096, 256, 0b1011};
    VkMemoryDedicatedRequirements dedicated{};
    ResourceMemoryInfo info;
    info.memory_types = 0b0111;
    const std::uint32_t usable = 0b1110;

    Request r = vulkan::detail::request_from(usable, reqs, &dedicated, info);
    EXPECT_EQ(r.size, 4096u);
    EXPECT_EQ(r.alignment, 256u);
    EXPECT_EQ(r.memory_types, 0b0010u);
    EXPECT_EQ(r.dedicated, DedicatedHint::none);
    dedicated.prefersDedicatedAllocation = VK_TRUE;
    EXPECT_EQ(vulkan::detail::request_from(usable, reqs, &dedicated, info).dedicated, DedicatedHint::preferred);
    dedicated.requiresDedicatedAllocation = VK_TRUE;
    EXPECT_EQ(vulkan::detail::request_from(usable, reqs, &dedicated, info).dedicated, DedicatedHint::required);
    info.dedicated = DedicatedHint::required;
    dedicated = {};
    EXPECT_EQ(vulkan::detail::request_from(usable, reqs, &dedicated, info).dedicated, DedicatedHint::required);
    EXPECT_EQ(vulkan::detail::request_from(usable, reqs, nullptr, info).dedicated, DedicatedHint::required);
}

// --- The Vulkan 1.0 path: vkGet*MemoryRequirements, no dedicated info ---------

class BareVulkan10AllocatorTest : public AllocatorTest {
protected:
    ContextOptions options() const override {
        ContextOptions o;
        o.api_version = VK_API_VERSION_1_0;
        o.khr_fallbacks = false;
        return o;
    }
};

TEST_F(BareVulkan10AllocatorTest, BuffersAndImagesWithoutRequirements2) {
    ASSERT_FALSE(device_->dedicated_allocation());
    std::vector<BufferAllocation> buffers;
    for (int i = 0; i < 20; ++i) {
        auto b = create_buffer(*allocator_, *device_, buffer_info(1000 * (i + 1), VK_BUFFER_USAGE_STORAGE_BUFFER_BIT));
        ASSERT_TRUE(b) << to_string(b.error());
        buffers.push_back(std::move(*b));
    }
    ResourceMemoryInfo dedicated;
    dedicated.dedicated = DedicatedHint::required;  // its own object, without VkMemoryDedicatedAllocateInfo
    auto img = create_image(*allocator_, *device_, image_info(64, 64, VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TILING_OPTIMAL),
                            dedicated);
    ASSERT_TRUE(img) << to_string(img.error());
    EXPECT_TRUE(img->block.is_dedicated());
    destroy_image(*allocator_, *device_, std::move(*img));
    for (BufferAllocation& b : buffers) destroy_buffer(*allocator_, *device_, std::move(b));
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
