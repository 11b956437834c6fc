// Tests of LinearAllocator: bumping, padding, reset when the last allocation is
// freed, LIFO roll-back, every error, and a fixed-seed randomized stress test
// against a reference model that checks the allocator after every step.
#include <gpu_alloc/linear.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace {

using gpu_alloc::LinearAllocator;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;

SubAllocation must_allocate(LinearAllocator& linear, std::uint64_t size, std::uint64_t alignment) {
    auto a = linear.allocate(size, alignment);
    EXPECT_TRUE(a.has_value()) << "size " << size << " alignment " << alignment;
    return a.value_or(SubAllocation{});
}

TEST(Linear, StartsEmpty) {
    LinearAllocator linear(4096);
    EXPECT_EQ(linear.capacity(), 4096u);
    EXPECT_TRUE(linear.empty());
    EXPECT_EQ(linear.position(), 0u);
    const auto s = linear.stats();
    EXPECT_EQ(s.capacity, 4096u);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 4096u);
    EXPECT_TRUE(linear.validate());
}

TEST(Linear, BumpsWithPadding) {
    LinearAllocator linear(4096);
    auto a = must_allocate(linear, 10, 1);
    EXPECT_EQ(a.offset, 0u);
    EXPECT_EQ(a.reserved, 10u);
    auto b = must_allocate(linear, 100, 64);
    EXPECT_EQ(b.offset, 64u);
    EXPECT_EQ(b.size, 100u);
    EXPECT_EQ(b.reserved, 54u + 100u);  // padding from 10 to 64, then the size
    auto c = must_allocate(linear, 1, 1);
    EXPECT_EQ(c.offset, 164u);
    EXPECT_EQ(linear.position(), 165u);

    const auto s = linear.stats();
    EXPECT_EQ(s.allocation_count, 3u);
    EXPECT_EQ(s.requested_bytes, 111u);
    EXPECT_EQ(s.used_bytes, 165u);
    EXPECT_EQ(s.largest_free_range, 4096u - 165u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_TRUE(linear.validate());
}

TEST(Linear, Errors) {
    LinearAllocator linear(4096);
    EXPECT_EQ(linear.allocate(0, 1).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(linear.allocate(4097, 1).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(linear.allocate(1, 0).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(linear.allocate(1, 12).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(linear.allocate(1, 8192).error(), SubAllocationError::invalid_alignment);
    EXPECT_TRUE(linear.empty());
    EXPECT_EQ(linear.position(), 0u);

    auto a = must_allocate(linear, 4000, 1);
    EXPECT_EQ(linear.allocate(97, 1).error(), SubAllocationError::out_of_space);
    // 96 bytes fit unaligned, but not at a 64-byte boundary (4032 + 96 > 4096).
    EXPECT_EQ(linear.allocate(96, 64).error(), SubAllocationError::out_of_space);
    EXPECT_EQ(linear.allocate(1, 4096).error(), SubAllocationError::out_of_space);
    auto rest = must_allocate(linear, 96, 1);
    EXPECT_EQ(rest.offset, 4000u);
    EXPECT_EQ(linear.stats().largest_free_range, 0u);
    EXPECT_EQ(linear.stats().free_range_count, 0u);
    EXPECT_EQ(linear.allocate(1, 1).error(), SubAllocationError::out_of_space);
    linear.free(a);
    linear.free(rest);
    EXPECT_TRUE(linear.validate());

    LinearAllocator zero(0);
    EXPECT_EQ(zero.allocate(1, 1).error(), SubAllocationError::invalid_size);
    EXPECT_TRUE(zero.validate());
}

TEST(Linear, ResetsWhenLastAllocationIsFreedInAnyOrder) {
    LinearAllocator linear(1 << 20);
    std::vector<SubAllocation> frame;
    for (int i = 0; i < 100; ++i) frame.push_back(must_allocate(linear, 1000 + i, 256));
    std::mt19937_64 rng(7);
    std::shuffle(frame.begin(), frame.end(), rng);
    for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
        linear.free(frame[i]);
        EXPECT_GT(linear.position(), 0u);
        EXPECT_TRUE(linear.validate());
    }
    linear.free(frame.back());
    EXPECT_TRUE(linear.empty());
    EXPECT_EQ(linear.position(), 0u);
    EXPECT_EQ(linear.stats().largest_free_range, std::uint64_t{1} << 20);
    EXPECT_TRUE(linear.validate());
    EXPECT_EQ(must_allocate(linear, 8, 8).offset, 0u);
}

TEST(Linear, RollsBackTheMostRecentAllocation) {
    LinearAllocator linear(4096);
    auto a = must_allocate(linear, 10, 1);
    auto b = must_allocate(linear, 20, 256);  // padding 246
    EXPECT_EQ(linear.position(), 276u);
    linear.free(b);
    EXPECT_EQ(linear.position(), 10u);  // back to before b's padding
    auto c = must_allocate(linear, 5, 1);
    EXPECT_EQ(c.offset, 10u);
    linear.free(c);
    EXPECT_EQ(linear.position(), 10u);
    EXPECT_TRUE(linear.validate());
    linear.free(a);
    EXPECT_EQ(linear.position(), 0u);
}

TEST(Linear, OutOfOrderFreeLeavesAHoleUntilReset) {
    LinearAllocator linear(4096);
    auto a = must_allocate(linear, 100, 1);
    auto b = must_allocate(linear, 100, 1);
    auto c = must_allocate(linear, 100, 1);
    linear.free(b);  // in the middle: nothing moves
    EXPECT_EQ(linear.position(), 300u);
    EXPECT_EQ(linear.stats().used_bytes, 300u);
    EXPECT_EQ(linear.stats().requested_bytes, 200u);
    linear.free(c);  // the newest: back to c's start (b's hole stays)
    EXPECT_EQ(linear.position(), 200u);
    auto d = must_allocate(linear, 50, 1);
    EXPECT_EQ(d.offset, 200u);
    EXPECT_TRUE(linear.validate());
    linear.free(a);
    linear.free(d);
    EXPECT_EQ(linear.position(), 0u);
    EXPECT_TRUE(linear.validate());
}

TEST(Linear, ExplicitReset) {
    LinearAllocator linear(4096);
    (void)must_allocate(linear, 100, 1);
    (void)must_allocate(linear, 100, 16);
    linear.reset();
    EXPECT_TRUE(linear.empty());
    EXPECT_EQ(linear.position(), 0u);
    EXPECT_EQ(linear.stats().requested_bytes, 0u);
    EXPECT_TRUE(linear.validate());
}

TEST(Linear, HugeCapacityDoesNotOverflow) {
    const std::uint64_t max = ~std::uint64_t{0};
    LinearAllocator linear(max);
    auto a = must_allocate(linear, 1, 1);
    auto b = must_allocate(linear, std::uint64_t{1} << 62, std::uint64_t{1} << 62);
    EXPECT_EQ(b.offset, std::uint64_t{1} << 62);
    // The next 2^63 boundary is 2^63; 2^63 bytes from there would pass 2^64 - 1.
    EXPECT_EQ(linear.allocate(std::uint64_t{1} << 63, std::uint64_t{1} << 63).error(),
              SubAllocationError::out_of_space);
    auto c = must_allocate(linear, (std::uint64_t{1} << 63) - 1, std::uint64_t{1} << 63);
    EXPECT_EQ(c.offset, std::uint64_t{1} << 63);
    EXPECT_EQ(linear.position(), max);
    EXPECT_EQ(linear.allocate(1, 1).error(), SubAllocationError::out_of_space);
    EXPECT_TRUE(linear.validate());
    linear.free(c);
    linear.free(b);
    linear.free(a);
    EXPECT_EQ(linear.position(), 0u);
}

#if !defined(NDEBUG) && GTEST_HAS_DEATH_TEST
TEST(LinearMisuseDeathTest, FreeWithNothingLiveAsserts) {
    LinearAllocator linear(4096);
    auto a = must_allocate(linear, 100, 1);
    linear.free(a);
    EXPECT_DEATH(linear.free(a), "double free");
}
#endif

#ifdef NDEBUG
TEST(LinearMisuse, DetectedMisuseIsIgnoredInRelease) {
    LinearAllocator linear(4096);
    auto a = must_allocate(linear, 100, 1);
    linear.free(a);
    linear.free(a);  // nothing live: ignored
    EXPECT_TRUE(linear.empty());
    EXPECT_TRUE(linear.validate());
}
#endif

TEST(LinearStress, MatchesReferenceModel) {
    constexpr std::uint64_t capacity = 1 << 24;
    LinearAllocator linear(capacity);
    std::mt19937_64 rng(42);
    std::map<std::uint64_t, std::uint64_t> model;  // offset -> end of live ranges
    std::vector<SubAllocation> live;               // in allocation order
    std::uint64_t model_requested = 0;
    std::uint64_t model_position = 0;
    int successes = 0;
    int out_of_space = 0;
    int resets = 0;
    bool draining = false;  // end of a "frame": free everything, in random order

    for (int step = 0; step < 50000; ++step) {
        if (live.empty()) draining = false;
        else if (rng() % 500 == 0) draining = true;
        const bool do_allocate = !draining && (live.empty() || rng() % 100 < (live.size() < 32 ? 60u : 40u));
        if (do_allocate) {
            const unsigned kind = static_cast<unsigned>(rng() % 10);
            const std::uint64_t size = kind < 7 ? 1 + rng() % 4096 : 1 + rng() % (capacity / 8);
            const unsigned align_roll = static_cast<unsigned>(rng() % 100);
            const std::uint64_t alignment = align_roll < 95 ? std::uint64_t{1} << (rng() % 17)
                                                            : std::uint64_t{1} << (rng() % 27);
            auto result = linear.allocate(size, alignment);
            if (alignment > capacity) {
                ASSERT_EQ(result.error(), SubAllocationError::invalid_alignment);
                continue;
            }
            const std::uint64_t expected_offset = (model_position + alignment - 1) / alignment * alignment;
            if (expected_offset + size > capacity) {
                ASSERT_FALSE(result.has_value());
                ASSERT_EQ(result.error(), SubAllocationError::out_of_space);
                ++out_of_space;
            } else {
                ASSERT_TRUE(result.has_value()) << "step " << step;
                const SubAllocation a = *result;
                ASSERT_EQ(a.offset, expected_offset);
                ASSERT_EQ(a.offset % alignment, 0u);
                ASSERT_EQ(a.reserved, a.offset + size - model_position);
                ASSERT_LE(a.offset + a.size, capacity);
                auto next = model.lower_bound(a.offset);
                if (next != model.end()) {
                    ASSERT_GE(next->first, a.offset + a.size);
                }
                if (next != model.begin()) {
                    ASSERT_LE(std::prev(next)->second, a.offset);
                }
                model.emplace(a.offset, a.offset + a.size);
                live.push_back(a);
                model_requested += size;
                model_position = a.offset + size;
                ++successes;
            }
        } else {
            // Mostly the newest (LIFO), otherwise any.
            const std::size_t victim = rng() % 3 == 0 ? live.size() - 1 : rng() % live.size();
            const SubAllocation a = live[victim];
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
            linear.free(a);
            ASSERT_EQ(model.erase(a.offset), 1u);
            model_requested -= a.size;
            if (model.empty()) {
                model_position = 0;
                ++resets;
            } else if (a.offset + a.size == model_position) {
                model_position = a.offset + a.size - a.reserved;
            }
        }
        const auto s = linear.stats();
        ASSERT_EQ(s.allocation_count, model.size()) << "step " << step;
        ASSERT_EQ(s.requested_bytes, model_requested) << "step " << step;
        ASSERT_EQ(linear.position(), model_position) << "step " << step;
        ASSERT_EQ(s.used_bytes, model_position);
        ASSERT_EQ(s.largest_free_range, capacity - model_position);
        ASSERT_TRUE(linear.validate()) << "step " << step;
    }
    EXPECT_GT(successes, 10000);
    EXPECT_GT(out_of_space, 0);
    EXPECT_GT(resets, 0);

    std::shuffle(live.begin(), live.end(), rng);
    for (const auto& a : live) {
        linear.free(a);
        ASSERT_TRUE(linear.validate());
    }
    EXPECT_TRUE(linear.empty());
    EXPECT_EQ(linear.position(), 0u);
    EXPECT_EQ(linear.stats().largest_free_range, capacity);
    EXPECT_EQ(linear.stats().free_range_count, 1u);
}

}  // namespace
