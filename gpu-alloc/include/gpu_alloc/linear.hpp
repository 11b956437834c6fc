// LinearAllocator: a bump pointer over [0, capacity), for per-frame transient
// memory (upload staging, per-frame constants).
//
// Idea. allocate() pads the bump pointer up to the alignment and moves it past
// the request; nothing is searched. free() only counts: when the last live
// allocation is given back the pointer returns to 0, so a frame's allocations
// freed in any order recycle the whole range. In addition, freeing the most
// recent allocation (the one that ends at the bump pointer) moves the pointer
// back to where that allocation's padding began (stack-like release), so
// short-lived scratch allocations in LIFO order cost nothing.
// Space freed out of order in the middle is not reused until the count hits 0:
// that is the price of O(1) and no per-allocation bookkeeping.
//
// Complexity: allocate, free, stats: O(1). validate: O(1).
// Overhead: alignment padding, counted in each allocation's `reserved`
// (reserved = padding before offset + size), plus holes left by out-of-order
// frees until the next reset.
//
// Statistics. used_bytes is the bump position: bytes that cannot be handed out
// until the pointer comes back (it includes padding and the holes of freed
// allocations, so it can exceed the sum of live `reserved`).
// largest_free_range = capacity - bump position, and free_range_count is 1 when
// that is non-zero, else 0.
//
// Invariants that validate() checks:
//   1. bump position <= capacity;
//   2. no live allocations <=> bump position == 0 and requested bytes == 0
//      (the pointer resets when the count reaches 0);
//   3. requested bytes <= bump position, and requested bytes >= live count
//      (each live allocation has size >= 1).
//
// Not thread-safe: the caller serializes access to one instance.
#pragma once

#include <cstdint>

#include <gpu_alloc/sub_allocator.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// Bump-pointer sub-allocator over [0, capacity) that resets when every
/// allocation has been freed. See the file comment.
///
/// Example (one frame):
/// \code
///   gpu_alloc::LinearAllocator frame(std::uint64_t{64} << 20);
///   auto a = frame.allocate(4096, 256);
///   auto b = frame.allocate(100, 16);
///   frame.free(*a);
///   frame.free(*b);  // last one: the pointer is back at 0
/// \endcode
class LinearAllocator {
public:
    /// Manages [0, capacity). Any capacity is valid; with 0 every request fails
    /// with invalid_size.
    explicit LinearAllocator(std::uint64_t capacity) noexcept : capacity_(capacity) {}

    /// Takes `size` bytes at the bump pointer padded up to `alignment`. O(1).
    /// Returns the allocation: offset is a multiple of alignment; reserved is
    /// the padding plus size; metadata is unused (0).
    /// Errors: invalid_size if size == 0 or size > capacity();
    /// invalid_alignment if alignment is 0, not a power of two, or > capacity();
    /// out_of_space if the padded request does not fit before capacity().
    Result<SubAllocation, SubAllocationError> allocate(std::uint64_t size, std::uint64_t alignment) noexcept {
        if (size == 0 || size > capacity_) return unexpected(SubAllocationError::invalid_size);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > capacity_) {
            return unexpected(SubAllocationError::invalid_alignment);
        }
        const std::uint64_t padding = (0 - head_) & (alignment - 1);
        // head_ <= capacity_, so neither subtraction wraps.
        if (padding > capacity_ - head_ || size > capacity_ - head_ - padding) {
            return unexpected(SubAllocationError::out_of_space);
        }
        const std::uint64_t offset = head_ + padding;
        head_ = offset + size;
        requested_bytes_ += size;
        ++allocation_count_;
        return SubAllocation{offset, size, padding + size, 0};
    }

    /// Gives back a live allocation exactly as allocate() returned it. O(1).
    /// Resets the bump pointer to 0 when it was the last live allocation, or
    /// rolls it back to the allocation's start (before its padding) when it was
    /// the most recent one.
    /// Precondition: `allocation` is live and came from this allocator; a free
    /// with no live allocation, or one that does not fit the counters, asserts
    /// in debug builds and is ignored in release builds.
    void free(const SubAllocation& allocation) noexcept;

    /// Checks the invariants listed in the file comment. O(1).
    bool validate() const noexcept;

    /// Counters; O(1). used_bytes is the bump position (see the file comment).
    SubAllocatorStats stats() const noexcept;

    /// Bytes managed.
    std::uint64_t capacity() const noexcept { return capacity_; }

    /// True when no allocation is live (then the bump pointer is 0).
    bool empty() const noexcept { return allocation_count_ == 0; }

    /// The bump position: where the next unaligned allocation would start.
    std::uint64_t position() const noexcept { return head_; }

    /// Frees every live allocation at once and resets the pointer to 0; the
    /// allocations handed out so far must not be freed afterwards.
    void reset() noexcept {
        head_ = 0;
        requested_bytes_ = 0;
        allocation_count_ = 0;
    }

private:
    std::uint64_t capacity_ = 0;
    std::uint64_t head_ = 0;
    std::uint64_t requested_bytes_ = 0;
    std::uint64_t allocation_count_ = 0;
};

static_assert(SubAllocator<LinearAllocator>);

}  // namespace gpu_alloc
