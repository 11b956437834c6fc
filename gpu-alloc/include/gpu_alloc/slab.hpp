// SlabAllocator: the strategy for small, numerous allocations. Fixed size
// classes from 16 B to 64 KiB, carved out of fixed-size pages, O(1) allocate
// and free, no per-allocation header.
//
// Why: a general free list pays per allocation for a node, for splitting and
// merging, and for alignment padding; many tiny buffers (uniform buffers,
// descriptor-sized records, small vertex streams) are served better by slots
// of a few fixed sizes packed side by side. GPU memory cannot hold allocator
// bookkeeping, so every bit of metadata lives in host-side arrays.
//
// Algorithm
//   Pages. [0, capacity) is cut into pages of `page_size` bytes (a power of
//   two; capacity must be a multiple of it). A page is either free (in the
//   page pool) or holds slots of exactly one size class. Pages are taken from
//   the pool on demand, lowest address first, and go back to it the moment
//   their last slot is freed, so any class can reuse them and a fully freed
//   allocator holds no pages: [0, capacity) is one free range again.
//   Size classes. Four per power of two: 16, 20, 24, 28, 32, 40, 48, 56, 64,
//   80, ..., 2^p * {1, 1.25, 1.5, 1.75}, ..., up to max_slot_size. Why four:
//   one class per power of two wastes up to 50% of a request to rounding,
//   four waste under 25% (12.5% on average for sizes uniform within an
//   octave), and more classes would leave more partially filled pages (each
//   class holds at least one), which costs more than the rounding saves for
//   live sets of thousands of allocations. 16 B is the smallest slot.
//   Placement. Slot i of a page at page_offset lies at page_offset + i *
//   slot_size; the last `page_size mod slot_size` bytes of a page are unused.
//   Pages are page-aligned, so a slot's natural alignment is the largest power
//   of two dividing slot_size (16 -> 16, 20 -> 4, 24 -> 8, 48 -> 16, ...). A
//   request (size, alignment) goes to the smallest class whose slot size is
//   >= size and a multiple of alignment (size 20 alignment 16 -> 32).
//   Free slots. Each page in use has a hierarchical bitmap (a bit per slot,
//   1 = free, and above it a bit per 64-bit word saying "this word is
//   non-zero", up to one top word). The top word lives in the page's metadata
//   (so pages of <= 64 slots never touch anything else), the lower levels in
//   a host-side block. A bump index per page marks the slots never handed out
//   since the page was taken, so a fresh page needs no initialization beyond
//   one word per level. Each class keeps a doubly linked list of its
//   partially filled pages; the page pool is a hierarchical bitmap over pages.
//   allocate: class from size and alignment (a bit scan and at most a few
//   steps up), head of the class's partial list (or a page from the pool), a
//   free slot from its bitmap (three bit scans at most) or its bump index.
//   free: page = offset / page_size; class from the page's metadata (also
//   carried in SubAllocation::metadata, checked in debug builds); slot index
//   by a multiply with a precomputed reciprocal; set its bit.
//
// Complexity
//   allocate, free: O(1) (bounded by the bitmap depth: <= 3 levels per page,
//   <= 6 over the page pool). stats(): O(1) except largest_free_range, which
//   scans the page pool bitmap (capacity / page_size / 64 words).
//   validate(): O(pages + slots of pages in use).
//   Host memory: 32 bytes per page of capacity, one bitmap block per page ever
//   taken (page_size / 1024 bytes plus a few words; blocks stay with their
//   page and are reused when it is taken again, and pages are taken lowest
//   address first, so this follows the peak of pages in use), and one bit per
//   page for the pool. Nothing per allocation.
//
// Worst-case overhead
//   Rounding: a request of size s > 16 with alignment <= its class's natural
//   alignment takes < 1.25 * s; sizes below 16 take 16; a larger alignment
//   takes the next class that is a multiple of it, < 2 * max(s, alignment).
//   Page tails: < slot_size per page, i.e. < max_slot_size / page_size of the
//   page (12.5% for 56 KiB slots in 256 KiB pages, 0 for powers of two).
//   Partial pages: a page stays taken while any of its slots is live, so in
//   the worst case every page in use holds a single live slot (one page per
//   allocation). Pages are only taken when the class has no page with a free
//   slot, so at least (pages of the class - 1) are completely full right
//   after a page is taken; random frees afterwards thin them out.
//
// Invariants validate() checks
//   - a page is in the pool iff its pool bit is set iff it has no class; the
//     pool bitmap's summary words match its leaves and no bit lies past the
//     last page; pages_in_use and free_range_count match the bitmap;
//   - every page in use has a valid class, 1 <= live <= slots per page,
//     live + free bits below the bump index == bump index, no free bit at or
//     beyond the bump index, and summary words that match their leaves;
//   - a page is on its class's partial list iff it is in use and live < slots,
//     each list is consistently doubly linked and holds only pages of its
//     class;
//   - used_bytes == sum of live * slot_size, allocation_count == sum of live,
//     requested_bytes <= used_bytes.
#pragma once

