// Tests of BuddyAllocator: each behaviour and error of buddy.hpp, then a
// fixed-seed randomized stress test against a reference model of live ranges
// that checks the allocator (and validate()) after every step.
#include <gpu_alloc/buddy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using gpu_alloc::BuddyAllocator;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

BuddyAllocator make(std::uint64_t capacity, std::uint64_t min_block = 256) {
    auto buddy = BuddyAllocator::create(capacity, min_block);
    EXPECT_TRUE(buddy.has_value());
    return std::move(buddy).value();
}

SubAllocation must_allocate(BuddyAllocator& buddy, std::uint64_t size, std::uint64_t alignment) {
    auto a = buddy.allocate(size, alignment);
    EXPECT_TRUE(a.has_value()) << "size " << size << " alignment " << alignment;
    return a.value_or(SubAllocation{});
}

TEST(BuddyCreate, RejectsBadArguments) {
    auto zero_block = BuddyAllocator::create(1 * MiB, 0);
    ASSERT_FALSE(zero_block.has_value());
    EXPECT_EQ(zero_block.error(), SubAllocationError::invalid_alignment);

    auto odd_block = BuddyAllocator::create(1 * MiB, 384);
    ASSERT_FALSE(odd_block.has_value());
    EXPECT_EQ(odd_block.error(), SubAllocationError::invalid_alignment);

    auto too_small = BuddyAllocator::create(255, 256);
    ASSERT_FALSE(too_small.has_value());
    EXPECT_EQ(too_small.error(), SubAllocationError::invalid_size);

    auto zero_capacity = BuddyAllocator::create(0, 256);
    ASSERT_FALSE(zero_capacity.has_value());
    EXPECT_EQ(zero_capacity.error(), SubAllocationError::invalid_size);
}

