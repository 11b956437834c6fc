// The allocator core's rules, one test each, on the strict mock device.
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <vector>

#include "support/requests.hpp"
#include "support/test_devices.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::GiB;
using gpu_alloc::test::KiB;
using gpu_alloc::test::MiB;
using gpu_alloc::test::buffer;
using gpu_alloc::test::image;
using testing_device = gpu_alloc::mock::MockDevice;
using Allocator = GpuAllocator<gpu_alloc::mock::MockMemory>;
using Block = MemoryBlock<gpu_alloc::mock::MockMemory>;

namespace {

struct Fixture : ::testing::Test {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    testing_device device{props};
    Config config = Config::low_memory();

    std::unique_ptr<Allocator> make() { return std::make_unique<Allocator>(props, config); }

    void TearDown() override { EXPECT_EQ(device.misuse_count(), 0u); }

    void release(Allocator& a, std::vector<Block>& blocks) {
        for (Block& b : blocks) a.deallocate(device, std::move(b));
        blocks.clear();
        a.cleanup(device);
        EXPECT_EQ(device.live_object_count(), 0u);
    }
};

}  // namespace

TEST_F(Fixture, InvalidRequestsFailWithTheReasonAndChangeNothing) {
    auto a = make();
    struct Case {
        Request request;
        InvalidRequest expected;
    };
    Request zero = buffer(0);
    Request npot = buffer(100, UsageFlags::fast_device_access, 48);
    Request align0 = buffer(100, UsageFlags::fast_device_access, 0);
    Request huge = buffer(props.max_memory_allocation_size + 1);
    Request no_types = buffer(100);
    no_types.memory_types = 1u << 7;  // the device has 4 types
    Request address = buffer(100, UsageFlags::device_address);
    const Case cases[] = {{zero, InvalidRequest::zero_size},
                          {npot, InvalidRequest::alignment_not_power_of_two},
                          {align0, InvalidRequest::alignment_not_power_of_two},
                          {huge, InvalidRequest::size_too_large},
                          {no_types, InvalidRequest::empty_memory_type_mask},
                          {address, InvalidRequest::device_address_unsupported}};
    for (const Case& c : cases) {
        auto r = a->allocate(device, c.request);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, AllocationErrorKind::invalid_request);
        EXPECT_EQ(r.error().invalid, c.expected) << to_string(r.error());
    }
    EXPECT_EQ(device.calls().allocate, 0u);
    EXPECT_EQ(a->totals().block_count, 0u);
}

TEST_F(Fixture, UsageNoTypeSupportsIsNoCompatibleMemoryTypes) {
    auto a = make();
    Request r = buffer(1024, UsageFlags::upload);
    r.memory_types = 1u << 0;  // device-local only, not host visible
    auto b = a->allocate(device, r);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::no_compatible_memory_types);
}

TEST_F(Fixture, TypeSelectionFollowsUsageAndTheReBarRule) {
    auto a = make();
    std::vector<Block> blocks;
    auto take = [&](Request r) {
        auto b = a->allocate(device, r);
        EXPECT_TRUE(b) << to_string(b.error());
        const std::uint32_t t = b->memory_type();
        blocks.push_back(std::move(*b));
        return t;
    };
    EXPECT_EQ(take(buffer(4096)), 0u);                         // device-local
    EXPECT_EQ(take(buffer(4096, UsageFlags::upload)), 3u);     // coherent, uncached
    EXPECT_EQ(take(buffer(4096, UsageFlags::download)), 2u);   // cached
    EXPECT_EQ(take(buffer(4096, UsageFlags::host_access | UsageFlags::fast_device_access)), 1u);  // ReBAR
    Request device_only = buffer(4096);
    device_only.memory_types = (1u << 1) | (1u << 3);
    EXPECT_EQ(take(device_only), 3u);  // ReBAR kept for host access
    release(*a, blocks);
}

TEST_F(Fixture, FullHeapFallsBackToTheNextSuitableType) {
    auto a = make();
    device.set_heap_size_limit(0, 0);
    auto b = a->allocate(device, buffer(64 * KiB));
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_NE(b->memory_type(), 0u);
    std::vector<Block> blocks;
    blocks.push_back(std::move(*b));
    release(*a, blocks);
}

