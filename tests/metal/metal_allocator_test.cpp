// GpuAllocator over MetalMemoryDevice over FakeMetal, end to end, for each Mac
// profile: mixed buffers and textures sized by the device's own requirements,
// bytes written through mapped blocks and read back as the GPU sees them (and
// the other way), budgets queried, and every Metal object gone at the end
// (FakeMetal reports leaks).
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/metal/metal_memory_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <cstring>
#include <ostream>
#include <vector>

#include "fake_metal.hpp"

namespace gpu_alloc {
namespace {

using Allocator = GpuAllocator<MetalHeap>;
using Block = MemoryBlock<MetalHeap>;

std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
    std::vector<std::byte> out(size);
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>((i * 37 + seed * 11 + 5) & 0xff);
    return out;
}

struct ProfileCase {
    const char* name;
    mock::FakeMetalProfile (*profile)();
};
void PrintTo(const ProfileCase& c, std::ostream* os) { *os << c.name; }

class MetalAllocatorTest : public ::testing::TestWithParam<ProfileCase> {
protected:
    mock::FakeMetal fake{GetParam().profile()};
    MetalMemoryDevice device = [this] {
        auto d = MetalMemoryDevice::create(fake.functions());
        EXPECT_TRUE(d.has_value());
        return std::move(*d);
    }();
    Allocator allocator{device.properties(), Config::for_device(device.properties())};

    void TearDown() override {
        EXPECT_EQ(allocator.misuse_count(), 0u);
    }

    Request buffer_request(std::uint64_t length, UsageFlags usage) const {
        const MetalResourceRequirements need = device.buffer_requirements(length);
        EXPECT_NE(need.memory_types, 0u);
        Request r;
        r.size = need.size;
        r.alignment = need.alignment;
        r.memory_types = need.memory_types;
        r.usage = usage;
        r.kind = ResourceKind::linear;
        return r;
    }

    Request texture_request(std::uint32_t width, std::uint32_t height, UsageFlags usage, bool transient) const {
        MetalTextureDescription texture;
        texture.width = width;
        texture.height = height;
        texture.transient_render_target = transient;
        const MetalResourceRequirements need = device.texture_requirements(texture);
        EXPECT_NE(need.memory_types, 0u);
        Request r;
        r.size = need.size;
        r.alignment = need.alignment;
        r.memory_types = need.memory_types;
        r.usage = usage;
        r.kind = ResourceKind::optimal;
        return r;
    }

    bool host_visible(const Block& b) const { return contains(b.props(), MemoryPropertyFlags::host_visible); }

    void free_all(std::vector<Block>& blocks) {
        for (Block& b : blocks) allocator.deallocate(device, std::move(b));
        blocks.clear();
        allocator.cleanup(device);
        EXPECT_EQ(allocator.totals().device_objects, 0u);
        EXPECT_EQ(device.live_memory_count(), 0u);
        EXPECT_EQ(fake.live_objects(), 0u);
        for (std::uint32_t h = 0; h < device.properties().memory_heaps.size(); ++h)
            EXPECT_EQ(device.allocated_bytes(h), 0u);
    }
};

TEST_P(MetalAllocatorTest, MixedAllocationsWriteAndReadBackThenFreeEverything) {
    std::vector<Block> blocks;
    std::vector<std::vector<std::byte>> written;
    auto keep = [&](Result<Block, AllocationError> r, const Request& req) {
        ASSERT_TRUE(r.has_value()) << to_string(r.error());
        EXPECT_NE((req.memory_types >> r->memory_type()) & 1u, 0u);
        EXPECT_EQ(r->offset() % req.alignment, 0u);
        blocks.push_back(std::move(*r));
    };

    const std::uint64_t sizes[] = {256, 1000, 4096, 70000, 1 << 20, 3 << 20};
    unsigned seed = 0;
    for (int round = 0; round < 3; ++round) {
        for (std::uint64_t size : sizes) {
            for (UsageFlags usage : {UsageFlags::upload, UsageFlags::download, UsageFlags::fast_device_access,
                                     UsageFlags::host_access | UsageFlags::fast_device_access}) {
                const Request req = buffer_request(size, usage);
                keep(allocator.allocate(device, req), req);
                if (::testing::Test::HasFatalFailure()) return;
            }
        }
        const Request tex = texture_request(512, 256, UsageFlags::fast_device_access, false);
        keep(allocator.allocate(device, tex), tex);
        const Request target = texture_request(1024, 1024, UsageFlags::transient, true);
        keep(allocator.allocate(device, target), target);
        if (::testing::Test::HasFatalFailure()) return;
    }
    // One large enough to get a memory object of its own.
    const Request big = buffer_request(allocator.config().dedicated_threshold + 4096, UsageFlags::upload);
    keep(allocator.allocate(device, big), big);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_TRUE(blocks.back().is_dedicated());

    // Where things landed.
    const MetalMemoryModel& model = device.model();
    for (const Block& b : blocks) {
        const MetalMemoryType& type = model.types[b.memory_type()];
        if (type.storage_mode == MetalStorageMode::memoryless) {
            EXPECT_TRUE(model.unified_memory);
        }
        if (contains(b.props(), MemoryPropertyFlags::host_visible)) {
            EXPECT_NE(type.storage_mode, MetalStorageMode::private_);
        }
    }
    if (GetParam().profile == &mock::apple_silicon_profile) {
        EXPECT_EQ(model.types[blocks[blocks.size() - 2].memory_type()].storage_mode, MetalStorageMode::memoryless)
            << "a transient render target goes to tile memory";
    }

    // Host writes through mapped blocks reach the GPU (flushed where managed).
    for (Block& b : blocks) {
        if (!host_visible(b)) {
            written.emplace_back();
            continue;
        }
        written.push_back(pattern(static_cast<std::size_t>(b.size()), ++seed));
        auto ptr = b.map(device, 0, b.size());
        ASSERT_TRUE(ptr.has_value()) << to_string(ptr.error());
        std::memcpy(*ptr, written.back().data(), written.back().size());
        ASSERT_TRUE(b.flush(device, 0, b.size()).has_value());
        ASSERT_TRUE(b.unmap(device).has_value());
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!host_visible(blocks[i])) continue;
        EXPECT_EQ(fake.gpu_read(blocks[i].memory(), blocks[i].offset(), blocks[i].size()), written[i])
            << "block " << i << " in memory type " << blocks[i].memory_type();
    }

