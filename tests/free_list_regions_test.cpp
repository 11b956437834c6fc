// FreeListAllocator in regions mode: the address space GpuAllocator's free-list
// pools use, one region per device memory object.
#include <gpu_alloc/free_list.hpp>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

using gpu_alloc::FreeListAllocator;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;

TEST(FreeListRegions, NothingIsFreeUntilARegionIsAdded) {
    auto a = FreeListAllocator::create_with_regions(std::uint64_t{1} << 40);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->validate());
    EXPECT_EQ(a->capacity(), 0u);
    EXPECT_EQ(a->allocate(64, 1).error(), SubAllocationError::out_of_space);
    a->add_region(1 << 20, 4096);
    auto b = a->allocate(64, 256);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->offset, 1u << 20);
    EXPECT_EQ(a->allocate(8192, 1).error(), SubAllocationError::out_of_space);
    EXPECT_FALSE(a->remove_region(1 << 20, 4096));  // not entirely free
    a->free(*b);
    EXPECT_TRUE(a->remove_region(1 << 20, 4096));
    EXPECT_EQ(a->capacity(), 0u);
    EXPECT_TRUE(a->validate());
}

TEST(FreeListRegions, AdjacentRegionsNeverMerge) {
    auto a = FreeListAllocator::create_with_regions(1 << 20);
    ASSERT_TRUE(a);
    a->add_region(0, 4096);
    a->add_region(4096, 4096);
    EXPECT_EQ(a->allocate(8192, 1).error(), SubAllocationError::out_of_space);  // would straddle two objects
    auto x = a->allocate(4096, 1);
    auto y = a->allocate(4096, 1);
    ASSERT_TRUE(x && y);
    a->free(*x);
    a->free(*y);
    EXPECT_EQ(a->stats().free_range_count, 2u);
    EXPECT_TRUE(a->validate());
}

TEST(FreeListRegions, RandomRegionsAndAllocationsKeepEveryInvariant) {
    constexpr std::uint64_t stride = 1 << 20;
    auto a = FreeListAllocator::create_with_regions(stride * 64);
    ASSERT_TRUE(a);
    std::mt19937_64 rng(3);
    std::map<std::uint64_t, std::uint64_t> regions;  // start -> size
    std::vector<SubAllocation> live;
    std::map<std::uint64_t, int> live_per_region;
    for (int step = 0; step < 20000; ++step) {
        const auto op = rng() % 10;
        if (op == 0 && regions.size() < 64) {
            const std::uint64_t slot = rng() % 64;
            if (!regions.count(slot * stride)) {
                const std::uint64_t size = (1 + rng() % 16) * stride / 16;
                a->add_region(slot * stride, size);
                regions[slot * stride] = size;
            }
        } else if (op == 1 && !regions.empty()) {
            auto it = std::next(regions.begin(), static_cast<long>(rng() % regions.size()));
            const bool busy = live_per_region[it->first] > 0;
            EXPECT_EQ(a->remove_region(it->first, it->second), !busy);
            if (!busy) regions.erase(it);
        } else if (op < 6) {
            const std::uint64_t size = 1 + rng() % (stride / 8);
            const std::uint64_t alignment = std::uint64_t{1} << (rng() % 12);
            auto r = a->allocate(size, alignment);
            if (r) {
                ASSERT_EQ(r->offset % alignment, 0u);
                auto region = regions.upper_bound(r->offset);
                ASSERT_NE(region, regions.begin());
                --region;
                ASSERT_LE(r->offset + size, region->first + region->second) << "crosses its region";
                ++live_per_region[region->first];
                live.push_back(*r);
            }
        } else if (!live.empty()) {
            const std::size_t i = rng() % live.size();
            auto region = std::prev(regions.upper_bound(live[i].offset));
            --live_per_region[region->first];
            a->free(live[i]);
            live[i] = live.back();
            live.pop_back();
        }
        ASSERT_TRUE(a->validate()) << "step " << step;
    }
    for (const SubAllocation& s : live) a->free(s);
    for (const auto& [start, size] : regions) EXPECT_TRUE(a->remove_region(start, size));
    EXPECT_TRUE(a->validate());
    EXPECT_EQ(a->capacity(), 0u);
}