TEST_F(Fixture, OverBudgetFallsBackOrFailsAsConfigured) {
    device.set_heap_budget(0, 32 * KiB);  // smaller than the request itself
    {
        auto a = make();
        auto b = a->allocate(device, buffer(64 * KiB));
        ASSERT_TRUE(b);
        EXPECT_NE(b->memory_type(), 0u);
        std::vector<Block> blocks;
        blocks.push_back(std::move(*b));
        release(*a, blocks);
    }
    config.over_budget = OverBudgetPolicy::fail;
    auto a = make();
    auto b = a->allocate(device, buffer(64 * KiB));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::over_budget);
    EXPECT_EQ(device.live_object_count(), 0u);
}

TEST_F(Fixture, WhenNoChunkFitsTheBudgetAnObjectOfTheRequestsSizeIsTried) {
    // 128 KiB of budget: below every chunk size, above the request. Without the
    // exact-size retry the request would fail although its bytes fit.
    config.over_budget = OverBudgetPolicy::fail;
    device.set_heap_budget(0, 128 * KiB);
    auto a = make();
    auto b = a->allocate(device, buffer(64 * KiB));
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_EQ(b->memory_type(), 0u);
    EXPECT_LE(a->heap_budget(0).usage, 128 * KiB);
    std::vector<Block> blocks;
    blocks.push_back(std::move(*b));
    release(*a, blocks);
}

TEST_F(Fixture, PreferredDedicatedFallsBackToAChunkWithRoom) {
    // Near the budget a dedicated object cannot be had, but the existing chunk
    // has room: "preferred" is sub-allocated there (as VMA does), "required" fails.
    config.over_budget = OverBudgetPolicy::fail;
    auto a = make();
    std::vector<Block> blocks;
    auto first = a->allocate(device, buffer(64 * KiB));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->memory_type(), 0u);
    blocks.push_back(std::move(*first));
    const std::uint64_t reserved = a->heap_budget(0).usage;
    device.set_heap_budget(0, reserved + 256 * KiB);  // no room for a 1 MiB object
    Request preferred = buffer(1 * MiB);
    preferred.memory_types = 1u << 0;
    preferred.dedicated = DedicatedHint::preferred;
    Request required = preferred;
    required.dedicated = DedicatedHint::required;
    auto r = a->allocate(device, required);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, AllocationErrorKind::over_budget);
    auto p = a->allocate(device, preferred);
    ASSERT_TRUE(p) << to_string(p.error());
    EXPECT_FALSE(p->is_dedicated());
    EXPECT_EQ(p->memory(), blocks[0].memory());
    EXPECT_EQ(a->heap_budget(0).usage, reserved);
    blocks.push_back(std::move(*p));
    release(*a, blocks);
}

TEST_F(Fixture, DedicatedFallbackRechecksTheBudget) {
    // VMA issue #278: the dedicated path skipped the budget check.
    config.over_budget = OverBudgetPolicy::fail;
    auto a = make();
    device.set_heap_budget(0, 16 * MiB);
    Request big = buffer(48 * MiB);  // above low_memory's 32 MiB dedicated threshold
    auto b = a->allocate(device, big);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::over_budget);
    Request required = buffer(4 * MiB);
    required.dedicated = DedicatedHint::required;
    device.set_heap_budget(0, 1 * MiB);
    auto c = a->allocate(device, required);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().kind, AllocationErrorKind::over_budget);
    EXPECT_EQ(device.calls().allocate, 0u);
}

TEST_F(Fixture, BudgetFractionAppliesWithoutADeviceBudget) {
    gpu_alloc::mock::MockDeviceOptions options;
    options.report_budget = false;
    testing_device quiet(props, options);
    config.budget_fraction = 0.25;  // 64 MiB of heap 0
    config.over_budget = OverBudgetPolicy::fail;
    Allocator a(props, config);
    std::vector<Block> blocks;
    AllocationError last{};
    for (int i = 0; i < 32; ++i) {
        auto b = a.allocate(quiet, buffer(8 * MiB));
        if (!b) {
            last = b.error();
            break;
        }
        blocks.push_back(std::move(*b));
    }
    EXPECT_EQ(last.kind, AllocationErrorKind::over_budget);
    EXPECT_LE(quiet.live_bytes(0), 64 * MiB);
    for (Block& b : blocks) a.deallocate(quiet, std::move(b));
    a.cleanup(quiet);
    EXPECT_EQ(quiet.live_object_count(), 0u);
}

