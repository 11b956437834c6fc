// Tests of SlabAllocator: argument checks, size classes and alignment, page
// placement and recycling, statistics, misuse detection, and a fixed-seed
// randomized stress test against a reference model checked after every step.
#include <gpu_alloc/slab.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <vector>

namespace gpu_alloc {
namespace {

constexpr std::uint64_t KiB = 1024;

SlabAllocator make(std::uint64_t capacity, SlabConfig config = SlabConfig::general()) {
    auto slab = SlabAllocator::create(capacity, config);
    EXPECT_TRUE(slab.has_value());
    return std::move(slab).value();
}

SubAllocation must_allocate(SlabAllocator& slab, std::uint64_t size, std::uint64_t alignment) {
    auto a = slab.allocate(size, alignment);
    EXPECT_TRUE(a.has_value()) << "size " << size << " alignment " << alignment;
    return a.value_or(SubAllocation{});
}

/// The class list written independently of the implementation: 16, then four
/// steps per power of two up to max_slot.
std::vector<std::uint64_t> reference_classes(std::uint64_t max_slot) {
    std::vector<std::uint64_t> classes{16};
    for (std::uint64_t p = 16; p < max_slot; p *= 2) {
        for (std::uint64_t k = 5; k <= 8; ++k) classes.push_back(p * k / 4);
    }
    return classes;
}

std::uint64_t reference_slot(const std::vector<std::uint64_t>& classes, std::uint64_t size, std::uint64_t alignment) {
    for (std::uint64_t c : classes) {
        if (c >= size && c % alignment == 0) return c;
    }
    return 0;
}

TEST(Slab, CreateRejectsBadArguments) {
    const auto bad = [](std::uint64_t capacity, SlabConfig config) {
        auto slab = SlabAllocator::create(capacity, config);
        return !slab.has_value() && slab.error() == SubAllocationError::invalid_size;
    };
    const SlabConfig def = SlabConfig::general();
    EXPECT_TRUE(bad(0, def));
    EXPECT_TRUE(bad(def.page_size / 2, def));                       // not a multiple of the page size
    EXPECT_TRUE(bad(def.page_size * 3 + 16, def));
    EXPECT_TRUE(bad(def.page_size, SlabConfig{3 * 64 * KiB, 64 * KiB}));  // page not a power of two
    EXPECT_TRUE(bad(def.page_size, SlabConfig{0, 64 * KiB}));
    EXPECT_TRUE(bad(8u << 20, SlabConfig{8u << 20, 64 * KiB}));       // page above max_page_size
    EXPECT_TRUE(bad(def.page_size, SlabConfig{def.page_size, 48 * KiB}));  // max slot not a power of two
    EXPECT_TRUE(bad(def.page_size, SlabConfig{def.page_size, 8}));         // max slot below 16
    EXPECT_TRUE(bad(64 * KiB, SlabConfig{64 * KiB, 128 * KiB}));          // max slot above the page
    EXPECT_TRUE(bad(std::uint64_t{1} << 62, SlabConfig{16, 16}));         // too many pages
}

TEST(Slab, CreateAcceptsValidGeometry) {
    SlabAllocator slab = make(4 * 256 * KiB);
    EXPECT_EQ(slab.capacity(), 4 * 256 * KiB);
    EXPECT_EQ(slab.page_size(), 256 * KiB);
    EXPECT_EQ(slab.pages_in_use(), 0u);
    EXPECT_TRUE(slab.empty());
    EXPECT_TRUE(slab.validate());
    const auto classes = reference_classes(64 * KiB);
    ASSERT_EQ(slab.class_count(), classes.size());
    EXPECT_EQ(slab.class_count(), 49u);
    for (std::uint32_t c = 0; c < slab.class_count(); ++c) EXPECT_EQ(slab.class_slot_size(c), classes[c]) << c;
    const SubAllocatorStats s = slab.stats();
    EXPECT_EQ(s.capacity, 4 * 256 * KiB);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.allocation_count, 0u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 4 * 256 * KiB);