    // GPU writes reach the host (invalidated where managed), without disturbing neighbours.
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!host_visible(blocks[i]) || i % 2 == 0) continue;
        written[i] = pattern(static_cast<std::size_t>(blocks[i].size()), ++seed);
        fake.gpu_write(blocks[i].memory(), blocks[i].offset(), written[i]);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!host_visible(blocks[i])) continue;
        std::vector<std::byte> back(static_cast<std::size_t>(blocks[i].size()));
        ASSERT_TRUE(blocks[i].read_bytes(device, 0, back).has_value());
        EXPECT_EQ(back, written[i]) << "block " << i << " in memory type " << blocks[i].memory_type();
    }

    // Budgets came from the device while chunks were created.
    EXPECT_GT(fake.calls().recommended_max_working_set_size, 0u);
    EXPECT_EQ(allocator.totals().device_objects, device.live_memory_count());
    EXPECT_EQ(fake.live_objects(), device.live_memory_count());

    free_all(blocks);
    EXPECT_EQ(fake.calls().create_heap, fake.calls().destroy_heap);
}

TEST_P(MetalAllocatorTest, ManagedAndSharedMemoryRoundTripThroughWriteAndReadHelpers) {
    std::vector<Block> blocks;
    for (UsageFlags usage : {UsageFlags::upload, UsageFlags::download, UsageFlags::host_access}) {
        auto b = allocator.allocate(device, buffer_request(10'003, usage));
        ASSERT_TRUE(b.has_value());
        const auto bytes = pattern(10'003, static_cast<unsigned>(usage));
        ASSERT_TRUE(b->write_bytes(device, 0, bytes).has_value());
        EXPECT_EQ(fake.gpu_read(b->memory(), b->offset(), bytes.size()), bytes);
        std::vector<std::byte> back(bytes.size());
        ASSERT_TRUE(b->read_bytes(device, 0, back).has_value());
        EXPECT_EQ(back, bytes);
        blocks.push_back(std::move(*b));
    }
    free_all(blocks);
}

TEST_P(MetalAllocatorTest, MetalFailuresBecomeAllocationErrorsAndLeakNothing) {
    fake.fail_next_creates(MetalStatus::out_of_device_memory, 100);
    auto failed = allocator.allocate(device, buffer_request(4096, UsageFlags::upload));
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().kind, AllocationErrorKind::out_of_device_memory);
    EXPECT_EQ(fake.live_objects(), 0u);
    EXPECT_EQ(allocator.totals().device_objects, 0u);

    fake.fail_next_creates(MetalStatus::out_of_host_memory, 1);
    auto fell_back = allocator.allocate(device, buffer_request(4096, UsageFlags::upload));
    // The first suitable type failed; the allocator tried the next one.
    ASSERT_TRUE(fell_back.has_value()) << to_string(fell_back.error());
    std::vector<Block> blocks;
    blocks.push_back(std::move(*fell_back));
    free_all(blocks);
}

TEST_P(MetalAllocatorTest, ReportedBudgetStopsTheAllocator) {
    // Metal says almost nothing is left: usage from others fills the working set.
    fake.set_external_allocated(device.properties().memory_heaps[0].size);
    allocator.refresh_budget(device);
    auto r = allocator.allocate(device, buffer_request(1 << 20, UsageFlags::fast_device_access));
    if (device.model().unified_memory) {
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().kind, AllocationErrorKind::over_budget);
    } else {
        // The VRAM heap is full; the request falls back to system memory.
        ASSERT_TRUE(r.has_value()) << to_string(r.error());
        EXPECT_EQ(device.properties().memory_types[r->memory_type()].heap, 1u);
        std::vector<Block> blocks;
        blocks.push_back(std::move(*r));
        free_all(blocks);
    }
    fake.set_external_allocated(0);
    allocator.refresh_budget(device);
    auto ok = allocator.allocate(device, buffer_request(1 << 20, UsageFlags::fast_device_access));
    ASSERT_TRUE(ok.has_value()) << to_string(ok.error());
    std::vector<Block> blocks;
    blocks.push_back(std::move(*ok));
    free_all(blocks);
}

INSTANTIATE_TEST_SUITE_P(Profiles, MetalAllocatorTest,
                         ::testing::Values(ProfileCase{"AppleSilicon", &mock::apple_silicon_profile},
                                           ProfileCase{"DiscreteMac", &mock::discrete_mac_profile},
                                           ProfileCase{"IntelIntegrated", &mock::intel_integrated_profile}),
                         [](const ::testing::TestParamInfo<ProfileCase>& p) { return p.param.name; });

}  // namespace
}  // namespace gpu_alloc
