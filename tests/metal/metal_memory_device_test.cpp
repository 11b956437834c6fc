// MetalMemoryDevice over FakeMetal: every MemoryDevice operation, what it asks
// of the table, its failure paths, the budget, resource requirements and the
// residency bookkeeping. Links gpu_alloc::metal only (no allocator core).
#include <gpu_alloc/metal/metal_memory_device.hpp>
#include <gpu_alloc/types/dyn_device.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>
#include <vector>

#include "fake_metal.hpp"

namespace gpu_alloc {
namespace {

static_assert(MemoryDevice<MetalMemoryDevice>);
static_assert(MemoryDeviceWithBudget<MetalMemoryDevice>);
static_assert(MemoryDevice<DynMemoryDeviceAdapter<MetalMemoryDevice>>);

using mock::FakeMetal;
using mock::FakeMetalProfile;

// Memory type indices of the two main profiles (see metal_memory_model_test.cpp).
namespace apple {
constexpr std::uint32_t private_type = 0, shared_wc = 1, shared_cached = 2, memoryless = 3;
}
namespace discrete {
constexpr std::uint32_t private_type = 0, managed = 1, shared_wc = 2, shared_cached = 3;
}

std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
    std::vector<std::byte> out(size);
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>((i * 131 + seed * 7 + 1) & 0xff);
    return out;
}

class MetalDeviceTest : public ::testing::Test {
protected:
    MetalMemoryDevice make(FakeMetal& fake, const MetalDeviceOptions& options = {}) {
        auto device = MetalMemoryDevice::create(fake.functions(), options);
        EXPECT_TRUE(device.has_value());
        return std::move(*device);
    }
    static MemoryAllocateInfo info(std::uint64_t size, std::uint32_t type) {
        MemoryAllocateInfo i;
        i.size = size;
        i.memory_type = type;
        return i;
    }
    static MappedMemoryRange<MetalHeap> range(const MetalHeap& heap, std::uint64_t offset, std::uint64_t size) {
        return {&heap, offset, size};
    }
};

TEST_F(MetalDeviceTest, PrivateHeapIsCreatedAtTheRequestedSizeAndFreed) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    auto heap = device.allocate_memory(info(3 << 20, apple::private_type));
    ASSERT_TRUE(heap.has_value());
    const MetalHeapDescription d = fake.description(*heap);
    EXPECT_EQ(d.size, 3u << 20);
    EXPECT_EQ(d.covering_length, 0u);
    EXPECT_EQ(d.backing, MetalBacking::heap);
    EXPECT_EQ(d.options, (MetalResourceOptions{MetalStorageMode::private_, MetalCpuCacheMode::default_cache,
                                                MetalHazardTracking::untracked}));
    EXPECT_EQ(device.live_memory_count(), 1u);
    EXPECT_EQ(device.allocated_bytes(0), 3u << 20);
    device.deallocate_memory(*heap);
    EXPECT_EQ(fake.calls().destroy_heap, 1u);
    EXPECT_EQ(fake.live_objects(), 0u);
    EXPECT_EQ(device.live_memory_count(), 0u);
    EXPECT_EQ(device.allocated_bytes(0), 0u);
}