    auto small = SlabAllocator::create(16, SlabConfig{16, 16});  // one page, one class
    ASSERT_TRUE(small.has_value());
    EXPECT_EQ(small->class_count(), 1u);
    auto a = small->allocate(16, 16);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->offset, 0u);
    EXPECT_EQ(small->allocate(1, 1).error(), SubAllocationError::out_of_space);
    small->free(*a);
    EXPECT_TRUE(small->validate());
}

TEST(Slab, AllocateRejectsBadRequests) {
    SlabAllocator slab = make(256 * KiB);
    EXPECT_EQ(slab.allocate(0, 16).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(slab.allocate(64 * KiB + 1, 16).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(slab.allocate(std::uint64_t{1} << 40, 16).error(), SubAllocationError::invalid_size);
    EXPECT_EQ(slab.allocate(16, 0).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(slab.allocate(16, 3).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(slab.allocate(16, 48).error(), SubAllocationError::invalid_alignment);
    EXPECT_EQ(slab.allocate(16, 128 * KiB).error(), SubAllocationError::invalid_alignment);
    EXPECT_TRUE(slab.empty());
    EXPECT_EQ(slab.pages_in_use(), 0u);
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, SizesRoundUpToTheirClass) {
    SlabAllocator slab = make(64 * 256 * KiB);
    struct Case {
        std::uint64_t size, alignment, reserved;
    };
    const Case cases[] = {
        {1, 1, 16},      {16, 1, 16},     {17, 1, 20},     {20, 4, 20},         {21, 1, 24},
        {28, 4, 28},     {29, 1, 32},     {33, 1, 40},     {100, 1, 112},       {1000, 1, 1024},
        {1025, 1, 1280}, {5000, 8, 5120}, {40000, 1, 40960}, {65536, 1, 65536}, {57345, 1, 65536},
    };
    for (const Case& c : cases) {
        const SubAllocation a = must_allocate(slab, c.size, c.alignment);
        EXPECT_EQ(a.reserved, c.reserved) << "size " << c.size;
        EXPECT_EQ(a.size, c.size);
        EXPECT_EQ(slab.class_slot_size(a.metadata), c.reserved);
        EXPECT_EQ(a.offset % c.alignment, 0u);
    }
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, AlignmentAboveNaturalAlignmentPicksLargerClass) {
    SlabAllocator slab = make(64 * 256 * KiB);
    struct Case {
        std::uint64_t size, alignment, reserved;
    };
    const Case cases[] = {
        {20, 8, 24},         {20, 16, 32},    {20, 32, 32},     {40, 16, 48},      {100, 64, 128},
        {130, 64, 192},      {130, 128, 256}, {16, 4096, 4096}, {1, 65536, 65536}, {40000, 65536, 65536},
        {40000, 8192, 40960}, {300, 256, 512},
    };
    for (const Case& c : cases) {
        // Two of each, so that the second is at a non-zero slot index.
        for (int i = 0; i < 2; ++i) {
            const SubAllocation a = must_allocate(slab, c.size, c.alignment);
            EXPECT_EQ(a.reserved, c.reserved) << "size " << c.size << " alignment " << c.alignment;
            EXPECT_EQ(a.offset % c.alignment, 0u) << "size " << c.size << " alignment " << c.alignment;
        }
    }
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, SlotsAreLaidOutSideBySideInPageAlignedPages) {
    SlabAllocator slab = make(4 * 64 * KiB, SlabConfig{64 * KiB, 64 * KiB});
    const SubAllocation a = must_allocate(slab, 48, 16);
    const SubAllocation b = must_allocate(slab, 48, 16);
    const SubAllocation c = must_allocate(slab, 45, 1);
    EXPECT_EQ(a.offset, 0u);
    EXPECT_EQ(b.offset, 48u);
    EXPECT_EQ(c.offset, 96u);
    const SubAllocation other = must_allocate(slab, 200, 8);  // another class: the next page
    EXPECT_EQ(other.offset, 64 * KiB);
    EXPECT_EQ(other.reserved, 224u);
    // 40 KiB slots: one per 64 KiB page, the 24 KiB tail stays unused.
    const SubAllocation big1 = must_allocate(slab, 40 * KiB, 1);
    const SubAllocation big2 = must_allocate(slab, 40 * KiB, 1);
    EXPECT_EQ(big1.offset, 2 * 64 * KiB);
    EXPECT_EQ(big2.offset, 3 * 64 * KiB);
    EXPECT_EQ(slab.allocate(40 * KiB, 1).error(), SubAllocationError::out_of_space);
    EXPECT_EQ(slab.pages_in_use(), 4u);
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, FreedSlotIsReusedLowestFirst) {
    SlabAllocator slab = make(256 * KiB);
    std::vector<SubAllocation> a;
    for (int i = 0; i < 10; ++i) a.push_back(must_allocate(slab, 64, 64));
    slab.free(a[7]);
    slab.free(a[3]);
    EXPECT_TRUE(slab.validate());
    EXPECT_EQ(must_allocate(slab, 64, 64).offset, a[3].offset);
    EXPECT_EQ(must_allocate(slab, 64, 64).offset, a[7].offset);
    EXPECT_EQ(must_allocate(slab, 64, 64).offset, 10 * 64u);
    EXPECT_EQ(slab.pages_in_use(), 1u);
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, FullClassAndEmptyPoolGiveOutOfSpace) {
    SlabAllocator slab = make(2 * 64 * KiB, SlabConfig::tiny());
    const SubAllocation small = must_allocate(slab, 16, 16);  // page 0, class 16
    std::vector<SubAllocation> big;
    for (int i = 0; i < 16; ++i) big.push_back(must_allocate(slab, 4 * KiB, 4 * KiB));  // page 1 full
    EXPECT_EQ(slab.allocate(4 * KiB, 1).error(), SubAllocationError::out_of_space);
    EXPECT_EQ(slab.allocate(100, 1).error(), SubAllocationError::out_of_space);  // no page for class 112
    EXPECT_TRUE(slab.allocate(16, 16).has_value());  // class 16 still has slots on page 0
    EXPECT_TRUE(slab.validate());
    slab.free(big[5]);
    const SubAllocation again = must_allocate(slab, 4000, 1);
    EXPECT_EQ(again.offset, big[5].offset);
    EXPECT_EQ(small.offset, 0u);
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, EmptyPagesAreRecycledAcrossClasses) {
    SlabAllocator slab = make(64 * KiB, SlabConfig::tiny());  // a single page
    std::vector<SubAllocation> slots;
    for (int i = 0; i < 16; ++i) slots.push_back(must_allocate(slab, 4 * KiB, 1));
    EXPECT_EQ(slab.allocate(16, 1).error(), SubAllocationError::out_of_space);
    std::shuffle(slots.begin(), slots.end(), std::mt19937(7));
    for (std::size_t i = 0; i < slots.size(); ++i) {
        EXPECT_EQ(slab.pages_in_use(), 1u);
        slab.free(slots[i]);
        EXPECT_TRUE(slab.validate());
    }
    EXPECT_TRUE(slab.empty());
    EXPECT_EQ(slab.pages_in_use(), 0u);
    EXPECT_EQ(slab.stats().largest_free_range, 64 * KiB);
    // The same page now serves 16-byte slots: 4096 of them.
    for (int i = 0; i < 4096; ++i) {
        const SubAllocation a = must_allocate(slab, 10, 2);
        ASSERT_EQ(a.offset, static_cast<std::uint64_t>(i) * 16);
    }
    EXPECT_EQ(slab.allocate(1, 1).error(), SubAllocationError::out_of_space);
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, StatsCountFreePagesAsRanges) {
    const std::uint64_t page = 64 * KiB;
    SlabAllocator slab = make(5 * page, SlabConfig{page, page});
    const SubAllocation a = must_allocate(slab, 100, 1);   // page 0
    const SubAllocation b = must_allocate(slab, 1000, 1);  // page 1
    const SubAllocation c = must_allocate(slab, 5000, 1);  // page 2
    const SubAllocation c2 = must_allocate(slab, 5000, 1);
    SubAllocatorStats s = slab.stats();
    EXPECT_EQ(s.allocation_count, 4u);
    EXPECT_EQ(s.requested_bytes, 100u + 1000u + 5000u + 5000u);
    EXPECT_EQ(s.used_bytes, 112u + 1024u + 5120u + 5120u);
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 2 * page);

    slab.free(b);  // pages 1, 3, 4 free: two ranges
    s = slab.stats();
    EXPECT_EQ(s.free_range_count, 2u);
    EXPECT_EQ(s.largest_free_range, 2 * page);
    EXPECT_EQ(s.allocation_count, 3u);
    EXPECT_TRUE(slab.validate());

    slab.free(c);  // page 2 still holds c2
    EXPECT_EQ(slab.stats().free_range_count, 2u);
    slab.free(c2);  // pages 1..4 free
    s = slab.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 4 * page);
    slab.free(a);
    s = slab.stats();
    EXPECT_EQ(s.free_range_count, 1u);
    EXPECT_EQ(s.largest_free_range, 5 * page);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.requested_bytes, 0u);
    EXPECT_TRUE(slab.empty());
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, LargestFreeRangeSpansWords) {
    // 200 pages: the pool bitmap has several leaf words and a summary level.
    const std::uint64_t page = 16;
    SlabAllocator slab = make(200 * page, SlabConfig{page, page});
    std::vector<SubAllocation> a;
    for (int i = 0; i < 200; ++i) a.push_back(must_allocate(slab, 16, 16));
    EXPECT_EQ(slab.allocate(16, 16).error(), SubAllocationError::out_of_space);
    EXPECT_EQ(slab.stats().free_range_count, 0u);
    EXPECT_EQ(slab.stats().largest_free_range, 0u);
    for (int i = 60; i < 140; ++i) slab.free(a[i]);  // pages 60..139 across word boundaries
    slab.free(a[10]);
    slab.free(a[199]);
    EXPECT_EQ(slab.stats().free_range_count, 3u);
    EXPECT_EQ(slab.stats().largest_free_range, 80 * page);
    EXPECT_TRUE(slab.validate());
    EXPECT_EQ(must_allocate(slab, 1, 1).offset, 10 * page);  // lowest free page first
    EXPECT_EQ(must_allocate(slab, 1, 1).offset, 60 * page);
    EXPECT_EQ(slab.stats().largest_free_range, 79 * page);
    EXPECT_TRUE(slab.validate());
}

TEST(Slab, MoveKeepsState) {
    SlabAllocator slab = make(256 * KiB);
    const SubAllocation a = must_allocate(slab, 30, 2);
    SlabAllocator moved = std::move(slab);
    EXPECT_EQ(moved.stats().allocation_count, 1u);
    moved.free(a);
    EXPECT_TRUE(moved.empty());
    EXPECT_TRUE(moved.validate());
}

#ifndef NDEBUG
TEST(SlabDeathTest, DoubleFreeAsserts) {
    SlabAllocator slab = make(256 * KiB);
    const SubAllocation a = must_allocate(slab, 32, 1);
    const SubAllocation b = must_allocate(slab, 32, 1);
    slab.free(a);
    EXPECT_DEATH(slab.free(a), "already free");  // page still in use (b)
    slab.free(b);
    EXPECT_DEATH(slab.free(b), "not in use");  // page back in the pool
}

TEST(SlabDeathTest, ForeignAllocationAsserts) {
    SlabAllocator slab = make(256 * KiB);
    SubAllocation a = must_allocate(slab, 32, 1);
    SubAllocation shifted = a;
    shifted.offset += 8;
    EXPECT_DEATH(slab.free(shifted), "not a slot start");
    SubAllocation outside = a;
    outside.offset = 1u << 20;
    EXPECT_DEATH(slab.free(outside), "outside");
    SubAllocation wrong_class = a;
    wrong_class.metadata += 1;
    EXPECT_DEATH(slab.free(wrong_class), "not from this allocator");
}
#endif

// ---------------------------------------------------------------------------
// Randomized stress against a reference model.

struct Live {
    std::uint64_t end;  // offset + reserved
    SubAllocation allocation;
};

class Model {
public:
    Model(std::uint64_t capacity, SlabConfig config)
        : capacity_(capacity),
          config_(config),
          classes_(reference_classes(config.max_slot_size)),
          page_live_(capacity / config.page_size, 0),
          page_slot_(capacity / config.page_size, 0) {}

    /// Checks a successful allocation against the model and records it.
    void add(const SubAllocation& a, std::uint64_t size, std::uint64_t alignment) {
        ASSERT_EQ(a.size, size);
        ASSERT_EQ(a.reserved, reference_slot(classes_, size, alignment)) << size << " / " << alignment;
        ASSERT_EQ(a.offset % alignment, 0u);
        ASSERT_LE(a.offset + a.reserved, capacity_);
        const std::uint64_t page = a.offset / config_.page_size;
        const std::uint64_t in_page = a.offset % config_.page_size;
        ASSERT_EQ(in_page % a.reserved, 0u) << "slot not at page_offset + i * slot_size";
        ASSERT_LE(in_page + a.reserved, config_.page_size) << "slot crosses a page";
        if (page_live_[page] != 0) {
            ASSERT_EQ(page_slot_[page], a.reserved) << "two classes in one page";
        }
        auto next = live_.lower_bound(a.offset);
        if (next != live_.end()) {
            ASSERT_LE(a.offset + a.reserved, next->first) << "overlaps the next";
        }
        if (next != live_.begin()) {
            ASSERT_LE(std::prev(next)->second.end, a.offset) << "overlaps the previous";
        }
        live_.emplace(a.offset, Live{a.offset + a.reserved, a});
        ++page_live_[page];
        page_slot_[page] = a.reserved;
        used_ += a.reserved;
        requested_ += a.size;
    }

    /// Checks that out_of_space was the right answer: no free page, and every
    /// page of the request's class full.
    void check_out_of_space(std::uint64_t size, std::uint64_t alignment) const {
        const std::uint64_t slot = reference_slot(classes_, size, alignment);
        for (std::size_t p = 0; p < page_live_.size(); ++p) {
            ASSERT_NE(page_live_[p], 0u) << "out_of_space with page " << p << " free";
            if (page_slot_[p] == slot) {
                ASSERT_EQ(page_live_[p], config_.page_size / slot) << "class page not full";
            }
        }
    }

    SubAllocation remove(std::size_t index) {
        auto it = live_.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(index));
        const SubAllocation a = it->second.allocation;
        live_.erase(it);
        --page_live_[a.offset / config_.page_size];
        used_ -= a.reserved;
        requested_ -= a.size;
        return a;
    }

    void check(const SlabAllocator& slab) const {
        const SubAllocatorStats s = slab.stats();
        ASSERT_EQ(s.capacity, capacity_);
        ASSERT_EQ(s.used_bytes, used_);
        ASSERT_EQ(s.requested_bytes, requested_);
        ASSERT_EQ(s.allocation_count, live_.size());
        ASSERT_EQ(slab.empty(), live_.empty());
        std::uint64_t ranges = 0, longest = 0, run = 0, in_use = 0;
        for (std::size_t p = 0; p < page_live_.size(); ++p) {
            if (page_live_[p] == 0) {
                if (run == 0) ++ranges;
                ++run;
                longest = std::max(longest, run);
            } else {
                run = 0;
                ++in_use;
            }
        }
        ASSERT_EQ(slab.pages_in_use(), in_use);
        ASSERT_EQ(s.free_range_count, ranges);
        ASSERT_EQ(s.largest_free_range, longest * config_.page_size);
        ASSERT_TRUE(slab.validate());
    }

    std::size_t live_count() const { return live_.size(); }

private:
    std::uint64_t capacity_;
    SlabConfig config_;
    std::vector<std::uint64_t> classes_;
    std::map<std::uint64_t, Live> live_;
    std::vector<std::uint64_t> page_live_;
    std::vector<std::uint64_t> page_slot_;
    std::uint64_t used_ = 0;
    std::uint64_t requested_ = 0;
};