TEST_F(Fixture, ChunksGrowProgressivelyAndStayWithinTheLimits) {
    props.max_memory_allocation_size = 16 * MiB;
    testing_device small_objects(props);
    Allocator a(props, config);  // low_memory: 4 MiB first chunk, up to 64 MiB
    std::vector<Block> blocks;
    std::set<std::uint64_t> sizes;
    for (int i = 0; i < 800; ++i) {  // 200 MiB: chunks of 4, then 8, then 16 MiB
        auto b = a.allocate(small_objects, buffer(256 * KiB));
        ASSERT_TRUE(b);
        sizes.insert(small_objects.object_info(b->memory())->size);
        blocks.push_back(std::move(*b));
    }
    EXPECT_EQ(*sizes.begin(), 4 * MiB);
    EXPECT_EQ(*sizes.rbegin(), 16 * MiB);  // never above max_memory_allocation_size
    EXPECT_EQ(sizes.size(), 3u);           // 4, 8, 16
    EXPECT_LE(small_objects.peak_live_bytes(0), 200 * MiB * 5 / 4);  // the last chunk is a fraction of the pool
    for (Block& b : blocks) a.deallocate(small_objects, std::move(b));
    EXPECT_EQ(small_objects.live_object_count(), 1u);  // one spare kept (hysteresis)
    a.cleanup(small_objects);
    EXPECT_EQ(small_objects.live_object_count(), 0u);
}

TEST_F(Fixture, DedicatedAboveThresholdOrWhenAskedAndTheResourceIsPassedOn) {
    auto a = make();
    std::vector<Block> blocks;
    auto big = a->allocate(device, buffer(40 * MiB));
    ASSERT_TRUE(big);
    EXPECT_TRUE(big->is_dedicated());
    Request preferred = buffer(64 * KiB);
    preferred.dedicated = DedicatedHint::preferred;
    preferred.dedicated_resource = {DedicatedResourceKind::image, 42};
    preferred.priority = 1.0f;
    auto p = a->allocate(device, preferred);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->is_dedicated());
    auto info = device.object_info(p->memory());
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->dedicated);
    EXPECT_FLOAT_EQ(info->priority, 1.0f);
    EXPECT_EQ(p->offset(), 0u);
    blocks.push_back(std::move(*big));
    blocks.push_back(std::move(*p));
    EXPECT_EQ(device.live_object_count(), 2u);
    release(*a, blocks);
}

TEST_F(Fixture, ObjectCountLimitGivesTooManyObjects) {
    props.max_memory_allocation_count = 3;
    testing_device limited(props);
    Allocator a(props, config);
    std::vector<Block> blocks;
    for (int i = 0; i < 3; ++i) {
        Request r = buffer(64 * KiB);
        r.dedicated = DedicatedHint::required;
        auto b = a.allocate(limited, r);
        ASSERT_TRUE(b);
        blocks.push_back(std::move(*b));
    }
    EXPECT_EQ(a.remaining_allocations(), 0u);
    Request r = buffer(64 * KiB);
    r.dedicated = DedicatedHint::required;
    auto b = a.allocate(limited, r);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::too_many_objects);
    EXPECT_EQ(limited.misuse_count(), 0u);
    for (Block& blk : blocks) a.deallocate(limited, std::move(blk));
    EXPECT_EQ(a.remaining_allocations(), 3u);
}