TEST_F(MetalDeviceTest, SharedHeapGrowsSoItsCoveringBufferFitsAndMapsCoherently) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    const std::uint64_t size = 100 * 1024 + 3;
    auto heap = device.allocate_memory(info(size, apple::shared_wc));
    ASSERT_TRUE(heap.has_value());
    const MetalHeapDescription d = fake.description(*heap);
    EXPECT_EQ(d.size, 112u * 1024);  // heapBufferSizeAndAlign: 16 KiB pages
    EXPECT_EQ(d.covering_length, size);
    EXPECT_EQ(d.options.cpu_cache_mode, MetalCpuCacheMode::write_combined);
    EXPECT_EQ(device.memory_object_size(size, apple::shared_wc), 112u * 1024);
    EXPECT_EQ(device.allocated_bytes(0), 112u * 1024);

    auto ptr = device.map_memory(*heap, 1000, size - 1000);
    ASSERT_TRUE(ptr.has_value());
    const auto bytes = pattern(size - 1000, 1);
    std::memcpy(*ptr, bytes.data(), bytes.size());
    // Coherent: no flush call reaches Metal, and the GPU sees the bytes at once.
    const std::array ranges{range(*heap, 0, size)};
    EXPECT_TRUE(device.flush_memory_ranges(ranges).has_value());
    EXPECT_TRUE(device.invalidate_memory_ranges(ranges).has_value());
    EXPECT_EQ(fake.calls().did_modify_range, 0u);
    EXPECT_EQ(fake.calls().synchronize_ranges, 0u);
    EXPECT_EQ(fake.gpu_read(*heap, 1000, bytes.size()), bytes);
    device.unmap_memory(*heap);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, ManagedMemoryFlushesWithDidModifyRangeAndInvalidatesOnlyItsRanges) {
    FakeMetal fake(mock::discrete_mac_profile());
    MetalMemoryDevice device = make(fake);
    const std::uint64_t size = (1 << 20) + 2;  // not a multiple of 4: the buffer grows to one
    auto heap = device.allocate_memory(info(size, discrete::managed));
    ASSERT_TRUE(heap.has_value());
    const MetalHeapDescription d = fake.description(*heap);
    EXPECT_EQ(d.backing, MetalBacking::buffer);
    EXPECT_EQ(d.size, (1u << 20) + 4);
    EXPECT_EQ(d.options.storage_mode, MetalStorageMode::managed);

    auto mapped = device.map_memory(*heap, 0, size);
    ASSERT_TRUE(mapped.has_value());
    std::byte* cpu = *mapped;
    const auto written = pattern(64, 2);
    std::memcpy(cpu, written.data(), written.size());
    // Not flushed yet: the GPU copy still holds zeros.
    EXPECT_EQ(fake.gpu_read(*heap, 0, 64), std::vector<std::byte>(64));

    // Flush [8, 21): the end is rounded up to the 4-byte atom.
    const std::array first{range(*heap, 8, 13)};
    ASSERT_TRUE(device.flush_memory_ranges(first).has_value());
    ASSERT_EQ(fake.modified_ranges().size(), 1u);
    EXPECT_EQ(fake.modified_ranges()[0].offset, 8u);
    EXPECT_EQ(fake.modified_ranges()[0].size, 16u);
    auto seen = fake.gpu_read(*heap, 0, 64);
    EXPECT_TRUE(std::equal(seen.begin() + 8, seen.begin() + 24, written.begin() + 8));
    EXPECT_EQ(seen[0], std::byte{0});   // outside the flushed range
    EXPECT_EQ(seen[30], std::byte{0});

    // The GPU writes two places; invalidating one range brings back only it and
    // keeps unflushed CPU writes elsewhere (bytes 40..63 were never flushed).
    const auto gpu_bytes = pattern(16, 3);
    fake.gpu_write(*heap, 4096, gpu_bytes);
    fake.gpu_write(*heap, 8192, gpu_bytes);
    const std::array back{range(*heap, 4096, 16)};
    ASSERT_TRUE(device.invalidate_memory_ranges(back).has_value());
    EXPECT_EQ(std::vector<std::byte>(cpu + 4096, cpu + 4112), gpu_bytes);
    EXPECT_EQ(std::vector<std::byte>(cpu + 8192, cpu + 8208), std::vector<std::byte>(16));
    EXPECT_EQ(std::vector<std::byte>(cpu + 40, cpu + 64), std::vector<std::byte>(written.begin() + 40, written.end()));

    // A range reaching the end of the object, whose size is not a multiple of 4,
    // is rounded inside the (grown) buffer.
    const std::array tail{range(*heap, size - 2, 2)};
    ASSERT_TRUE(device.flush_memory_ranges(tail).has_value());
    EXPECT_EQ(fake.modified_ranges().back().offset, size - 2);
    EXPECT_EQ(fake.modified_ranges().back().size, 4u);
    ASSERT_TRUE(device.invalidate_memory_ranges(tail).has_value());
    EXPECT_EQ(fake.synchronized_ranges().back().size, 4u);

    device.unmap_memory(*heap);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, InvalidateBatchesManagedRangesIntoOneBlitAndSkipsCoherentOnes) {
    FakeMetal fake(mock::discrete_mac_profile());
    MetalMemoryDevice device = make(fake);
    auto a = device.allocate_memory(info(1 << 16, discrete::managed));
    auto b = device.allocate_memory(info(1 << 16, discrete::managed));
    auto c = device.allocate_memory(info(1 << 16, discrete::shared_cached));
    ASSERT_TRUE(a && b && c);
    ASSERT_TRUE(device.map_memory(*a, 0, 1 << 16) && device.map_memory(*b, 0, 1 << 16) &&
                device.map_memory(*c, 0, 1 << 16));
    const std::array ranges{range(*a, 0, 256), range(*c, 0, 256), range(*b, 512, 128), range(*a, 1024, 0)};
    ASSERT_TRUE(device.invalidate_memory_ranges(ranges).has_value());
    EXPECT_EQ(fake.calls().synchronize_ranges, 1u);
    EXPECT_EQ(fake.calls().synchronized_ranges, 2u);  // c is coherent, the last range is empty
    ASSERT_TRUE(device.flush_memory_ranges(ranges).has_value());
    EXPECT_EQ(fake.calls().did_modify_range, 2u);
    for (const auto& h : {*a, *b, *c}) {
        device.unmap_memory(h);
        device.deallocate_memory(h);
    }
}