#include <cstdint>
#include <vector>

#include <gpu_alloc/sub_allocator.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// Page and size-class geometry of a SlabAllocator. All fields in bytes.
struct SlabConfig {
    /// Bytes per page; a power of two, max_slot_size <= page_size <=
    /// SlabAllocator::max_page_size. The capacity must be a multiple of it.
    /// Larger pages waste less at the tail of pages of large classes; smaller
    /// pages leave less memory in partially filled pages.
    std::uint64_t page_size = std::uint64_t{256} * 1024;
    /// Largest slot (and so the largest request size and alignment) served; a
    /// power of two, SlabAllocator::min_slot_size <= max_slot_size <= page_size.
    std::uint64_t max_slot_size = std::uint64_t{64} * 1024;

    /// The default: 256 KiB pages, slots up to 64 KiB (measured in
    /// benches/slab_bench.cpp: 64 KiB pages lose up to 37.5% to page tails of
    /// the 40-56 KiB classes; 256 KiB pages at most 12.5%).
    static constexpr SlabConfig general() noexcept { return SlabConfig{}; }
    /// Tiny buffers only: 64 KiB pages, slots up to 4 KiB. Less memory held
    /// by partially filled pages when all requests are small.
    static constexpr SlabConfig tiny() noexcept {
        return SlabConfig{std::uint64_t{64} * 1024, std::uint64_t{4} * 1024};
    }
};

namespace detail {

/// Where each level of a hierarchical bitmap lies in its word array. Level 0
/// holds one bit per item; level l + 1 one bit per word of level l (set iff
/// that word is non-zero); the top level is a single word, kept apart by its
/// owner. offset[l] (l < levels - 1) locates level l in the owner's array of
/// the lower levels, which are stored highest first.
struct BitTreeLayout {
    static constexpr std::uint32_t max_levels = 6;  ///< enough for 2^36 items
    std::uint32_t levels = 0;                       ///< number of levels, >= 1
    std::uint32_t offset[max_levels] = {};          ///< first word of each level
    std::uint32_t total_words = 0;                  ///< words of all levels below the top
};

}  // namespace detail

/// Slab sub-allocator over [0, capacity): size classes of fixed slots in
/// fixed-size pages. Satisfies SubAllocator. Move-only; not thread-safe (the
/// caller serializes access).
///
/// Example:
///   auto slab = gpu_alloc::SlabAllocator::create(std::uint64_t{64} << 20);  // 64 MiB
///   auto a = slab->allocate(100, 64);  // a->offset % 64 == 0, a->reserved == 128
///   slab->free(*a);
class SlabAllocator {
public:
    static constexpr std::uint64_t min_slot_size = 16;                    ///< smallest slot, bytes
    static constexpr std::uint64_t max_page_size = std::uint64_t{4} << 20;  ///< largest page, bytes (4 MiB)

    /// Makes an allocator over [0, capacity).
    /// Preconditions: none (every argument is checked).
    /// Returns: the allocator, holding no pages.
    /// Errors: invalid_size when capacity is 0 or not a multiple of
    /// config.page_size, when capacity / page_size does not fit in 32 bits,
    /// or when config breaks a rule documented on SlabConfig.
    static Result<SlabAllocator, SubAllocationError> create(std::uint64_t capacity,
                                                            SlabConfig config = SlabConfig::general());

    SlabAllocator(SlabAllocator&&) noexcept = default;
    SlabAllocator& operator=(SlabAllocator&&) noexcept = default;
    SlabAllocator(const SlabAllocator&) = delete;
    SlabAllocator& operator=(const SlabAllocator&) = delete;
    ~SlabAllocator() = default;

    /// Takes a slot of the smallest class whose slot size is >= size and a
    /// multiple of alignment. O(1).
    /// Returns: offset (a multiple of alignment), size, reserved = slot size,
    /// metadata = size class index.
    /// Errors: invalid_size when size == 0 or size > max_slot_size;
    /// invalid_alignment when alignment is 0, not a power of two, or >
    /// max_slot_size; out_of_space when the class has no page with a free slot
    /// and the page pool is empty.
    Result<SubAllocation, SubAllocationError> allocate(std::uint64_t size, std::uint64_t alignment);

