// The interface shared by the sub-allocation strategies (buddy, free list, slab,
// linear): pure offset allocators that carve [0, capacity) into aligned ranges.
//
// They know nothing of devices or memory handles, take no locks (the caller
// serializes access to one instance), and are public on their own as "virtual
// allocators": use one to sub-allocate inside any range you manage yourself.
//
// Contract of every SubAllocator S:
//   S::allocate(size, alignment) -> Result<SubAllocation, SubAllocationError>
//       size > 0 and alignment a power of two, else invalid_size /
//       invalid_alignment; out_of_space when no free range fits (this is the
//       normal "this chunk is full" answer, not a failure of the strategy).
//       The returned offset is a multiple of alignment, and
//       [offset, offset + size) lies in [0, capacity) and overlaps no other live
//       allocation. `reserved` is how many bytes the strategy took for it
//       (>= size: rounding, padding), counted in stats().used_bytes.
//   S::free(const SubAllocation&)
//       Gives back a live allocation exactly as allocate returned it. Freeing
//       twice or something it did not return is a contract violation (asserts
//       in debug builds).
//   S::validate() -> bool
//       Checks the strategy's internal invariants (documented per strategy);
//       for tests and debugging, O(n).
//   S::stats() -> SubAllocatorStats, O(1) except largest_free_range (see the
//       strategy's header).
//   S::capacity(), S::empty() (no live allocations).
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// Why a strategy refused a request.
enum class SubAllocationError : std::uint8_t {
    invalid_size,       ///< size == 0, or larger than the strategy can ever serve
    invalid_alignment,  ///< alignment is 0 or not a power of two, or beyond what the strategy supports
    out_of_space,       ///< no free range fits right now
};

constexpr std::string_view to_string(SubAllocationError e) noexcept {
    switch (e) {
        case SubAllocationError::invalid_size: return "invalid size";
        case SubAllocationError::invalid_alignment: return "invalid alignment";
        case SubAllocationError::out_of_space: return "out of space";
    }
    return "unknown SubAllocationError";
}

/// A live range handed out by a strategy. Give it back unchanged to free().
struct SubAllocation {
    std::uint64_t offset = 0;    ///< aligned start, bytes from the start of the range
    std::uint64_t size = 0;      ///< bytes requested
    std::uint64_t reserved = 0;  ///< bytes the strategy set aside for it (>= size)
    /// Strategy-private bookkeeping (a node index, a size class); opaque to callers.
    std::uint32_t metadata = 0;
};

/// Counters of one strategy instance.
struct SubAllocatorStats {
    std::uint64_t capacity = 0;            ///< bytes managed
    std::uint64_t used_bytes = 0;          ///< sum of `reserved` over live allocations
    std::uint64_t requested_bytes = 0;     ///< sum of `size` over live allocations
    std::uint64_t allocation_count = 0;    ///< live allocations
    std::uint64_t free_range_count = 0;    ///< maximal free ranges (holes)
    std::uint64_t largest_free_range = 0;  ///< bytes of the largest free range
};

template <class S>
concept SubAllocator = requires(S& s, const S& cs, std::uint64_t size, std::uint64_t alignment,
                                const SubAllocation& allocation) {
    { s.allocate(size, alignment) } -> std::same_as<Result<SubAllocation, SubAllocationError>>;
    { s.free(allocation) } -> std::same_as<void>;
    { cs.validate() } -> std::same_as<bool>;
    { cs.stats() } -> std::same_as<SubAllocatorStats>;
    { cs.capacity() } -> std::same_as<std::uint64_t>;
    { cs.empty() } -> std::same_as<bool>;
};

}  // namespace gpu_alloc