TEST(BuddyCreate, PowerOfTwoCapacity) {
    BuddyAllocator buddy = make(1 * MiB, 256);
    EXPECT_EQ(buddy.capacity(), 1 * MiB);
    EXPECT_EQ(buddy.min_block_size(), 256u);
    EXPECT_EQ(buddy.max_block_size(), 1 * MiB);
    EXPECT_TRUE(buddy.empty());
    const auto s = buddy.stats();
    EXPECT_EQ(s.capacity, 1 * MiB);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.requested_bytes, 0u);
    EXPECT_EQ(s.allocation_count, 0u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 1 * MiB);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyCreate, CapacityEqualToMinBlock) {
    BuddyAllocator buddy = make(256, 256);
    auto a = must_allocate(buddy, 256, 256);
    EXPECT_EQ(a.offset, 0u);
    EXPECT_EQ(buddy.allocate(1, 1).error(), SubAllocationError::out_of_space);
    buddy.free(a);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyCreate, NonPowerOfTwoCapacityUsesEveryMinBlock) {
    // 3 MiB + 4 KiB + 100 B with 1 KiB blocks: roots of 2 MiB, 1 MiB and 4 KiB;
    // the trailing 100 B are not managed.
    BuddyAllocator buddy = make(3 * MiB + 4 * KiB + 100, 1 * KiB);
    EXPECT_EQ(buddy.capacity(), 3 * MiB + 4 * KiB);
    EXPECT_EQ(buddy.max_block_size(), 2 * MiB);
    EXPECT_EQ(buddy.stats().free_range_count, 3u);
    EXPECT_EQ(buddy.stats().largest_free_range, 2 * MiB);
    EXPECT_TRUE(buddy.validate());

    EXPECT_EQ(buddy.allocate(2 * MiB + 1, 1).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(buddy.allocate(1, 4 * MiB).error(), SubAllocationError::invalid_alignment);

    auto big = must_allocate(buddy, 2 * MiB, 1);
    auto mid = must_allocate(buddy, 1 * MiB, 1 * MiB);
    auto small = must_allocate(buddy, 4 * KiB, 4 * KiB);
    EXPECT_EQ(big.offset, 0u);
    EXPECT_EQ(mid.offset, 2 * MiB);
    EXPECT_EQ(small.offset, 3 * MiB);
    EXPECT_EQ(buddy.stats().used_bytes, buddy.capacity());
    EXPECT_EQ(buddy.allocate(1, 1).error(), SubAllocationError::out_of_space);
    EXPECT_TRUE(buddy.validate());

    buddy.free(mid);
    buddy.free(small);
    buddy.free(big);
    // Roots never merge with each other.
    EXPECT_EQ(buddy.stats().free_range_count, 3u);
    EXPECT_TRUE(buddy.empty());
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyCreate, HugeCapacityIsCheap) {
    // 2^50 bytes with 256 B blocks: 2^42 leaves. Only the blocks that exist cost memory.
    BuddyAllocator buddy = make(std::uint64_t{1} << 50, 256);
    std::vector<SubAllocation> live;
    for (int i = 0; i < 1000; ++i) live.push_back(must_allocate(buddy, 256, 1));
    EXPECT_EQ(buddy.stats().used_bytes, 1000u * 256u);
    EXPECT_TRUE(buddy.validate());
    for (const auto& a : live) buddy.free(a);
    EXPECT_EQ(buddy.stats().largest_free_range, std::uint64_t{1} << 50);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, ReservedIsThePowerOfTwoBlock) {
    BuddyAllocator buddy = make(1 * MiB, 256);
    auto tiny = must_allocate(buddy, 1, 1);
    EXPECT_EQ(tiny.size, 1u);
    EXPECT_EQ(tiny.reserved, 256u);
    auto odd = must_allocate(buddy, 1000, 1);
    EXPECT_EQ(odd.reserved, 1024u);
    auto exact = must_allocate(buddy, 4096, 16);
    EXPECT_EQ(exact.reserved, 4096u);
    auto over = must_allocate(buddy, 4097, 16);
    EXPECT_EQ(over.reserved, 8192u);
    auto aligned = must_allocate(buddy, 10, 64 * KiB);
    EXPECT_EQ(aligned.reserved, 64 * KiB);
    EXPECT_EQ(aligned.offset % (64 * KiB), 0u);

    const auto s = buddy.stats();
    EXPECT_EQ(s.allocation_count, 5u);
    EXPECT_EQ(s.requested_bytes, 1u + 1000u + 4096u + 4097u + 10u);
    EXPECT_EQ(s.used_bytes, 256u + 1024u + 4096u + 8192u + 64 * KiB);
    for (const auto& a : {tiny, odd, exact, over, aligned}) EXPECT_EQ(a.offset % a.reserved, 0u);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, Errors) {
    BuddyAllocator buddy = make(1 * MiB, 256);
    EXPECT_EQ(buddy.allocate(0, 1).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(buddy.allocate(1 * MiB + 1, 1).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(buddy.allocate(~std::uint64_t{0}, 1).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(buddy.allocate(16, 0).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(buddy.allocate(16, 3).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(buddy.allocate(16, 768).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(buddy.allocate(16, 2 * MiB).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(buddy.allocate(16, std::uint64_t{1} << 63).error(), SubAllocationError::invalid_alignment);
    // Errors change nothing.
    EXPECT_TRUE(buddy.empty());
    EXPECT_EQ(buddy.stats().free_range_count, 1u);
    EXPECT_TRUE(buddy.validate());

    // The whole range, aligned to it, is fine; then it is full.
    auto all = must_allocate(buddy, 1 * MiB, 1 * MiB);
    EXPECT_EQ(all.offset, 0u);
    EXPECT_EQ(buddy.allocate(1, 1).error(), SubAllocationError::out_of_space);
    EXPECT_EQ(buddy.stats().largest_free_range, 0u);
    EXPECT_EQ(buddy.stats().free_range_count, 0u);
    buddy.free(all);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, SplitsAndMergesBuddies) {
    BuddyAllocator buddy = make(1024, 256);
    std::vector<SubAllocation> quarters;
    std::set<std::uint64_t> offsets;
    for (int i = 0; i < 4; ++i) {
        quarters.push_back(must_allocate(buddy, 256, 1));
        offsets.insert(quarters.back().offset);
        EXPECT_TRUE(buddy.validate());
    }
    EXPECT_EQ(offsets, (std::set<std::uint64_t>{0, 256, 512, 768}));
    EXPECT_EQ(buddy.allocate(1, 1).error(), SubAllocationError::out_of_space);

    auto at = [&](std::uint64_t offset) {
        return *std::find_if(quarters.begin(), quarters.end(),
                             [&](const SubAllocation& a) { return a.offset == offset; });
    };
    // 0 and 512 are not buddies: two free blocks.
    buddy.free(at(0));
    buddy.free(at(512));
    EXPECT_EQ(buddy.stats().free_range_count, 2u);
    EXPECT_EQ(buddy.stats().largest_free_range, 256u);
    EXPECT_EQ(buddy.allocate(512, 1).error(), SubAllocationError::out_of_space);
    EXPECT_TRUE(buddy.validate());
    // 256 is the buddy of 0: they merge into [0, 512).
    buddy.free(at(256));
    EXPECT_EQ(buddy.stats().free_range_count, 2u);
    EXPECT_EQ(buddy.stats().largest_free_range, 512u);
    EXPECT_TRUE(buddy.validate());
    auto half = must_allocate(buddy, 300, 1);
    EXPECT_EQ(half.offset, 0u);
    EXPECT_EQ(half.reserved, 512u);
    buddy.free(half);
    // 768 merges with 512, then [512, 1024) with [0, 512).
    buddy.free(at(768));
    EXPECT_TRUE(buddy.empty());
    EXPECT_EQ(buddy.stats().free_range_count, 1u);
    EXPECT_EQ(buddy.stats().largest_free_range, 1024u);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, MinBlockSizeOtherThanDefault) {
    BuddyAllocator buddy = make(64 * KiB, 16);
    auto a = must_allocate(buddy, 1, 1);
    EXPECT_EQ(a.reserved, 16u);
    auto b = must_allocate(buddy, 17, 1);
    EXPECT_EQ(b.reserved, 32u);
    buddy.free(a);
    buddy.free(b);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, FillsExactlyWithMinBlocks) {
    BuddyAllocator buddy = make(64 * KiB, 256);
    std::vector<SubAllocation> live;
    std::set<std::uint64_t> offsets;
    for (int i = 0; i < 256; ++i) {
        live.push_back(must_allocate(buddy, 200, 8));
        offsets.insert(live.back().offset);
    }
    EXPECT_EQ(offsets.size(), 256u);
    EXPECT_EQ(*offsets.rbegin(), 64 * KiB - 256);
    EXPECT_EQ(buddy.allocate(1, 1).error(), SubAllocationError::out_of_space);
    EXPECT_EQ(buddy.stats().used_bytes, 64 * KiB);
    EXPECT_EQ(buddy.stats().requested_bytes, 256u * 200u);
    EXPECT_TRUE(buddy.validate());
    for (std::size_t i = 0; i < live.size(); i += 2) buddy.free(live[i]);
    EXPECT_TRUE(buddy.validate());
    for (std::size_t i = 1; i < live.size(); i += 2) buddy.free(live[i]);
    EXPECT_EQ(buddy.stats().free_range_count, 1u);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, ReusesFreedPairs) {
    // Repeated split/merge cycles recycle node storage: validate() would fail on a leak.
    BuddyAllocator buddy = make(1 * GiB, 256);
    for (int round = 0; round < 100; ++round) {
        auto a = must_allocate(buddy, 256, 1);
        auto b = must_allocate(buddy, 1 * MiB, 1);
        buddy.free(a);
        buddy.free(b);
    }
    EXPECT_TRUE(buddy.empty());
    EXPECT_EQ(buddy.stats().largest_free_range, 1 * GiB);
    EXPECT_TRUE(buddy.validate());
}

TEST(BuddyAllocate, CopyIsIndependent) {
    BuddyAllocator buddy = make(1 * MiB, 256);
    auto a = must_allocate(buddy, 1000, 1);
    BuddyAllocator copy = buddy;
    copy.free(a);
    EXPECT_TRUE(copy.empty());
    EXPECT_FALSE(buddy.empty());
    EXPECT_TRUE(copy.validate());
    EXPECT_TRUE(buddy.validate());
}

#if !defined(NDEBUG) && GTEST_HAS_DEATH_TEST
TEST(BuddyMisuseDeathTest, DoubleFreeAsserts) {
    BuddyAllocator buddy = make(1 * MiB, 256);
    auto a = must_allocate(buddy, 1000, 1);
    auto keep = must_allocate(buddy, 1000, 1);
    buddy.free(a);
    EXPECT_DEATH(buddy.free(a), "double free");
    SubAllocation foreign = keep;
    foreign.metadata = 1'000'000;
    EXPECT_DEATH(buddy.free(foreign), "not an allocation");
    EXPECT_DEATH(BuddyAllocator(1000, 300), "power of two");
}
#endif

#ifdef NDEBUG
TEST(BuddyMisuse, DetectedMisuseIsIgnoredInRelease) {
    BuddyAllocator buddy = make(1 * MiB, 256);
    auto a = must_allocate(buddy, 1000, 1);
    auto keep = must_allocate(buddy, 1000, 1);
    buddy.free(a);
    buddy.free(a);  // double free: ignored
    SubAllocation foreign = keep;
    foreign.metadata = 1'000'000;
    buddy.free(foreign);  // out-of-range node: ignored
    EXPECT_EQ(buddy.stats().allocation_count, 1u);
    EXPECT_TRUE(buddy.validate());

    BuddyAllocator invalid(1000, 300);  // bad arguments: capacity 0, refuses everything
    EXPECT_EQ(invalid.capacity(), 0u);
    EXPECT_FALSE(invalid.allocate(1, 1).has_value());
    EXPECT_TRUE(invalid.validate());
}
#endif

// --- Randomized stress test against a reference model -----------------------

struct StressConfig {
    std::uint64_t capacity;
    std::uint64_t min_block;
    std::uint64_t max_size;
    unsigned max_alignment_log2;  // alignments up to 2^this (beyond capacity to hit errors)
    std::size_t target_live;      // allocate-vs-free bias around this live count
    int steps;
    std::uint64_t seed;
};

void PrintTo(const StressConfig& c, std::ostream* os) {
    *os << "capacity " << c.capacity << ", min block " << c.min_block << ", sizes 1.." << c.max_size << ", seed "
        << c.seed;
}

class BuddyStress : public ::testing::TestWithParam<StressConfig> {};

TEST_P(BuddyStress, MatchesReferenceModel) {
    const StressConfig config = GetParam();
    BuddyAllocator buddy = make(config.capacity, config.min_block);
    const std::uint64_t capacity = buddy.capacity();
    const std::uint64_t max_block = buddy.max_block_size();
    std::mt19937_64 rng(config.seed);

    std::map<std::uint64_t, std::uint64_t> model;  // offset -> end of live ranges
    std::vector<SubAllocation> live;
    std::uint64_t model_requested = 0;
    std::uint64_t model_used = 0;
    int successes = 0;
    int out_of_space = 0;

    auto random_size = [&] {
        // Log-uniform in [1, max_size].
        const double log_max = std::log2(static_cast<double>(config.max_size));
        const double x = std::exp2(std::uniform_real_distribution<double>(0.0, log_max)(rng));
        return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(x), 1, config.max_size);
    };
    auto random_alignment = [&] {
        const unsigned roll = static_cast<unsigned>(rng() % 100);
        if (roll < 40) return std::uint64_t{1};
        if (roll < 97) return std::uint64_t{1} << (rng() % 17);  // 1 .. 64 KiB
        return std::uint64_t{1} << (rng() % (config.max_alignment_log2 + 1));
    };

    for (int step = 0; step < config.steps; ++step) {
        const bool do_allocate = live.empty() || (rng() % 1000) < (live.size() < config.target_live ? 650u : 350u);
        if (do_allocate) {
            const std::uint64_t size = random_size();
            const std::uint64_t alignment = random_alignment();
            const std::uint64_t largest_before = buddy.stats().largest_free_range;
            auto result = buddy.allocate(size, alignment);
            if (alignment > capacity || alignment > max_block) {
                ASSERT_FALSE(result.has_value());
                ASSERT_EQ(result.error(), SubAllocationError::invalid_alignment);
            } else if (size > max_block) {
                ASSERT_FALSE(result.has_value());
                ASSERT_EQ(result.error(), SubAllocationError::invalid_size);
            } else {
                const std::uint64_t block = std::bit_ceil(std::max({size, alignment, config.min_block}));
                if (largest_before < block) {
                    ASSERT_FALSE(result.has_value());
                    ASSERT_EQ(result.error(), SubAllocationError::out_of_space);
                    ++out_of_space;
                } else {
                    ASSERT_TRUE(result.has_value()) << "step " << step;
                    const SubAllocation a = *result;
                    ASSERT_EQ(a.size, size);
                    ASSERT_EQ(a.reserved, block);
                    ASSERT_EQ(a.offset % alignment, 0u);
                    ASSERT_EQ(a.offset % block, 0u);
                    ASSERT_LE(a.offset, capacity - a.reserved);
                    // No overlap of the reserved block with any live block.
                    auto next = model.lower_bound(a.offset);
                    if (next != model.end()) {
                        ASSERT_GE(next->first, a.offset + a.reserved) << "step " << step;
                    }
                    if (next != model.begin()) {
                        ASSERT_LE(std::prev(next)->second, a.offset) << "step " << step;
                    }
                    model.emplace(a.offset, a.offset + a.reserved);
                    live.push_back(a);
                    model_requested += size;
                    model_used += block;
                    ++successes;
                }
            }
        } else {
            const std::size_t victim = rng() % live.size();
            const SubAllocation a = live[victim];
            live[victim] = live.back();
            live.pop_back();
            buddy.free(a);
            ASSERT_EQ(model.erase(a.offset), 1u);
            model_requested -= a.size;
            model_used -= a.reserved;
        }
        const auto s = buddy.stats();
        ASSERT_EQ(s.allocation_count, model.size()) << "step " << step;
        ASSERT_EQ(s.requested_bytes, model_requested) << "step " << step;
        ASSERT_EQ(s.used_bytes, model_used) << "step " << step;
        ASSERT_LE(s.largest_free_range, capacity - s.used_bytes);
        ASSERT_TRUE(buddy.validate()) << "step " << step;
    }
    // The run exercised both outcomes.
    EXPECT_GT(successes, config.steps / 4);
    EXPECT_GT(out_of_space, 0);

    // Free everything in random order: back to the initial state.
    std::shuffle(live.begin(), live.end(), rng);
    for (const auto& a : live) {
        buddy.free(a);
        ASSERT_TRUE(buddy.validate());
    }
    EXPECT_TRUE(buddy.empty());
    const auto s = buddy.stats();
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.requested_bytes, 0u);
    EXPECT_EQ(s.free_range_count, static_cast<std::uint64_t>(std::popcount(capacity / config.min_block)));
    EXPECT_EQ(s.largest_free_range, max_block);
    if (std::has_single_bit(capacity)) {
        EXPECT_EQ(s.free_range_count, 1u);
        EXPECT_EQ(s.largest_free_range, capacity);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, BuddyStress,
    ::testing::Values(
        // Mixed sizes 1 B .. capacity / 8, few live blocks, many refusals.
        StressConfig{64 * MiB, 256, 8 * MiB, 28, 64, 20000, 1},
        // Small sizes, hundreds live, deep trees.
        StressConfig{16 * MiB, 256, 4 * KiB, 26, 250, 10000, 2},
        // Non-power-of-two capacity: several roots; tiny min block.
        StressConfig{3 * MiB + 5 * 4 * KiB + 17, 16, 384 * KiB, 23, 100, 20000, 3},
        // Large range (64 GiB) with 256 B blocks.
        StressConfig{64 * GiB, 256, 8 * GiB, 40, 200, 10000, 4}),
    [](const ::testing::TestParamInfo<StressConfig>& param_info) { return "seed" + std::to_string(param_info.param.seed); });

}  // namespace
