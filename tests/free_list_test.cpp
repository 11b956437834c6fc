// Tests of FreeListAllocator (TLSF): each behaviour and error value on its
// own, then fixed-seed randomized stress against a reference model (a map of
// live [offset, end) ranges) with validate() and the stats checked after every
// step, and the out_of_space guarantee checked against the model's free gaps.
#include <gpu_alloc/free_list.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace gpu_alloc {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

SubAllocation must_allocate(FreeListAllocator& heap, std::uint64_t size, std::uint64_t alignment) {
    auto result = heap.allocate(size, alignment);
    EXPECT_TRUE(result.has_value()) << "size " << size << " alignment " << alignment;
    return result.value_or(SubAllocation{});
}

// ---------------------------------------------------------------- basics

TEST(FreeList, NewAllocatorIsOneFreeRange) {
    FreeListAllocator heap(1 * MiB);
    EXPECT_EQ(heap.capacity(), 1 * MiB);
    EXPECT_TRUE(heap.empty());
    const SubAllocatorStats s = heap.stats();
    EXPECT_EQ(s.capacity, 1 * MiB);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.requested_bytes, 0u);
    EXPECT_EQ(s.allocation_count, 0u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 1 * MiB);
    EXPECT_TRUE(heap.validate());
}

TEST(FreeList, CreateRejectsZeroCapacity) {
    auto bad = FreeListAllocator::create(0);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error(), SubAllocationError::invalid_size);
    auto good = FreeListAllocator::create(4096);
    ASSERT_TRUE(good.has_value());
    EXPECT_EQ(good->capacity(), 4096u);
    EXPECT_TRUE(good->validate());
}

TEST(FreeList, AllocationIsExactAndCounted) {
    FreeListAllocator heap(1 * MiB);
    const SubAllocation a = must_allocate(heap, 100, 1);
    EXPECT_EQ(a.offset, 0u);
    EXPECT_EQ(a.size, 100u);
    EXPECT_EQ(a.reserved, 100u);
    const SubAllocatorStats s = heap.stats();
    EXPECT_EQ(s.used_bytes, 100u);
    EXPECT_EQ(s.requested_bytes, 100u);
    EXPECT_EQ(s.allocation_count, 1u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 1 * MiB - 100);
    EXPECT_FALSE(heap.empty());
    EXPECT_TRUE(heap.validate());
    heap.free(a);
    EXPECT_TRUE(heap.empty());
    EXPECT_EQ(heap.stats().largest_free_range, 1 * MiB);
    EXPECT_TRUE(heap.validate());
}

// ---------------------------------------------------------------- errors

TEST(FreeList, ZeroSizeIsInvalidSize) {
    FreeListAllocator heap(1 * MiB);
    auto r = heap.allocate(0, 16);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::invalid_size);
    EXPECT_TRUE(heap.validate());
}

TEST(FreeList, SizeAboveCapacityIsInvalidSize) {
    FreeListAllocator heap(1 * MiB);
    auto r = heap.allocate(1 * MiB + 1, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::invalid_size);
    auto huge = heap.allocate(~std::uint64_t{0}, 1);
    ASSERT_FALSE(huge.has_value());
    EXPECT_EQ(huge.error(), SubAllocationError::invalid_size);
    EXPECT_TRUE(heap.empty());
}

TEST(FreeList, ZeroAlignmentIsInvalidAlignment) {
    FreeListAllocator heap(1 * MiB);
    auto r = heap.allocate(64, 0);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::invalid_alignment);
}

TEST(FreeList, NonPowerOfTwoAlignmentIsInvalidAlignment) {
    FreeListAllocator heap(1 * MiB);
    for (std::uint64_t alignment : {3ull, 6ull, 12ull, 100ull, 65535ull, (1ull << 63) + 1, ~0ull}) {
        auto r = heap.allocate(64, alignment);
        ASSERT_FALSE(r.has_value()) << alignment;
        EXPECT_EQ(r.error(), SubAllocationError::invalid_alignment) << alignment;
    }
    EXPECT_TRUE(heap.empty());
}

