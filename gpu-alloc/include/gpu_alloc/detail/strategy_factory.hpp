// Builds the strategy of a new chunk from the allocator's Config.
#pragma once

#include <cstdint>
#include <optional>

#include <gpu_alloc/buddy.hpp>
#include <gpu_alloc/config.hpp>
#include <gpu_alloc/free_list.hpp>
#include <gpu_alloc/linear.hpp>
#include <gpu_alloc/slab.hpp>

namespace gpu_alloc::detail {

template <class Strategy>
struct StrategyFactory;

template <>
struct StrategyFactory<FreeListAllocator> {
    static constexpr StrategyKind kind = StrategyKind::free_list;
    static std::optional<FreeListAllocator> make(std::uint64_t capacity, const Config&) {
        auto r = FreeListAllocator::create(capacity);
        if (!r) return std::nullopt;
        return std::move(*r);
    }
};

template <>
struct StrategyFactory<BuddyAllocator> {
    static constexpr StrategyKind kind = StrategyKind::buddy;
    static std::optional<BuddyAllocator> make(std::uint64_t capacity, const Config& config) {
        auto r = BuddyAllocator::create(capacity, config.buddy_min_block);
        if (!r) return std::nullopt;
        return std::move(*r);
    }
};

template <>
struct StrategyFactory<SlabAllocator> {
    static constexpr StrategyKind kind = StrategyKind::slab;
    static std::optional<SlabAllocator> make(std::uint64_t capacity, const Config& config) {
        SlabConfig slab;
        slab.page_size = config.slab_page_size;
        slab.max_slot_size = config.slab_max_size;
        auto r = SlabAllocator::create(capacity, slab);
        if (!r) return std::nullopt;
        return std::move(*r);
    }
};

template <>
struct StrategyFactory<LinearAllocator> {
    static constexpr StrategyKind kind = StrategyKind::linear;
    static std::optional<LinearAllocator> make(std::uint64_t capacity, const Config&) {
        return LinearAllocator(capacity);
    }
};

}  // namespace gpu_alloc::detail