TEST_F(MetalDeviceTest, SharedMemoryOnADiscreteMacIsOneBufferInTheSystemHeap) {
    FakeMetal fake(mock::discrete_mac_profile());
    MetalMemoryDevice device = make(fake);
    auto heap = device.allocate_memory(info(5000, discrete::shared_wc));
    ASSERT_TRUE(heap.has_value());
    EXPECT_EQ(fake.description(*heap).backing, MetalBacking::buffer);
    EXPECT_EQ(fake.description(*heap).size, 5000u);
    EXPECT_EQ(device.allocated_bytes(1), 5000u);
    EXPECT_EQ(device.allocated_bytes(0), 0u);
    EXPECT_EQ(device.allocated_bytes(7), 0u);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, MemorylessObjectsHoldNoMemory) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    auto heap = device.allocate_memory(info(8 << 20, apple::memoryless));
    ASSERT_TRUE(heap.has_value());
    EXPECT_EQ(fake.description(*heap).backing, MetalBacking::none);
    EXPECT_EQ(fake.description(*heap).options.storage_mode, MetalStorageMode::memoryless);
    EXPECT_EQ(device.allocated_bytes(0), 0u);
    EXPECT_EQ(device.live_memory_count(), 1u);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, HazardTrackingOptionReachesEveryHeapAndQuery) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalDeviceOptions options;
    options.hazard_tracking = MetalHazardTracking::tracked;
    MetalMemoryDevice device = make(fake, options);
    auto heap = device.allocate_memory(info(1 << 20, apple::shared_cached));
    ASSERT_TRUE(heap.has_value());
    EXPECT_EQ(fake.description(*heap).options.hazard_tracking, MetalHazardTracking::tracked);
    EXPECT_EQ(device.resource_options(apple::private_type).hazard_tracking, MetalHazardTracking::tracked);
    MetalTextureDescription texture;
    texture.width = texture.height = 64;
    (void)device.texture_requirements(texture);
    ASSERT_FALSE(fake.texture_queries().empty());
    for (const MetalTextureDescription& q : fake.texture_queries())
        EXPECT_EQ(q.options.hazard_tracking, MetalHazardTracking::tracked);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, CreateFailuresAreReportedAndLeaveNothingBehind) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    fake.fail_next_creates(MetalStatus::out_of_device_memory);
    auto a = device.allocate_memory(info(1 << 20, apple::private_type));
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error(), OutOfMemory::out_of_device_memory);
    fake.fail_next_creates(MetalStatus::out_of_host_memory);
    auto b = device.allocate_memory(info(1 << 20, apple::shared_cached));
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), OutOfMemory::out_of_host_memory);
    EXPECT_EQ(device.live_memory_count(), 0u);
    EXPECT_EQ(device.allocated_bytes(0), 0u);
    EXPECT_EQ(device.memory_generation(), 0u);

    // Metal cannot size a covering buffer that long: nothing is created.
    fake.reject_buffer_lengths_above(1 << 20);
    const std::uint32_t creates = fake.calls().create_heap;
    auto c = device.allocate_memory(info(2 << 20, apple::shared_cached));
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error(), OutOfMemory::out_of_device_memory);
    EXPECT_EQ(fake.calls().create_heap, creates);
    EXPECT_EQ(device.memory_object_size(2 << 20, apple::shared_cached), 0u);
}

