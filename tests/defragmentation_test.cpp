// Defragmentation on the strict mock device: data survives (copied through
// mapped host memory), blocks never overlap, device objects go down, vetoes
// and budgets are honoured, and what must not move does not.
#include <gpu_alloc/defragmentation.hpp>
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "support/test_devices.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::KiB;
using gpu_alloc::test::MiB;
using Memory = gpu_alloc::mock::MockMemory;
using Allocator = GpuAllocator<Memory>;
using Block = MemoryBlock<Memory>;
using Defrag = Defragmentation<Memory>;

namespace {

constexpr std::uint32_t device_local = 0;
constexpr std::uint32_t non_coherent = 2;  // host_visible | host_cached
constexpr std::uint32_t coherent = 3;      // host_visible | host_coherent

Request buffer(std::uint64_t size, std::uint32_t type, std::uint64_t alignment = 256) {
    Request r;
    r.size = size;
    r.alignment = alignment;
    r.memory_types = 1u << type;
    r.usage = type == device_local ? UsageFlags::fast_device_access : UsageFlags::upload;
    r.kind = ResourceKind::linear;
    return r;
}

std::byte pattern(std::uint64_t seed, std::uint64_t i) { return static_cast<std::byte>((seed * 131 + i * 7 + (i >> 8)) & 0xFF); }

struct Live {
    std::unique_ptr<Block> block;
    std::uint64_t seed = 0;
};

struct Fixture : ::testing::Test {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    gpu_alloc::mock::MockDevice device{props};
    Config config = small_chunks();
    std::unique_ptr<Allocator> allocator;
    std::vector<Live> live;

    static Config small_chunks() {
        Config c = Config::low_memory();
        c.min_chunk_size = 4 * MiB;
        c.max_chunk_size = 4 * MiB;
        c.dedicated_threshold = 4 * MiB;
        return c;
    }

    void SetUp() override {
        device.set_misuse_handler([](const auto& r) { ADD_FAILURE() << "device misuse: " << r.detail; });
    }
    void TearDown() override {
        if (allocator) {
            for (Live& l : live)
                if (l.block->holds_memory()) allocator->deallocate(device, std::move(*l.block));
            allocator->cleanup(device);
            EXPECT_EQ(allocator->misuse_count(), 0u);
        }
        EXPECT_EQ(device.live_object_count(), 0u);
        EXPECT_EQ(device.misuse_count(), 0u);
    }

    void make() { allocator = std::make_unique<Allocator>(props, config); }

    Live& add(const Request& r, bool write = true) {
        auto b = allocator->allocate(device, r);
        EXPECT_TRUE(b) << (b ? "" : std::string(to_string(b.error().kind)));
        Live l{std::make_unique<Block>(std::move(*b)), live.size() + 1};
        if (write) {
            std::vector<std::byte> bytes(r.size);
            for (std::uint64_t i = 0; i < r.size; ++i) bytes[i] = pattern(l.seed, i);
            EXPECT_TRUE(l.block->write_bytes(device, 0, bytes));
        }
        live.push_back(std::move(l));
        return live.back();
    }

    void free_at(std::size_t i) {
        allocator->deallocate(device, std::move(*live[i].block));
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    }

    /// Random host-visible blocks, then a random 60% of them freed.
    void churn(std::uint32_t seed, std::size_t count, std::uint32_t type) {
        std::mt19937 rng(seed);
        const std::uint64_t alignments[] = {1, 16, 256, 4096};
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint64_t size = 256 + rng() % (48 * KiB);
            add(buffer(size, type, alignments[rng() % 4]));
        }
        for (std::size_t i = 0; i < count * 6 / 10; ++i) free_at(rng() % live.size());
    }

    std::vector<Block*> pointers() {
        std::vector<Block*> out;
        for (Live& l : live) out.push_back(l.block.get());
        return out;
    }

    void expect_data_intact() {
        for (const Live& l : live) {
            if (!l.block->holds_memory()) continue;
            std::vector<std::byte> bytes(l.block->size());
            ASSERT_TRUE(l.block->read_bytes(device, 0, bytes));
            for (std::uint64_t i = 0; i < bytes.size(); ++i)
                if (bytes[i] != pattern(l.seed, i)) return (void)(ADD_FAILURE() << "block " << l.seed << " byte " << i);
        }
    }

    void expect_no_overlap() {
        std::map<std::uint64_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> by_memory;
        for (const Live& l : live)
            if (l.block->holds_memory()) by_memory[l.block->memory().id].push_back({l.block->offset(), l.block->size()});
        for (auto& [id, ranges] : by_memory) {
            std::sort(ranges.begin(), ranges.end());
            for (std::size_t i = 1; i < ranges.size(); ++i)
                EXPECT_LE(ranges[i - 1].first + ranges[i - 1].second, ranges[i].first) << "memory " << id;
        }
    }