TEST_F(Fixture, BuffersAndImagesNeverShareAGranularityPage) {
    auto a = make();
    std::vector<Block> blocks;
    std::map<std::pair<std::uint64_t, std::uint64_t>, ResourceKind> page_kind;  // (memory, page) -> kind
    for (int i = 0; i < 300; ++i) {
        const bool is_image = i % 3 == 0;
        auto b = a->allocate(device, is_image ? image(1000 + 37 * i) : buffer(300 + 11 * i));
        ASSERT_TRUE(b);
        const ResourceKind kind = is_image ? ResourceKind::optimal : ResourceKind::linear;
        const std::uint64_t g = props.buffer_image_granularity;
        for (std::uint64_t page = b->offset() / g; page <= (b->offset() + b->size() - 1) / g; ++page) {
            auto [it, fresh] = page_kind.emplace(std::make_pair(b->memory().id, page), kind);
            EXPECT_TRUE(fresh || it->second == kind) << "page " << page << " shared by a buffer and an image";
        }
        blocks.push_back(std::move(*b));
    }
    release(*a, blocks);
}

TEST_F(Fixture, NonCoherentBlocksTakeWholeAtomsAndFlushCleanly) {
    auto a = make();
    std::vector<Block> blocks;
    for (int i = 0; i < 50; ++i) {
        auto b = a->allocate(device, buffer(100 + i * 7, UsageFlags::download, 16));
        ASSERT_TRUE(b);
        ASSERT_EQ(b->memory_type(), 2u);
        EXPECT_EQ(b->offset() % props.non_coherent_atom_size, 0u);
        ASSERT_TRUE(b->map(device, 0, b->size()));
        EXPECT_TRUE(b->flush(device, 3, 10));
        EXPECT_TRUE(b->invalidate(device, 0, b->size()));
        EXPECT_TRUE(b->unmap(device));
        blocks.push_back(std::move(*b));
    }
    EXPECT_EQ(device.misuse_count(), 0u);  // every flush range was atom-aligned and inside the object
    release(*a, blocks);
}

TEST_F(Fixture, ChunksAreMappedOnceAndSharedByTheirBlocks) {
    auto a = make();
    auto x = a->allocate(device, buffer(10000, UsageFlags::upload));
    auto y = a->allocate(device, buffer(10000, UsageFlags::upload));
    ASSERT_TRUE(x && y);
    ASSERT_TRUE(x->memory() == y->memory());
    auto px = x->map(device, 0, x->size());
    auto py = y->map(device, 0, y->size());
    ASSERT_TRUE(px && py);
    EXPECT_EQ(device.calls().map, 1u);
    EXPECT_EQ(*py - *px, static_cast<std::ptrdiff_t>(y->offset()) - static_cast<std::ptrdiff_t>(x->offset()));
    EXPECT_EQ(x->map(device, 0, 1).error(), MapError::already_mapped);
    EXPECT_EQ(x->map(device, 0, 1).error(), MapError::already_mapped);
    EXPECT_TRUE(x->unmap(device));
    EXPECT_TRUE(y->unmap(device));
    EXPECT_EQ(y->unmap(device).error(), MapError::not_mapped);

    const std::byte pattern[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
    ASSERT_TRUE(x->write_bytes(device, 100, pattern));
    std::byte back[4] = {};
    ASSERT_TRUE(x->read_bytes(device, 100, back));
    EXPECT_EQ(std::memcmp(pattern, back, 4), 0);
    EXPECT_EQ(x->write_bytes(device, x->size() - 2, pattern).error(), MapError::out_of_bounds);

    auto d = a->allocate(device, buffer(4096));  // device-local: not mappable
    ASSERT_TRUE(d);
    EXPECT_EQ(d->map(device, 0, 1).error(), MapError::not_host_visible);
    std::vector<Block> blocks;
    blocks.push_back(std::move(*x));
    blocks.push_back(std::move(*y));
    blocks.push_back(std::move(*d));
    release(*a, blocks);  // the mock reports a mapped object freed without unmap as misuse
}

TEST_F(Fixture, DeviceMapFailureIsReturnedAndTheBlockStaysUsable) {
    auto a = make();
    auto x = a->allocate(device, buffer(1000, UsageFlags::upload));
    ASSERT_TRUE(x);
    device.fail_nth_map(1);
    EXPECT_EQ(x->map(device, 0, 10).error(), MapError::map_failed);
    EXPECT_TRUE(x->map(device, 0, 10));
    std::vector<Block> blocks;
    blocks.push_back(std::move(*x));
    release(*a, blocks);
}

TEST_F(Fixture, DeviceFailureLeavesTheAllocatorUnchanged) {
    auto a = make();
    device.set_failure_probability(1.0, 7);
    auto b = a->allocate(device, buffer(4096));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::out_of_device_memory);
    const TotalCounters t = a->totals();
    EXPECT_EQ(t.device_objects, 0u);
    EXPECT_EQ(t.block_count, 0u);
    EXPECT_EQ(a->remaining_allocations(), props.max_memory_allocation_count);
    device.clear_faults();
    auto c = a->allocate(device, buffer(4096));
    ASSERT_TRUE(c);
    std::vector<Block> blocks;
    blocks.push_back(std::move(*c));
    release(*a, blocks);
}