TEST_F(MetalDeviceTest, MapFailureLeavesTheObjectUnmapped) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    auto heap = device.allocate_memory(info(1 << 20, apple::shared_cached));
    ASSERT_TRUE(heap.has_value());
    fake.fail_next_contents();
    auto failed = device.map_memory(*heap, 0, 1 << 20);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error(), DeviceMapError::map_failed);
    auto mapped = device.map_memory(*heap, 0, 1 << 20);
    ASSERT_TRUE(mapped.has_value());
    device.unmap_memory(*heap);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, SynchronizeFailureIsAnError) {
    FakeMetal fake(mock::discrete_mac_profile());
    MetalMemoryDevice device = make(fake);
    auto heap = device.allocate_memory(info(1 << 16, discrete::managed));
    ASSERT_TRUE(heap.has_value());
    ASSERT_TRUE(device.map_memory(*heap, 0, 1 << 16).has_value());
    const std::array ranges{range(*heap, 0, 64)};
    fake.fail_next_synchronize(MetalStatus::out_of_device_memory);
    auto r = device.invalidate_memory_ranges(ranges);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), OutOfMemory::out_of_device_memory);
    fake.fail_next_synchronize(MetalStatus::out_of_host_memory);
    auto h = device.invalidate_memory_ranges(ranges);
    ASSERT_FALSE(h.has_value());
    EXPECT_EQ(h.error(), OutOfMemory::out_of_host_memory);
    EXPECT_TRUE(device.invalidate_memory_ranges(ranges).has_value());
    device.unmap_memory(*heap);
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, UnifiedBudgetIsTheWorkingSetAndCurrentAllocatedSize) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    auto heap = device.allocate_memory(info(32 << 20, apple::private_type));
    ASSERT_TRUE(heap.has_value());
    fake.set_external_allocated(5 << 20);
    fake.set_working_set(900 << 20);
    std::array<HeapBudget, 1> budget{};
    ASSERT_TRUE(device.query_budget(budget));
    EXPECT_EQ(budget[0].budget, 900u << 20);
    EXPECT_EQ(budget[0].usage, 37u << 20);
    EXPECT_EQ(fake.calls().current_allocated_size, 1u);

    fake.set_working_set(0);  // Metal does not know
    EXPECT_FALSE(device.query_budget(budget));
    device.deallocate_memory(*heap);
}

TEST_F(MetalDeviceTest, DiscreteBudgetSplitsCurrentAllocatedSizeBetweenVramAndSystem) {
    FakeMetal fake(mock::discrete_mac_profile());
    MetalMemoryDevice device = make(fake);
    auto vram = device.allocate_memory(info(64 << 20, discrete::private_type));
    auto managed = device.allocate_memory(info(4 << 20, discrete::managed));
    auto system = device.allocate_memory(info(8 << 20, discrete::shared_cached));
    ASSERT_TRUE(vram && managed && system);
    fake.set_external_allocated(1 << 20);
    std::array<HeapBudget, 2> budget{};
    ASSERT_TRUE(device.query_budget(budget));
    EXPECT_EQ(budget[0].budget, 2ull << 30);
    EXPECT_EQ(budget[0].usage, (64u + 4u + 1u) << 20);
    EXPECT_EQ(budget[1].budget, 4ull << 30);
    EXPECT_EQ(budget[1].usage, 8u << 20);

    std::array<HeapBudget, 1> too_small{};
    EXPECT_FALSE(device.query_budget(too_small));
    for (const auto& h : {*vram, *managed, *system}) device.deallocate_memory(h);
}