    /// Runs passes to the end, copying through host mappings; checks each pass's budget.
    DefragmentationStats defragment(DefragmentationOptions options, std::uint32_t max_passes = 10000) {
        auto blocks = pointers();
        Defrag defrag(*allocator, blocks, options);
        for (std::uint32_t pass = 0; pass < max_passes; ++pass) {
            auto moves = defrag.begin_pass(device);
            if (moves.empty()) break;
            std::uint64_t bytes = 0;
            for (auto& m : moves) {
                bytes += m.size();
                EXPECT_EQ(m.destination().memory_type(), m.block().memory_type());
                EXPECT_FALSE(m.destination().memory() == m.source_memory() && m.destination().offset() == m.source_offset());
                if (contains(m.block().props(), MemoryPropertyFlags::host_visible)) {
                    EXPECT_TRUE(m.copy_on_host(device));
                }
            }
            if (options.max_moves_per_pass) {
                EXPECT_LE(moves.size(), options.max_moves_per_pass);
            }
            if (options.max_bytes_per_pass) {
                EXPECT_LE(bytes, options.max_bytes_per_pass);
            }
            defrag.end_pass(device);
        }
        EXPECT_FALSE(defrag.pass_open());
        EXPECT_TRUE(defrag.begin_pass(device).empty()) << "did not finish in " << max_passes << " passes";
        return defrag.stats();
    }
};

}  // namespace

TEST_F(Fixture, ChurnThenDefragmentPreservesDataAndFreesObjects) {
    for (const std::uint32_t type : {coherent, non_coherent}) {
        SCOPED_TRACE(type);
        make();
        churn(7 + type, 1200, type);
        allocator->cleanup(device);
        const TotalCounters before = allocator->totals();
        const DefragmentationStats stats = defragment({});
        const TotalCounters after = allocator->totals();
        EXPECT_GT(stats.moves, 0u);
        EXPECT_GT(stats.device_objects_freed, 0u);
        EXPECT_LT(after.device_objects, before.device_objects);
        EXPECT_EQ(before.device_objects - after.device_objects, stats.device_objects_freed);
        EXPECT_EQ(after.requested_bytes, before.requested_bytes);
        EXPECT_EQ(after.block_count, live.size());
        expect_data_intact();
        expect_no_overlap();
        TearDown();
        live.clear();
        allocator.reset();
    }
}

TEST_F(Fixture, FullCompactionPacksFurtherThanFreeChunks) {
    make();
    churn(3, 1500, coherent);
    allocator->cleanup(device);
    defragment({});
    const TotalCounters mid = allocator->totals();
    DefragmentationOptions full;
    full.goal = DefragmentationGoal::full_compaction;
    defragment(full);
    const TotalCounters after = allocator->totals();
    EXPECT_LE(after.device_objects, mid.device_objects);
    EXPECT_EQ(after.requested_bytes, mid.requested_bytes);
    expect_data_intact();
    expect_no_overlap();
}

TEST_F(Fixture, VetoedMovesLeaveEverythingAsItWas) {
    make();
    churn(11, 800, coherent);
    allocator->cleanup(device);
    struct Place {
        std::uint64_t memory, offset;
    };
    std::vector<Place> places;
    for (const Live& l : live) places.push_back({l.block->memory().id, l.block->offset()});
    const TotalCounters before = allocator->totals();
    auto blocks = pointers();
    Defrag defrag(*allocator, blocks);
    auto moves = defrag.begin_pass(device);
    ASSERT_FALSE(moves.empty());
    EXPECT_GT(allocator->totals().block_count, before.block_count);  // destinations are live during the pass
    for (auto& m : moves) {
        ASSERT_TRUE(m.copy_on_host(device));
        m.veto();
    }
    defrag.end_pass(device);
    EXPECT_EQ(defrag.stats().moves, 0u);
    EXPECT_EQ(defrag.stats().moves_vetoed, moves.size());
    const TotalCounters after = allocator->totals();
    EXPECT_EQ(after.device_objects, before.device_objects);
    EXPECT_EQ(after.used_bytes, before.used_bytes);
    EXPECT_EQ(after.block_count, before.block_count);
    for (std::size_t i = 0; i < live.size(); ++i) {
        EXPECT_EQ(live[i].block->memory().id, places[i].memory);
        EXPECT_EQ(live[i].block->offset(), places[i].offset);
    }
    expect_data_intact();
}