TEST_F(Fixture, RoutesRequestsToStrategiesByPolicy) {
    auto a = make();
    std::vector<Block> blocks;
    auto strategy_of = [&](Request r) {
        auto b = a->allocate(device, r);
        EXPECT_TRUE(b);
        StrategyKind k = b->strategy();
        blocks.push_back(std::move(*b));
        return k;
    };
    EXPECT_EQ(strategy_of(buffer(512)), StrategyKind::slab);
    EXPECT_EQ(strategy_of(buffer(64 * KiB)), StrategyKind::free_list);
    EXPECT_EQ(strategy_of(image(512)), StrategyKind::free_list);  // images are never slab-allocated
    EXPECT_EQ(strategy_of(buffer(8 * KiB, UsageFlags::upload | UsageFlags::transient)), StrategyKind::linear);
    EXPECT_EQ(strategy_of(buffer(33 * MiB)), StrategyKind::dedicated);
    release(*a, blocks);

    for (auto [policy, kind] : {std::pair{StrategyPolicy::buddy, StrategyKind::buddy},
                                std::pair{StrategyPolicy::free_list, StrategyKind::free_list},
                                std::pair{StrategyPolicy::dedicated, StrategyKind::dedicated}}) {
        config.policy = policy;
        auto forced = make();
        auto b = forced->allocate(device, buffer(512));
        ASSERT_TRUE(b);
        EXPECT_EQ(b->strategy(), kind);
        std::vector<Block> one;
        one.push_back(std::move(*b));
        release(*forced, one);
    }
}

TEST_F(Fixture, MisuseIsReportedAndIgnored) {
    static int reports = 0;
    auto previous = set_misuse_handler([](AllocatorMisuse, const char*) { ++reports; });
    auto a = make();
    auto other = make();
    auto b = a->allocate(device, buffer(4096));
    ASSERT_TRUE(b);
    other->deallocate(device, std::move(*b));  // wrong allocator: refused, block kept
    EXPECT_TRUE(b->holds_memory());
    Block moved = std::move(*b);
    a->deallocate(device, std::move(*b));  // moved-from: holds nothing
    EXPECT_EQ(reports, 2);
    EXPECT_EQ(a->misuse_count(), 1u);
    EXPECT_EQ(other->misuse_count(), 1u);
    a->deallocate(device, std::move(moved));
    a->cleanup(device);
    set_misuse_handler(previous);
}

TEST_F(Fixture, ABlockDroppedWithoutDeallocateIsReportedNotFreed) {
    static int leaks = 0;
    auto previous = set_block_leak_handler([](const BlockLeak&) { ++leaks; });
    auto a = make();
    {
        auto b = a->allocate(device, buffer(4096));
        ASSERT_TRUE(b);
    }
    EXPECT_EQ(leaks, 1);
    EXPECT_EQ(a->totals().block_count, 1u);  // still counted: never silently freed
    set_block_leak_handler(previous);
    // The leaked block's chunk cannot be freed; free it by hand for the mock's sake.
    auto snapshot = a->snapshot();
    ASSERT_EQ(snapshot.chunks.size(), 1u);
    static int destroyed_reports = 0;
    auto previous_misuse = set_misuse_handler([](AllocatorMisuse, const char*) { ++destroyed_reports; });
    a.reset();
    EXPECT_EQ(destroyed_reports, 1);
    set_misuse_handler(previous_misuse);
    device.set_misuse_handler({});  // the mock will report the object as leaked at its end
    device.clear_misuse_reports();
}