TEST(FreeList, FullRangeIsOutOfSpace) {
    FreeListAllocator heap(64 * KiB);
    const SubAllocation all = must_allocate(heap, 64 * KiB, 1);
    EXPECT_EQ(all.offset, 0u);
    EXPECT_EQ(heap.stats().free_range_count, 0u);
    EXPECT_EQ(heap.stats().largest_free_range, 0u);
    auto r = heap.allocate(1, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::out_of_space);
    EXPECT_TRUE(heap.validate());
    heap.free(all);
    EXPECT_TRUE(heap.allocate(1, 1).has_value());
}

TEST(FreeList, AlignmentPaddingThatDoesNotFitIsOutOfSpace) {
    FreeListAllocator heap(4096);
    const SubAllocation a = must_allocate(heap, 1, 1);  // [0, 1)
    // 4095 free bytes at offset 1: 2048 bytes aligned to 4096 cannot fit, 2048 aligned to 2048 can.
    auto r = heap.allocate(2048, 4096);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::out_of_space);
    const SubAllocation b = must_allocate(heap, 2048, 2048);
    EXPECT_EQ(b.offset, 2048u);
    EXPECT_TRUE(heap.validate());
    heap.free(a);
    heap.free(b);
    EXPECT_TRUE(heap.validate());
}

TEST(FreeList, MovedFromAllocatorManagesNothing) {
    FreeListAllocator heap(1 * MiB);
    const SubAllocation a = must_allocate(heap, 1000, 8);
    FreeListAllocator moved(std::move(heap));
    EXPECT_TRUE(moved.validate());
    EXPECT_EQ(moved.stats().allocation_count, 1u);
    EXPECT_EQ(heap.capacity(), 0u);  // NOLINT(bugprone-use-after-move): documented state
    EXPECT_TRUE(heap.validate());
    auto r = heap.allocate(1, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::invalid_size);
    moved.free(a);
    EXPECT_TRUE(moved.empty());
    FreeListAllocator assigned(16);
    assigned = std::move(moved);
    EXPECT_EQ(assigned.capacity(), 1 * MiB);
    EXPECT_TRUE(assigned.validate());
}

#ifndef NDEBUG
TEST(FreeListDeathTest, DoubleFreeAsserts) {
    FreeListAllocator heap(1 * MiB);
    const SubAllocation a = must_allocate(heap, 100, 1);
    must_allocate(heap, 100, 1);
    heap.free(a);
    EXPECT_DEATH(heap.free(a), "not live");
}

TEST(FreeListDeathTest, ForeignAllocationAsserts) {
    FreeListAllocator heap(1 * MiB);
    must_allocate(heap, 100, 1);
    SubAllocation forged{0, 100, 100, 12345};
    EXPECT_DEATH(heap.free(forged), "not from this allocator");
    const SubAllocation b = must_allocate(heap, 100, 1);
    SubAllocation shifted = b;
    shifted.offset += 4;
    EXPECT_DEATH(heap.free(shifted), "does not match");
}
#endif

// ---------------------------------------------------------------- fits and padding

TEST(FreeList, ExactFitReusesHoleWithoutRemainder) {
    FreeListAllocator heap(10000);
    const SubAllocation a = must_allocate(heap, 1000, 1);
    const SubAllocation b = must_allocate(heap, 3000, 1);
    const SubAllocation c = must_allocate(heap, 6000, 1);  // fills the rest
    EXPECT_EQ(heap.stats().free_range_count, 0u);
    heap.free(b);
    EXPECT_EQ(heap.stats().free_range_count, 1u);
    EXPECT_EQ(heap.stats().largest_free_range, 3000u);
    const SubAllocation d = must_allocate(heap, 3000, 1);
    EXPECT_EQ(d.offset, 1000u);
    EXPECT_EQ(heap.stats().free_range_count, 0u);
    EXPECT_TRUE(heap.validate());
    heap.free(a);
    heap.free(c);
    heap.free(d);
    EXPECT_TRUE(heap.empty());
    EXPECT_TRUE(heap.validate());
}