TEST_F(Fixture, PassBudgetsAreRespected) {
    make();
    churn(5, 1000, coherent);
    DefragmentationOptions o;
    o.max_moves_per_pass = 7;
    o.max_bytes_per_pass = 96 * KiB;
    const DefragmentationStats stats = defragment(o);  // checks every pass
    EXPECT_GT(stats.passes, 1u);
    EXPECT_LE(stats.moves, stats.passes * 7);
    EXPECT_LE(stats.bytes_moved, stats.passes * 96 * KiB);
    expect_data_intact();
    expect_no_overlap();
}

TEST_F(Fixture, BlocksLargerThanThePassBudgetNeverMove) {
    make();
    churn(9, 600, coherent);
    std::map<const Block*, std::uint64_t> big;
    for (const Live& l : live)
        if (l.block->size() > 8 * KiB) big[l.block.get()] = l.block->memory().id * 0x100000000ull + l.block->offset();
    DefragmentationOptions o;
    o.max_bytes_per_pass = 8 * KiB;
    defragment(o);
    for (const auto& [b, place] : big) EXPECT_EQ(b->memory().id * 0x100000000ull + b->offset(), place);
    expect_data_intact();
}

TEST_F(Fixture, MappedBlocksMoveWithANewPointerOrStayWhenAsked) {
    for (const bool move_mapped : {true, false}) {
        SCOPED_TRACE(move_mapped);
        make();
        churn(13, 600, coherent);
        allocator->cleanup(device);
        std::vector<std::byte*> ptrs;
        for (Live& l : live) {
            auto p = l.block->map(device, 0, l.block->size());
            ASSERT_TRUE(p);
            ptrs.push_back(*p);
        }
        DefragmentationOptions o;
        o.move_mapped = move_mapped;
        const DefragmentationStats stats = defragment(o);
        std::size_t moved = 0;
        for (std::size_t i = 0; i < live.size(); ++i) {
            std::byte* now = live[i].block->mapped_ptr();
            ASSERT_NE(now, nullptr);  // still mapped
            moved += now != ptrs[i];
            for (std::uint64_t k = 0; k < live[i].block->size(); k += 97) ASSERT_EQ(now[k], pattern(live[i].seed, k));
            ASSERT_TRUE(live[i].block->unmap(device));
        }
        EXPECT_LE(moved, stats.moves);  // a block may move in more than one pass
        if (move_mapped) {
            EXPECT_GT(moved, 0u);
        } else {
            EXPECT_EQ(moved, 0u);
            EXPECT_EQ(stats.moves, 0u);
        }
        TearDown();
        live.clear();
        allocator.reset();
    }
}

TEST_F(Fixture, DedicatedLinearAndUnnamedBlocksStay) {
    make();
    churn(17, 600, coherent);
    Live& dedicated = add(buffer(5 * MiB, coherent));  // above dedicated_threshold
    ASSERT_TRUE(dedicated.block->is_dedicated());
    Request transient = buffer(64 * KiB, coherent);
    transient.usage = UsageFlags::upload | UsageFlags::transient;
    Live& linear = add(transient);
    ASSERT_EQ(linear.block->strategy(), StrategyKind::linear);
    // One block per chunk is kept out of the named set: under free_chunks no chunk may then be emptied.
    std::map<std::uint64_t, Block*> unnamed;
    for (Live& l : live)
        if (l.block->strategy() == StrategyKind::free_list) unnamed.emplace(l.block->memory().id, l.block.get());
    const auto place = [](const Block* b) { return std::make_pair(b->memory().id, b->offset()); };
    std::vector<std::pair<std::uint64_t, std::uint64_t>> fixed;
    for (const Live& l : live) fixed.push_back(place(l.block.get()));
    std::vector<Block*> named;
    for (Live& l : live)
        if (std::none_of(unnamed.begin(), unnamed.end(), [&](const auto& kv) { return kv.second == l.block.get(); }))
            named.push_back(l.block.get());
    const TotalCounters before = allocator->totals();
    Defrag defrag(*allocator, named);
    EXPECT_TRUE(defrag.begin_pass(device).empty());
    EXPECT_EQ(allocator->totals().block_count, before.block_count);
    for (std::size_t i = 0; i < live.size(); ++i) EXPECT_EQ(place(live[i].block.get()), fixed[i]);
    // Named, they move, except the dedicated and the linear block.
    const Memory dedicated_memory = dedicated.block->memory();
    const std::uint64_t linear_offset = linear.block->offset();
    const Memory linear_memory = linear.block->memory();
    const Block* dedicated_ptr = dedicated.block.get();
    const Block* linear_ptr = linear.block.get();
    EXPECT_GT(defragment({}).moves, 0u);
    EXPECT_EQ(dedicated_ptr->memory(), dedicated_memory);
    EXPECT_EQ(linear_ptr->memory(), linear_memory);
    EXPECT_EQ(linear_ptr->offset(), linear_offset);
    expect_data_intact();
}