    /// Gives a slot back; its page returns to the pool when it was the page's
    /// last live slot. O(1).
    /// Preconditions: allocation was returned by this allocator's allocate()
    /// and not freed since (asserted in debug builds).
    void free(const SubAllocation& allocation);

    /// Checks the invariants listed in this file's header. O(pages + slots).
    /// Returns: true when all hold.
    bool validate() const;

    /// Returns: the counters; free ranges are maximal runs of free PAGES
    /// (free slots inside pages in use are not counted as free ranges), so
    /// largest_free_range is a multiple of page_size. O(capacity / page_size
    /// / 64) for largest_free_range, O(1) for the rest.
    SubAllocatorStats stats() const;

    /// Returns: bytes managed.
    std::uint64_t capacity() const noexcept { return capacity_; }
    /// Returns: true when no allocation is live (then no page is in use).
    bool empty() const noexcept { return allocation_count_ == 0; }

    /// Returns: bytes per page.
    std::uint64_t page_size() const noexcept { return page_size_; }
    /// Returns: pages currently holding slots (pages_in_use() * page_size() is
    /// the memory this allocator has taken out of its range).
    std::uint64_t pages_in_use() const noexcept { return pages_in_use_; }
    /// Returns: the number of size classes (49 for max_slot_size 64 KiB).
    std::uint32_t class_count() const noexcept { return static_cast<std::uint32_t>(classes_.size()); }
    /// Returns: the slot size of class `size_class`.
    /// Preconditions: size_class < class_count().
    std::uint64_t class_slot_size(std::uint32_t size_class) const noexcept {
        return classes_[size_class].slot_size;
    }
    /// The live allocation of class `metadata` at `offset`, as allocate() returned
    /// it for `size` bytes: a caller may keep only those three.
    SubAllocation allocation_at(std::uint32_t metadata, std::uint64_t offset, std::uint64_t size) const noexcept {
        return SubAllocation{offset, size, classes_[metadata].slot_size, metadata};
    }

private:
    struct SizeClass {
        std::uint64_t slot_size = 0;
        std::uint32_t slots_per_page = 0;
        std::uint32_t reciprocal = 0;    // ceil(2^32 / slot_size): slot = (in_page * reciprocal) >> 32
        std::uint32_t partial_head = 0;  // first page with live and free slots, or none
        detail::BitTreeLayout layout;    // of a page's slot bitmap
    };
    struct PageMeta {
        std::uint64_t top = 0;          // top word of the slot bitmap (the rest is in the block)
        std::uint32_t prev = 0;         // partial list links
        std::uint32_t next = 0;
        std::uint32_t block = 0;        // bitmap block, or none before the page is first taken
        std::uint32_t live = 0;         // live slots
        std::uint32_t bump = 0;         // slots >= bump never handed out since the page was taken
        std::uint32_t size_class = 0;   // or free_page
    };

    SlabAllocator() = default;

    std::uint32_t take_page(std::uint32_t size_class);
    void release_page(std::uint32_t page);
    void push_partial(std::uint32_t size_class, std::uint32_t page);
    void unlink_partial(std::uint32_t size_class, std::uint32_t page);
    std::uint64_t* block_words(std::uint32_t block) noexcept {
        return bitmap_words_.data() + static_cast<std::size_t>(block) * block_words_;
    }
    const std::uint64_t* block_words(std::uint32_t block) const noexcept {
        return bitmap_words_.data() + static_cast<std::size_t>(block) * block_words_;
    }
    bool page_is_free(std::uint32_t page) const noexcept;
    bool validate_page(std::uint32_t page) const;

    std::uint64_t capacity_ = 0;
    std::uint64_t page_size_ = 0;
    std::uint64_t max_slot_size_ = 0;
    std::uint32_t page_shift_ = 0;
    std::uint32_t page_count_ = 0;

    std::vector<SizeClass> classes_;
    std::vector<PageMeta> pages_;
    std::uint64_t pool_top_ = 0;             // page pool, 1 = free page: top word
    std::vector<std::uint64_t> pool_words_;  // page pool: the levels below the top
    detail::BitTreeLayout pool_layout_;
    std::vector<std::uint64_t> bitmap_words_;  // slot bitmaps, block_words_ per block
    std::uint32_t block_words_ = 0;
    std::uint32_t blocks_used_ = 0;

    std::uint64_t used_bytes_ = 0;
    std::uint64_t requested_bytes_ = 0;
    std::uint64_t allocation_count_ = 0;
    std::uint64_t pages_in_use_ = 0;
    std::uint64_t free_range_count_ = 0;
};

static_assert(SubAllocator<SlabAllocator>);

}  // namespace gpu_alloc