/// Runs `steps` random allocate/free steps (phases that mostly fill, then
/// mostly drain), checking everything after each, then frees all in random
/// order.
void stress(std::uint64_t capacity, SlabConfig config, std::uint32_t seed, int steps, std::uint64_t max_size) {
    SlabAllocator slab = make(capacity, config);
    Model model(capacity, config);
    std::mt19937_64 rng(seed);
    const double log_max = std::log(static_cast<double>(max_size));
    const int max_align_log = std::countr_zero(config.max_slot_size);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    int out_of_space = 0;
    int allocations = 0;
    for (int step = 0; step < steps; ++step) {
        const bool filling = (step / 1500) % 2 == 0;
        const bool do_allocate = model.live_count() == 0 || unit(rng) < (filling ? 0.7 : 0.35);
        if (do_allocate) {
            const std::uint64_t size =
                std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::exp(unit(rng) * log_max)));
            const int align_log = unit(rng) < 0.8 ? static_cast<int>(rng() % 9)
                                                  : static_cast<int>(rng() % static_cast<std::uint64_t>(max_align_log + 1));
            const std::uint64_t alignment = std::uint64_t{1} << align_log;
            auto a = slab.allocate(size, alignment);
            if (a.has_value()) {
                ++allocations;
                model.add(*a, size, alignment);
            } else {
                ASSERT_EQ(a.error(), SubAllocationError::out_of_space) << size << " / " << alignment;
                ++out_of_space;
                model.check_out_of_space(size, alignment);
            }
        } else {
            slab.free(model.remove(rng() % model.live_count()));
        }
        if (::testing::Test::HasFatalFailure()) return;
        model.check(slab);
        if (::testing::Test::HasFatalFailure()) {
            ADD_FAILURE() << "at step " << step;
            return;
        }
    }
    EXPECT_GT(out_of_space, 0) << "the stress never filled the allocator";
    EXPECT_GT(allocations, steps / 3);

    while (model.live_count() > 0) {
        slab.free(model.remove(rng() % model.live_count()));
        model.check(slab);
        if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_TRUE(slab.empty());
    EXPECT_EQ(slab.pages_in_use(), 0u);
    EXPECT_EQ(slab.stats().largest_free_range, capacity);
    EXPECT_EQ(slab.stats().free_range_count, 1u);
    EXPECT_TRUE(slab.validate());
}

TEST(SlabStress, SmallPagesAllSizes) {
    stress(64 * 64 * KiB, SlabConfig{64 * KiB, 64 * KiB}, 1, 30000, 64 * KiB);
}

TEST(SlabStress, DefaultPagesAllSizes) {
    stress(24 * 256 * KiB, SlabConfig::general(), 2, 30000, 64 * KiB);
}

TEST(SlabStress, TinyConfigSmallSizes) {
    // Sizes up to 4 KiB in 64 KiB pages: thousands of slots per page, deep bitmaps.
    stress(12 * 64 * KiB, SlabConfig::tiny(), 3, 30000, 4 * KiB);
}

TEST(SlabStress, BigPagesManySlots) {
    // 1 MiB pages: 65536 16-byte slots, a three-level slot bitmap.
    stress(4 * 1024 * KiB, SlabConfig{1024 * KiB, 1 * KiB}, 4, 20000, 1 * KiB);
}

}  // namespace
}  // namespace gpu_alloc