TEST_F(Fixture, BuddyAndSlabChunksDefragment) {
    for (const StrategyPolicy policy : {StrategyPolicy::buddy, StrategyPolicy::slab}) {
        SCOPED_TRACE(static_cast<int>(policy));
        config.policy = policy;
        config.slab_max_size = 4096;
        config.slab_page_size = 64 * KiB;
        make();
        std::mt19937 rng(21);
        for (int i = 0; i < 3000; ++i) add(buffer(policy == StrategyPolicy::slab ? 64 + rng() % 4000 : 256 + rng() % (32 * KiB), coherent, 64));
        for (int i = 0; i < 2000; ++i) free_at(rng() % live.size());
        allocator->cleanup(device);
        const TotalCounters before = allocator->totals();
        const DefragmentationStats stats = defragment({});
        EXPECT_GT(stats.moves, 0u);
        EXPECT_LT(allocator->totals().device_objects, before.device_objects);
        expect_data_intact();
        expect_no_overlap();
        TearDown();
        live.clear();
        allocator.reset();
    }
}

TEST_F(Fixture, BlockGivenBackDuringAPassCountsAsVetoed) {
    make();
    churn(23, 800, coherent);
    auto blocks = pointers();
    Defrag defrag(*allocator, blocks);
    auto moves = defrag.begin_pass(device);
    ASSERT_GE(moves.size(), 2u);
    Block* gone = &moves[0].block();
    for (std::size_t i = 1; i < moves.size(); ++i) ASSERT_TRUE(moves[i].copy_on_host(device));
    allocator->deallocate(device, std::move(*gone));
    defrag.end_pass(device);
    EXPECT_EQ(defrag.stats().moves_vetoed, 1u);
    EXPECT_EQ(defrag.stats().moves, moves.size() - 1);
    EXPECT_FALSE(gone->holds_memory());  // stays in `live` (the defragmentation holds its address)
    expect_data_intact();
    // Later passes skip the empty block.
    while (!defrag.begin_pass(device).empty()) {
        for (auto& m : defrag.begin_pass(device)) ASSERT_TRUE(m.copy_on_host(device));
        defrag.end_pass(device);
    }
    expect_data_intact();
    expect_no_overlap();
}

TEST_F(Fixture, TrackedSnapshotFollowsTheMoves) {
    config.track_blocks = true;
    make();
    churn(29, 800, coherent);
    defragment({});
    const AllocatorSnapshot snap = allocator->snapshot();
    std::size_t tracked = 0;
    for (const ChunkSnapshot& c : snap.chunks) tracked += c.blocks.size();
    EXPECT_EQ(tracked, live.size());
    EXPECT_EQ(allocator->totals().block_count, live.size());
}

// The adversarial workload (docs/defragmentation.md): fill with small blocks,
// free every other, allocate larger ones, repeat. Defragmentation must bring the overhead
// (reserved - requested) within 10% of the live bytes with fewer device objects.
TEST_F(Fixture, AdversarialWorkloadOverheadWithinTenPercent) {
    make();
    std::uint64_t small = 16 * KiB;
    for (int round = 0; round < 4; ++round) {
        const std::size_t first = live.size();
        for (int i = 0; i < 512; ++i) add(buffer(small, device_local), false);
        for (std::size_t i = live.size(); i-- > first;)
            if ((i - first) % 2 == 1) free_at(i);
        small *= 2;
    }
    allocator->cleanup(device);
    const TotalCounters before = allocator->totals();
    const double overhead_before =
        static_cast<double>(before.reserved_bytes - before.requested_bytes) / static_cast<double>(before.requested_bytes);
    DefragmentationOptions o;
    o.max_bytes_per_pass = 16 * MiB;
    const DefragmentationStats stats = defragment(o);
    const TotalCounters after = allocator->totals();
    const double overhead_after =
        static_cast<double>(after.reserved_bytes - after.requested_bytes) / static_cast<double>(after.requested_bytes);
    std::printf("adversarial: objects %llu -> %llu, overhead %.3f -> %.3f of %llu live bytes, %llu moves in %llu passes\n",
                static_cast<unsigned long long>(before.device_objects), static_cast<unsigned long long>(after.device_objects),
                overhead_before, overhead_after, static_cast<unsigned long long>(after.requested_bytes),
                static_cast<unsigned long long>(stats.moves), static_cast<unsigned long long>(stats.passes));
    EXPECT_GT(overhead_before, 0.5);
    EXPECT_LE(overhead_after, 0.10);
    EXPECT_LT(after.device_objects, before.device_objects);
    expect_no_overlap();
}