TEST(FreeList, FitInsideOwnBucketIsFoundByFallback) {
    // Holes of 5000 and 5040 bytes share a bucket (width 64 at this size), so
    // the good-fit step (next bucket up) finds nothing; the fallback must.
    FreeListAllocator heap(20000);
    const SubAllocation a = must_allocate(heap, 5000, 1);
    const SubAllocation sep1 = must_allocate(heap, 10, 1);
    const SubAllocation b = must_allocate(heap, 5040, 1);
    const SubAllocation rest = must_allocate(heap, 20000 - 10050, 1);
    heap.free(a);
    heap.free(b);
    const SubAllocation c = must_allocate(heap, 5020, 1);
    EXPECT_EQ(c.offset, 5010u);
    EXPECT_EQ(heap.stats().largest_free_range, 5000u);
    EXPECT_TRUE(heap.validate());
    auto r = heap.allocate(5001, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::out_of_space);
    heap.free(c);
    heap.free(sep1);
    heap.free(rest);
    EXPECT_TRUE(heap.empty());
}

TEST(FreeList, AlignmentPaddingBecomesFreeBlock) {
    FreeListAllocator heap(1 * MiB);
    const SubAllocation a = must_allocate(heap, 1, 1);  // [0, 1)
    const SubAllocation b = must_allocate(heap, 64, 64);
    EXPECT_EQ(b.offset, 64u);
    EXPECT_EQ(b.reserved, 64u);
    SubAllocatorStats s = heap.stats();
    EXPECT_EQ(s.free_range_count, 2u);  // padding [1, 64) and tail [128, 1 MiB)
    EXPECT_EQ(s.used_bytes, 65u);
    EXPECT_EQ(s.largest_free_range, 1 * MiB - 128);
    EXPECT_TRUE(heap.validate());
    // The padding is usable: a 63-byte request lands in it exactly.
    const SubAllocation c = must_allocate(heap, 63, 1);
    EXPECT_EQ(c.offset, 1u);
    s = heap.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_TRUE(heap.validate());
    heap.free(c);
    heap.free(a);
    EXPECT_EQ(heap.stats().free_range_count, 2u);  // [0, 64) and the tail, separated by b
    heap.free(b);
    EXPECT_EQ(heap.stats().free_range_count, 1u);
    EXPECT_TRUE(heap.validate());
}

TEST(FreeList, LargeAlignmentsAreHonoured) {
    FreeListAllocator heap(1ull << 40);
    must_allocate(heap, 3, 1);
    for (std::uint64_t alignment = 1; alignment <= (1ull << 32); alignment <<= 1) {
        const SubAllocation a = must_allocate(heap, 1000, alignment);
        EXPECT_EQ(a.offset % alignment, 0u) << alignment;
        EXPECT_LE(a.offset + a.size, heap.capacity());
    }
    EXPECT_TRUE(heap.validate());
    // An alignment beyond the capacity still fits at offset 0 when it is free.
    FreeListAllocator small(4096);
    const SubAllocation z = must_allocate(small, 10, 1ull << 63);
    EXPECT_EQ(z.offset, 0u);
    auto r = small.allocate(10, 1ull << 63);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SubAllocationError::out_of_space);
}

TEST(FreeList, HugeCapacitiesUseFull64BitOffsets) {
    const std::uint64_t capacity = ~std::uint64_t{0};
    FreeListAllocator heap(capacity);
    const SubAllocation a = must_allocate(heap, 1ull << 62, 1ull << 62);
    const SubAllocation b = must_allocate(heap, 1ull << 62, 1ull << 63);
    EXPECT_EQ(a.offset, 0u);
    EXPECT_EQ(b.offset, 1ull << 63);
    // Free now: the padding [2^62, 2^63) and the tail [2^63 + 2^62, 2^64 - 1).
    EXPECT_EQ(heap.stats().free_range_count, 2u);
    const SubAllocation c = must_allocate(heap, (1ull << 62) - 1, 1);
    EXPECT_EQ(c.offset, 1ull << 62);  // the padding's bucket is the good fit
    EXPECT_TRUE(heap.validate());
    EXPECT_EQ(heap.stats().largest_free_range, (1ull << 62) - 1);
    heap.free(b);
    heap.free(a);
    heap.free(c);
    EXPECT_EQ(heap.stats().largest_free_range, capacity);
    EXPECT_TRUE(heap.validate());
}