TEST_F(Fixture, ImportedMemoryCountsAgainstHeapAndObjects) {
    auto a = make();
    MemoryAllocateInfo info;
    info.size = 8 * MiB;
    info.memory_type = 0;
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    auto block = a->import_memory(*memory, 0, 8 * MiB);
    ASSERT_TRUE(block);
    EXPECT_EQ(a->heap_budget(0).usage, 8 * MiB);
    EXPECT_EQ(a->remaining_allocations(), props.max_memory_allocation_count - 1);
    EXPECT_EQ(a->import_memory(*memory, 9, 1).error().invalid, InvalidRequest::empty_memory_type_mask);
    a->deallocate(device, std::move(*block));
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_EQ(a->heap_budget(0).usage, 0u);
}

TEST_F(Fixture, StatisticsAndJsonDumpDescribeEveryChunkAndBlock) {
    config.track_blocks = true;
    auto a = make();
    std::vector<Block> blocks;
    for (int i = 0; i < 10; ++i) {
        Request r = buffer(100 * KiB);
        r.name = "vertex buffer";
        auto b = a->allocate(device, r);
        ASSERT_TRUE(b);
        blocks.push_back(std::move(*b));
    }
    const Statistics s = a->statistics();
    EXPECT_EQ(s.total.block_count, 10u);
    EXPECT_EQ(s.total.requested_bytes, 10 * 100 * KiB);
    EXPECT_GE(s.total.used_bytes, s.total.requested_bytes);
    EXPECT_EQ(s.total.device_objects, device.live_object_count());
    EXPECT_EQ(s.heaps[0].reserved_bytes, device.live_bytes(0));
    EXPECT_EQ(s.memory_types[0].block_count, 10u);
    EXPECT_GT(s.total.largest_free_range, 0u);

    std::ostringstream out;
    a->dump_json(out);
    auto json = nlohmann::json::parse(out.str());
    EXPECT_EQ(json["schema"], "gpu_alloc.dump");
    ASSERT_EQ(json["chunks"].size(), s.total.device_objects);
    EXPECT_EQ(json["chunks"][0]["blocks"].size(), 10u);
    EXPECT_EQ(json["chunks"][0]["blocks"][0]["name"], "vertex buffer");
    EXPECT_EQ(json["total"]["block_count"], 10);
    release(*a, blocks);
}

TEST(ConfigPresets, ForDeviceDerivesChunkSizesFromHeapSizes) {
    const auto h100 = gpu_alloc::test::load_shipped_profile("nvidia-h100-vulkan.json");
    const auto lavapipe = gpu_alloc::test::load_shipped_profile("lavapipe-vulkan.json");
    EXPECT_EQ(Config::for_device(h100.properties).max_chunk_size, 256 * MiB);
    EXPECT_EQ(Config::for_device(h100.properties).min_chunk_size, 32 * MiB);
    EXPECT_EQ(Config::for_device(lavapipe.properties).max_chunk_size, 32 * MiB);
    const Config small = Config::for_device(gpu_alloc::test::constrained_device());
    EXPECT_EQ(small.max_chunk_size, 32 * MiB);
    EXPECT_LE(small.dedicated_threshold, small.max_chunk_size);
}

TEST(ProfileDevices, AllocatesOnTheH100AndLavapipeProfiles) {
    for (const char* file : {"nvidia-h100-vulkan.json", "lavapipe-vulkan.json"}) {
        const auto profile = gpu_alloc::test::load_shipped_profile(file);
        auto device = gpu_alloc::mock::MockDevice::from_profile(profile);
        Allocator a(profile.properties, Config::for_device(profile.properties));
        std::vector<Block> blocks;
        for (UsageFlags usage : {UsageFlags::fast_device_access, UsageFlags::upload, UsageFlags::download}) {
            auto b = a.allocate(device, buffer(1 * MiB, usage));
            ASSERT_TRUE(b) << file;
            blocks.push_back(std::move(*b));
        }
        for (Block& b : blocks) a.deallocate(device, std::move(b));
        a.cleanup(device);
        EXPECT_EQ(device.live_object_count(), 0u);
        EXPECT_EQ(device.misuse_count(), 0u);
    }
}