TEST_F(MetalDeviceTest, BufferRequirementsCoverEveryTypeThatHoldsBuffers) {
    FakeMetalProfile profile = mock::apple_silicon_profile();
    profile.buffer_alignment[static_cast<int>(MetalStorageMode::private_)] = 65536;
    FakeMetal fake(profile);
    MetalMemoryDevice device = make(fake);
    const MetalResourceRequirements r = device.buffer_requirements(1000);
    EXPECT_EQ(r.memory_types, 0b0111u);  // private and both shared types; never memoryless
    EXPECT_EQ(r.size, 65536u);
    EXPECT_EQ(r.alignment, 65536u);

    FakeMetal discrete_fake(mock::discrete_mac_profile());
    MetalMemoryDevice discrete_device = make(discrete_fake);
    const MetalResourceRequirements d = discrete_device.buffer_requirements(1000);
    EXPECT_EQ(d.memory_types, 0b1111u);
    EXPECT_EQ(d.size, 65536u);  // private heap alignment dominates the 256-byte buffer offsets
    EXPECT_EQ(d.alignment, 65536u);
    EXPECT_EQ(discrete_fake.calls().heap_buffer_size_and_align, 1u);  // buffer-backed types need no query

    fake.reject_buffer_lengths_above(100);
    EXPECT_EQ(device.buffer_requirements(1000).memory_types, 0u);
}

TEST_F(MetalDeviceTest, TextureRequirementsUseHeapTypesAndMemorylessOnlyForTransientTargets) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    MetalTextureDescription texture;
    texture.width = 200;
    texture.height = 100;
    texture.mipmap_level_count = 2;
    const MetalResourceRequirements r = device.texture_requirements(texture);
    EXPECT_EQ(r.memory_types, 0b0111u);
    // (200*100 + 100*50) * 4 = 100000 bytes: 114688 in 16 KiB shared pages, 131072 in 64 KiB private ones.
    EXPECT_EQ(r.size, 131072u);
    EXPECT_EQ(r.alignment, 65536u);
    ASSERT_EQ(fake.texture_queries().size(), 3u);
    EXPECT_EQ(fake.texture_queries()[0].options.storage_mode, MetalStorageMode::private_);
    EXPECT_EQ(fake.texture_queries()[1].options.cpu_cache_mode, MetalCpuCacheMode::write_combined);

    texture.transient_render_target = true;
    EXPECT_EQ(device.texture_requirements(texture).memory_types, 0b1111u);
    texture.width = 0;  // Metal rejects it
    EXPECT_EQ(device.texture_requirements(texture).memory_types, 0u);

    FakeMetal discrete_fake(mock::discrete_mac_profile());
    MetalMemoryDevice discrete_device = make(discrete_fake);
    texture.width = 64;
    EXPECT_EQ(discrete_device.texture_requirements(texture).memory_types, 0b0001u);  // only private heaps
}

TEST_F(MetalDeviceTest, LiveMemoryAndGenerationTrackResidency) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    const std::uint64_t g0 = device.memory_generation();
    auto a = device.allocate_memory(info(1 << 20, apple::private_type));
    auto b = device.allocate_memory(info(1 << 20, apple::shared_cached));
    ASSERT_TRUE(a && b);
    std::vector<MetalHeap> live = device.live_memory();
    ASSERT_EQ(live.size(), 2u);
    EXPECT_NE(std::find(live.begin(), live.end(), *a), live.end());
    EXPECT_NE(std::find(live.begin(), live.end(), *b), live.end());
    const std::uint64_t g2 = device.memory_generation();
    EXPECT_EQ(g2, g0 + 2);
    EXPECT_EQ(device.memory_generation(), g2);  // unchanged without changes
    device.deallocate_memory(*a);
    EXPECT_EQ(device.memory_generation(), g2 + 1);
    EXPECT_EQ(device.live_memory(), std::vector<MetalHeap>{*b});
    device.deallocate_memory(*b);
}