// ---------------------------------------------------------------- coalescing

class FreeListCoalesce : public ::testing::Test {
protected:
    FreeListAllocator heap_{4000};
    SubAllocation a_ = must_allocate(heap_, 1000, 1);
    SubAllocation b_ = must_allocate(heap_, 1000, 1);
    SubAllocation c_ = must_allocate(heap_, 1000, 1);
    SubAllocation d_ = must_allocate(heap_, 1000, 1);
};

TEST_F(FreeListCoalesce, WithRightNeighbour) {
    heap_.free(b_);
    heap_.free(a_);  // [0, 1000) merges with the free [1000, 2000) on its right
    const SubAllocatorStats s = heap_.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 2000u);
    EXPECT_TRUE(heap_.validate());
    EXPECT_EQ(must_allocate(heap_, 2000, 1).offset, 0u);
}

TEST_F(FreeListCoalesce, WithLeftNeighbour) {
    heap_.free(b_);
    heap_.free(c_);  // [2000, 3000) merges with the free [1000, 2000) on its left
    const SubAllocatorStats s = heap_.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 2000u);
    EXPECT_TRUE(heap_.validate());
    EXPECT_EQ(must_allocate(heap_, 2000, 1).offset, 1000u);
}

TEST_F(FreeListCoalesce, WithBothNeighbours) {
    heap_.free(b_);
    heap_.free(d_);
    EXPECT_EQ(heap_.stats().free_range_count, 2u);
    heap_.free(c_);  // joins [1000, 2000) and [3000, 4000)
    const SubAllocatorStats s = heap_.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 3000u);
    EXPECT_TRUE(heap_.validate());
    heap_.free(a_);
    EXPECT_TRUE(heap_.empty());
    EXPECT_EQ(heap_.stats().largest_free_range, 4000u);
    EXPECT_TRUE(heap_.validate());
}

TEST_F(FreeListCoalesce, WithNoNeighbour) {
    heap_.free(b_);
    heap_.free(d_);
    const SubAllocatorStats s = heap_.stats();
    EXPECT_EQ(s.free_range_count, 2u);
    EXPECT_EQ(s.largest_free_range, 1000u);
    EXPECT_EQ(s.allocation_count, 2u);
    EXPECT_TRUE(heap_.validate());
}

TEST(FreeList, LargestFreeRangeIsExactWithinItsBucket) {
    // 70000 and 70500 share a bucket (width 1024 there); the largest must be exact.
    FreeListAllocator heap(200000);
    const SubAllocation a = must_allocate(heap, 70500, 1);
    const SubAllocation s1 = must_allocate(heap, 1, 1);
    const SubAllocation b = must_allocate(heap, 70000, 1);
    must_allocate(heap, 200000 - 140501, 1);
    heap.free(a);
    heap.free(b);
    EXPECT_EQ(heap.stats().largest_free_range, 70500u);
    heap.free(s1);
    EXPECT_EQ(heap.stats().largest_free_range, 140501u);
    EXPECT_TRUE(heap.validate());
}

// ---------------------------------------------------------------- reference model

/// Live ranges, keyed by offset, with the gaps between them: the free ranges a
/// fully coalescing allocator with reserved == size must have.
class Model {
public:
    explicit Model(std::uint64_t capacity) : capacity_(capacity) {}

    /// Records a new allocation; false when it overlaps a live one or leaves the range.
    bool add(const SubAllocation& a) {
        if (a.size == 0 || a.offset > capacity_ || a.size > capacity_ - a.offset) return false;
        auto next = live_.lower_bound(a.offset);
        if (next != live_.end() && next->first < a.offset + a.size) return false;
        if (next != live_.begin() && std::prev(next)->second.offset + std::prev(next)->second.size > a.offset) {
            return false;
        }
        live_.emplace(a.offset, a);
        used_ += a.reserved;
        requested_ += a.size;
        return true;
    }

    void remove(const SubAllocation& a) {
        live_.erase(a.offset);
        used_ -= a.reserved;
        requested_ -= a.size;
    }

    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps() const {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> result;
        std::uint64_t cursor = 0;
        for (const auto& [offset, a] : live_) {
            if (offset > cursor) result.emplace_back(cursor, offset - cursor);
            cursor = offset + a.size;
        }
        if (cursor < capacity_) result.emplace_back(cursor, capacity_ - cursor);
        return result;
    }

    std::uint64_t used() const { return used_; }
    std::uint64_t requested() const { return requested_; }
    std::size_t count() const { return live_.size(); }

private:
    std::uint64_t capacity_;
    std::map<std::uint64_t, SubAllocation> live_;
    std::uint64_t used_ = 0;
    std::uint64_t requested_ = 0;
};

bool gap_holds(std::uint64_t gap_offset, std::uint64_t gap_size, std::uint64_t size, std::uint64_t alignment) {
    const std::uint64_t rem = gap_offset & (alignment - 1);
    const std::uint64_t pad = rem == 0 ? 0 : alignment - rem;
    return pad <= gap_size && gap_size - pad >= size;
}

/// Checks the allocator's stats and invariants against the model; returns the gaps.
std::vector<std::pair<std::uint64_t, std::uint64_t>> check_against(const FreeListAllocator& heap,
                                                                   const Model& model) {
    EXPECT_TRUE(heap.validate());
    const auto gaps = model.gaps();
    std::uint64_t largest = 0;
    for (const auto& gap : gaps) largest = std::max(largest, gap.second);
    const SubAllocatorStats s = heap.stats();
    EXPECT_EQ(s.used_bytes, model.used());
    EXPECT_EQ(s.requested_bytes, model.requested());
    EXPECT_EQ(s.allocation_count, model.count());
    EXPECT_EQ(s.free_range_count, gaps.size());
    EXPECT_EQ(s.largest_free_range, largest);
    EXPECT_EQ(heap.empty(), model.count() == 0);
    return gaps;
}

struct StressConfig {
    std::uint64_t capacity;
    std::uint64_t max_size;  // sizes are log-uniform in [1, max_size]
    std::uint32_t max_alignment_log2;
    std::size_t max_live;  // the driver frees when this many are live
    int steps;
    std::uint64_t seed;
};

struct StressOutcome {
    int allocations = 0;
    int failures = 0;
    int exact_checks = 0;
};

/// Runs a random allocate/free sequence; after every step the allocator must
/// agree with the model. After every out_of_space: no gap may be large enough
/// for the guaranteed-fit step, and when the gaps are few enough for the
/// fallback scan to see them all, no gap may hold the request at all.
StressOutcome run_stress(const StressConfig& config) {
    FreeListAllocator heap(config.capacity);
    Model model(config.capacity);
    std::mt19937_64 rng(config.seed);
    const double max_size_log2 = std::log2(static_cast<double>(config.max_size));
    std::uniform_real_distribution<double> size_log2(0.0, max_size_log2);
    std::uniform_int_distribution<std::uint32_t> alignment_log2(0, config.max_alignment_log2);
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    std::vector<SubAllocation> live;
    StressOutcome outcome;

    for (int step = 0; step < config.steps; ++step) {
        // Alternate phases that fill towards out_of_space and that drain.
        const bool filling = (step / 1500) % 2 == 0;
        const double p_allocate = live.empty() ? 1.0 : live.size() >= config.max_live ? 0.0 : filling ? 0.75 : 0.35;
        if (coin(rng) < p_allocate) {
            const auto size = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::exp2(size_log2(rng))));
            const std::uint64_t alignment = std::uint64_t{1} << alignment_log2(rng);
            auto result = heap.allocate(size, alignment);
            if (result.has_value()) {
                const SubAllocation a = *result;
                ++outcome.allocations;
                EXPECT_EQ(a.offset % alignment, 0u);
                EXPECT_EQ(a.size, size);
                EXPECT_EQ(a.reserved, size);
                EXPECT_TRUE(model.add(a)) << "overlap or out of range at step " << step;
                live.push_back(a);
            } else {
                ++outcome.failures;
                EXPECT_EQ(result.error(), SubAllocationError::out_of_space);
                const auto gaps = model.gaps();
                const std::uint64_t need = size + (alignment - 1);
                const bool exact = gaps.size() <= FreeListAllocator::kFallbackCandidates;
                outcome.exact_checks += exact ? 1 : 0;
                for (const auto& [gap_offset, gap_size] : gaps) {
                    // bucket_min(ceil(need)) < need * (1 + 1/64) + 1
                    if (need >= size) {
                        EXPECT_LT(gap_size, need + need / 64 + 1) << "step " << step;
                    }
                    if (exact) {
                        EXPECT_FALSE(gap_holds(gap_offset, gap_size, size, alignment))
                            << "step " << step << ": gap [" << gap_offset << ", +" << gap_size << ") holds "
                            << size << " aligned " << alignment;
                    }
                }
            }
        } else {
            std::uniform_int_distribution<std::size_t> pick(0, live.size() - 1);
            const std::size_t i = pick(rng);
            heap.free(live[i]);
            model.remove(live[i]);
            live[i] = live.back();
            live.pop_back();
        }
        check_against(heap, model);
        if (::testing::Test::HasFailure()) return outcome;
    }

    std::shuffle(live.begin(), live.end(), rng);
    for (const SubAllocation& a : live) {
        heap.free(a);
        model.remove(a);
    }
    check_against(heap, model);
    return outcome;
}