TEST_F(MetalDeviceTest, WorksThroughTheTypeErasedAdapter) {
    FakeMetal fake(mock::discrete_mac_profile());
    MetalMemoryDevice device = make(fake);
    DynMemoryDeviceAdapter<MetalMemoryDevice> dyn(device);
    DynMemoryDevice& erased = dyn;
    auto memory = erased.allocate_memory(info(1 << 16, discrete::managed));
    ASSERT_TRUE(memory.has_value());
    auto ptr = erased.map_memory(*memory, 0, 1 << 16);
    ASSERT_TRUE(ptr.has_value());
    (*ptr)[0] = std::byte{42};
    const MappedMemoryRange<DynMemory> r{&*memory, 0, 4};
    ASSERT_TRUE(erased.flush_memory_ranges(std::span(&r, 1)).has_value());
    const auto restored = DynMemoryDeviceAdapter<MetalMemoryDevice>::restore(*memory);
    EXPECT_EQ(fake.gpu_read(restored, 0, 1)[0], std::byte{42});
    std::array<HeapBudget, 2> budget{};
    EXPECT_TRUE(erased.query_budget(budget));
    erased.unmap_memory(*memory);
    erased.deallocate_memory(*memory);
}

TEST_F(MetalDeviceTest, ManyThreadsAllocateMapAndFreeAtOnce) {
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) {
        threads.emplace_back([&device, &fake, t] {
            for (unsigned i = 0; i < 50; ++i) {
                auto heap = device.allocate_memory(info(64 << 10, apple::shared_cached));
                ASSERT_TRUE(heap.has_value());
                auto ptr = device.map_memory(*heap, 0, 64 << 10);
                ASSERT_TRUE(ptr.has_value());
                const auto bytes = pattern(256, t * 100 + i);
                std::memcpy(*ptr, bytes.data(), bytes.size());
                EXPECT_EQ(fake.gpu_read(*heap, 0, 256), bytes);
                device.unmap_memory(*heap);
                device.deallocate_memory(*heap);
            }
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(device.live_memory_count(), 0u);
    EXPECT_EQ(device.allocated_bytes(0), 0u);
    EXPECT_EQ(device.memory_generation(), 400u);
}

// Contract violations assert in debug builds; release builds refuse them.
TEST_F(MetalDeviceTest, MisuseIsCaught) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    FakeMetal fake(mock::apple_silicon_profile());
    MetalMemoryDevice device = make(fake);
    auto priv = device.allocate_memory(info(1 << 16, apple::private_type));
    auto shared = device.allocate_memory(info(1 << 16, apple::shared_cached));
    ASSERT_TRUE(priv && shared);

    EXPECT_DEBUG_DEATH(
        { EXPECT_EQ(device.map_memory(*priv, 0, 16).error(), DeviceMapError::map_failed); }, "map_memory");
    EXPECT_DEBUG_DEATH(
        { EXPECT_EQ(device.map_memory(*shared, 1 << 15, 1 << 16).error(), DeviceMapError::map_failed); },
        "map_memory");
    ASSERT_TRUE(device.map_memory(*shared, 0, 16).has_value());
    EXPECT_DEBUG_DEATH(
        { EXPECT_EQ(device.map_memory(*shared, 0, 16).error(), DeviceMapError::map_failed); }, "map_memory");
    device.unmap_memory(*shared);
    EXPECT_DEBUG_DEATH(device.unmap_memory(*shared), "unmap_memory");
    const std::array unmapped{range(*shared, 0, 16)};
    EXPECT_DEBUG_DEATH({ EXPECT_TRUE(device.flush_memory_ranges(unmapped).has_value()); }, "flush/invalidate");
    EXPECT_DEBUG_DEATH(device.deallocate_memory(MetalHeap{12345}), "deallocate_memory");
    EXPECT_DEBUG_DEATH(
        { EXPECT_EQ(device.allocate_memory(info(0, apple::private_type)).error(), OutOfMemory::out_of_device_memory); },
        "allocate_memory");
    EXPECT_DEBUG_DEATH(
        { EXPECT_EQ(device.allocate_memory(info(16, 99)).error(), OutOfMemory::out_of_device_memory); },
        "allocate_memory");
    EXPECT_EQ(fake.calls().destroy_heap, 0u);
    device.deallocate_memory(*priv);
    device.deallocate_memory(*shared);
}

}  // namespace
}  // namespace gpu_alloc