TEST(FreeListStress, MixedSizesAndAlignmentsOneGiB) {
    const StressOutcome o = run_stress({1 * GiB, 1 * GiB / 8, 24, 400, 20000, 0x5eed0001});
    EXPECT_GT(o.allocations, 5000);
    EXPECT_GT(o.failures, 100);
}

TEST(FreeListStress, MixedSizesAndAlignmentsBeyondTwoToTheForty) {
    const StressOutcome o = run_stress({(1ull << 41) + 12345, (1ull << 41) / 8, 24, 400, 20000, 0x5eed0002});
    EXPECT_GT(o.allocations, 5000);
    EXPECT_GT(o.failures, 100);
}

TEST(FreeListStress, OutOfSpaceOnlyWhenNoFreeRangeHoldsTheRequest) {
    // Few live allocations keep the gaps at most kFallbackCandidates, so every
    // failure is checked exactly: no free range could hold the aligned request.
    const StressOutcome o = run_stress({1 * MiB, 1 * MiB / 2, 20, 24, 30000, 0x5eed0003});
    EXPECT_GT(o.failures, 300);
    EXPECT_EQ(o.exact_checks, o.failures);
}

TEST(FreeList, FreeEverythingInRandomOrderRestoresOneRange) {
    const std::uint64_t capacity = 256 * MiB;
    FreeListAllocator heap(capacity);
    std::mt19937_64 rng(0x5eed0004);
    std::uniform_real_distribution<double> size_log2(0.0, 20.0);
    std::uniform_int_distribution<std::uint32_t> alignment_log2(0, 16);
    std::vector<SubAllocation> live;
    int failures = 0;
    while (failures < 50) {
        const auto size = static_cast<std::uint64_t>(std::exp2(size_log2(rng)));
        auto r = heap.allocate(std::max<std::uint64_t>(size, 1), std::uint64_t{1} << alignment_log2(rng));
        if (r) live.push_back(*r);
        else ++failures;
    }
    ASSERT_GT(live.size(), 500u);
    EXPECT_TRUE(heap.validate());
    std::shuffle(live.begin(), live.end(), rng);
    for (std::size_t i = 0; i < live.size(); ++i) {
        heap.free(live[i]);
        if (i % 64 == 0) {
            ASSERT_TRUE(heap.validate()) << i;
        }
    }
    EXPECT_TRUE(heap.empty());
    const SubAllocatorStats s = heap.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, capacity);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.requested_bytes, 0u);
    EXPECT_TRUE(heap.validate());
    EXPECT_EQ(must_allocate(heap, capacity, 1).offset, 0u);
}

}  // namespace
}  // namespace gpu_alloc
