// FreeListAllocator: the general-purpose strategy for mixed sizes, a
// two-level segregated fit (TLSF) allocator over [0, capacity) with O(1)
// lookup and immediate coalescing.
//
// Why TLSF: a free list that must serve sizes from bytes to gigabytes needs a
// lookup that does not degrade with the number of holes, and a fit good enough
// that the chunk it manages does not fragment. TLSF gives both: free blocks are
// kept in size buckets, two bitmaps find the first non-empty bucket at least as
// large as a request in a few bit instructions, and every bucket is narrow
// (1/64 of an octave), so the block it yields is never much larger than needed.
//
// Algorithm
//   Blocks. [0, capacity) is tiled by blocks, each free or used, kept in a
//   vector-backed node pool (unused nodes are recycled through a free-index
//   chain). Every block links to its physical neighbours (prev/next by
//   address), so a freed block merges with free neighbours in O(1).
//   `SubAllocation::metadata` is the used block's node index: free() does no
//   search.
//   Buckets. A size s maps to bucket floor(s): sizes below 128 map to bucket s
//   (exact); larger sizes to first level fl = floor(log2 s) - 5 and second
//   level sl = the next 6 bits below the leading one (64 linear subdivisions
//   per octave). Bucket widths are thus at most 1/64 of their sizes. Each bucket
//   holds a doubly linked list of its free blocks; a 64-bit second-level bitmap
//   per first level and one first-level bitmap say which lists are non-empty.
//   allocate(size, alignment), in this order:
//     1. good fit: the first non-empty bucket >= ceil(size) (every block in it
//        is >= size); of the first kGoodFitCandidates blocks of its list, the
//        lowest-offset one that holds the aligned request is taken.
//     2. guaranteed fit (alignment > 1 only): the first non-empty bucket >=
//        ceil(size + alignment - 1), where every block fits; again the
//        lowest-offset of its first kGoodFitCandidates blocks.
//     3. fallback, so that a range is not declared full while a fitting block
//        exists: the lists of buckets floor(size) .. (bucket of step 2) - 1 are
//        scanned in size order, at most kFallbackCandidates blocks, and the
//        first block the aligned request fits is taken.
//     Otherwise out_of_space.
//   The chosen block is split: the alignment padding before the aligned
//   offset becomes a free block of its own when non-empty, the allocation
//   keeps the node, and the tail after it becomes a free block when non-empty.
//   free(allocation): the block is marked free, merged with a free physical
//   predecessor and successor, and pushed on its bucket's list.
//   Sizes are not rounded (no granule): reserved == size, offsets are
//   byte-exact.
//
// Why "lowest offset of 4 in the good-fit bucket" rather than the list head
// (classic TLSF) or the best fit of the request's own bucket: measured with the
// churn workloads of benches/free_list_bench.cpp (fixed seed, 50 turnovers of a
// 10k live set, 10 of a 100k set), highest end offset / peak live bytes:
//                              mixed 10k  mixed 100k  small 10k  small 100k
//   list head (classic TLSF)     1.099      1.042       1.052      1.036
//   own bucket first (4 cands)   1.088      1.033       1.051      1.035
//   lowest offset of 4 (chosen)  1.078      1.031       1.050      1.034
//   both                         1.076      1.029       1.051      1.033
// Packing toward low offsets keeps the untouched tail of the range large (and
// releasable by the chunk layer); a best fit within one bucket gains little
// because a bucket is only 1/64 of an octave wide: the good-fit bucket wastes
// at most ~3% of a request, and the remainder goes back to the free lists.
// Combining both gained 0.2% for another list walk, so it was left out.

// Complexity
//   allocate: O(1) in steps 1-2 (bit scans, at most 2 * kGoodFitCandidates
//   blocks examined, a constant number of list operations); step 3 examines
//   at most kFallbackCandidates blocks.
//   free: O(1). stats(): O(1) except largest_free_range, which scans the list
//   of the largest non-empty bucket only (the bitmaps bound it; the scan makes
//   it exact). validate(): O(blocks + buckets).
//   Memory: one 32-byte node per block; blocks <= 2 * allocations + 1; plus a
//   fixed 15 KiB of bucket heads and 472 bytes of bitmaps.
//
// Worst-case overhead
//   Internal: none (reserved == size). External: alignment padding (< alignment
//   per allocation, left free for others) and holes between live blocks. The
//   search never returns out_of_space while a free block of size >=
//   minimum size of bucket ceil(size + alignment - 1) (< (size + alignment - 1)
//   * (1 + 1/64) + 1) exists, and is exact (out_of_space only if no free block
//   can hold the aligned request) whenever the buckets scanned in step 3 hold at
//   most kFallbackCandidates free blocks.
//
// Invariants validate() checks
//   - the physical chain starts at offset 0, its blocks are non-empty,
//     contiguous, doubly linked consistently and end exactly at capacity;
//   - no two physically adjacent blocks are both free (fully coalesced);
//   - every free block is in exactly the list of bucket floor(size), the lists
//     are consistently doubly linked, a second-level bit is set iff its list is
//     non-empty and a first-level bit iff its second-level bitmap is non-zero;
//   - counters match: free blocks, used blocks, used and requested bytes; every
//     pool node is either in the physical chain or on the recycle chain.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <gpu_alloc/sub_allocator.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// A TLSF sub-allocator over [0, capacity): O(1) allocate and free, any
/// power-of-two alignment, immediate coalescing. Not thread-safe: the caller
/// serializes access to one instance. Move-only.
///
/// Example:
/// ```
/// gpu_alloc::FreeListAllocator heap(std::uint64_t{256} << 20);
/// auto a = heap.allocate(4096, 256);
/// if (a) { use(a->offset); heap.free(*a); }
/// ```
class FreeListAllocator {
public:
    /// Most blocks step 3 of allocate() (the fallback scan) examines before it
    /// answers out_of_space.
    static constexpr std::uint32_t kFallbackCandidates = 32;

    /// Blocks of a bucket that steps 1 and 2 of allocate() compare: the
    /// lowest-offset fitting one of the list's first kGoodFitCandidates wins.
    static constexpr std::uint32_t kGoodFitCandidates = 4;

    /// Builds an allocator managing [0, capacity), all of it free.
    /// Preconditions: capacity > 0 (asserted in debug builds; a zero capacity
    /// in release builds yields an allocator that answers every request with
    /// invalid_size). Use create() to have a bad capacity reported as a value.
    explicit FreeListAllocator(std::uint64_t capacity);

    /// Builds an allocator managing [0, capacity).
    /// Returns: the allocator. Errors: invalid_size when capacity == 0.
    static Result<FreeListAllocator, SubAllocationError> create(std::uint64_t capacity);

    /// Builds an allocator over the address space [0, address_space) in which no
    /// byte is free until add_region() makes a range available ("regions mode").
    /// GpuAllocator uses one such allocator per pool, one region per device memory
    /// object: a single good-fit search then spans every chunk in O(1), instead of
    /// trying chunks one by one. Regions never coalesce with each other, even when
    /// adjacent. Errors: invalid_size when address_space == 0.
    /// `largest_region` bounds the size of every region added (it sizes the
    /// bucket table); by default the whole address space.
    static Result<FreeListAllocator, SubAllocationError> create_with_regions(std::uint64_t address_space,
                                                                          std::uint64_t largest_region = ~std::uint64_t{0});

    /// Regions mode: makes [offset, offset + size) free for allocation.
    /// Preconditions: regions mode; size > 0; the range lies in the address space
    /// and overlaps no other region (asserted in debug builds).
    void add_region(std::uint64_t offset, std::uint64_t size);

    /// Regions mode: removes the region [offset, offset + size) if none of it is
    /// allocated. Returns false (and changes nothing) when it is not one whole
    /// free region. O(free blocks in its bucket).
    bool remove_region(std::uint64_t offset, std::uint64_t size);

    /// Bytes of the largest free block inside [begin, end). O(blocks); for statistics.
    std::uint64_t largest_free_range_in(std::uint64_t begin, std::uint64_t end) const;

    /// Calls f(offset, size) for every free block, in no particular order. O(blocks).
    template <class F>
    void for_each_free_block(F&& f) const {
        for (const Node& node : nodes_)
            if (node.free_prev != kUsedMark && node.free_prev != kUnusedMark) f(node.offset, node.size);
    }

    /// The live allocation whose SubAllocation::metadata is `metadata`, as
    /// allocate() returned it (with `requested` as its size): lets a caller keep
    /// only the node index and the requested size. Precondition: live.
    SubAllocation allocation_at(std::uint32_t metadata, std::uint64_t requested) const noexcept {
        const Node& node = nodes_[metadata];
        return SubAllocation{node.offset, requested, node.size, metadata};
    }

    /// True in regions mode.
    bool has_regions() const { return regions_mode_; }

    /// Moves the state; `other` is left managing nothing (capacity 0: every
    /// allocate() answers invalid_size, validate() holds).
    FreeListAllocator(FreeListAllocator&& other) noexcept;
    /// Moves the state; `other` is left as after the move constructor.
    FreeListAllocator& operator=(FreeListAllocator&& other) noexcept;
    FreeListAllocator(const FreeListAllocator&) = delete;
    FreeListAllocator& operator=(const FreeListAllocator&) = delete;
    ~FreeListAllocator() = default;

    /// Reserves `size` bytes at an offset that is a multiple of `alignment`.
    /// Preconditions: none (bad arguments are errors).
    /// Returns: the allocation; offset % alignment == 0, reserved == size,
    /// [offset, offset + size) inside [0, capacity) and disjoint from every
    /// other live allocation.
    /// Errors: invalid_size when size == 0 or size > capacity();
    /// invalid_alignment when alignment is 0 or not a power of two;
    /// out_of_space when no free block was found to hold it (see the file
    /// comment for how exact that search is).
    Result<SubAllocation, SubAllocationError> allocate(std::uint64_t size, std::uint64_t alignment);

    /// Gives back a live allocation, exactly as allocate() returned it, and
    /// merges its range with free neighbours.
    /// Preconditions: `allocation` is live and came from this allocator;
    /// violations assert in debug builds (undefined in release builds).
    void free(const SubAllocation& allocation);

    /// Checks every invariant listed in the file comment. O(blocks).
    /// Returns: true when all hold.
    bool validate() const;

    /// Counters; O(1) except largest_free_range (scans one bucket list).
    SubAllocatorStats stats() const;

    /// Bytes managed (in regions mode: the bytes of all regions).
    std::uint64_t capacity() const { return regions_mode_ ? region_bytes_ : capacity_; }

    /// True when no allocation is live.
    bool empty() const { return allocation_count_ == 0; }

private:
    static constexpr std::uint32_t kSlLog2 = 6;
    static constexpr std::uint32_t kSlCount = 1u << kSlLog2;
    static constexpr std::uint32_t kFlCount = 64 - kSlLog2 + 1;
    static constexpr std::uint32_t kBucketCount = kFlCount * kSlCount;
    static constexpr std::uint32_t kUsedMark = 0xFFFFFFFEu;    ///< free_prev of a used block
    static constexpr std::uint32_t kUnusedMark = 0xFFFFFFFDu;  ///< free_prev of a recycled slot

    /// A block of the physical chain, or an unused pool slot.
    struct Node {
        std::uint64_t offset = 0;
        std::uint64_t size = 0;
        std::uint32_t phys_prev = 0;  ///< physical predecessor, or kNone
        std::uint32_t phys_next = 0;  ///< physical successor, or kNone; recycle chain when unused
        std::uint32_t free_prev = 0;  ///< bucket list predecessor / kNone if free; kUsed / kUnused marks
        std::uint32_t free_next = 0;  ///< bucket list successor, or kNone
    };

    void take(FreeListAllocator& other) noexcept;
    std::uint32_t new_node();
    void recycle_node(std::uint32_t index);
    void insert_free(std::uint32_t index);
    void remove_free(std::uint32_t index);
    std::uint32_t find_nonempty_bucket(std::uint32_t bucket) const;
    std::uint32_t search(std::uint64_t size, std::uint64_t alignment) const;
    std::uint32_t lowest_fitting(std::uint32_t bucket, std::uint64_t size, std::uint64_t alignment) const;
    std::uint32_t fallback_search(std::uint64_t size, std::uint64_t alignment, std::uint32_t end_bucket) const;
    std::uint32_t place(std::uint32_t index, std::uint64_t size, std::uint64_t alignment);

    std::uint64_t capacity_ = 0;
    std::uint64_t used_bytes_ = 0;
    std::uint64_t requested_bytes_ = 0;
    std::uint64_t allocation_count_ = 0;
    std::uint64_t free_block_count_ = 0;
    std::vector<Node> nodes_;
    std::uint32_t recycle_head_ = 0xFFFFFFFFu;  ///< first unused pool slot, or kNone
    std::uint32_t unused_node_count_ = 0;       ///< nodes on the recycle chain
    std::uint64_t fl_bitmap_ = 0;
    std::array<std::uint64_t, kFlCount> sl_bitmap_{};
    std::vector<std::uint32_t> heads_;  ///< kBucketCount list heads, kNone when empty
    bool regions_mode_ = false;
    std::uint64_t region_bytes_ = 0;  ///< regions mode: bytes of all regions
    bool validate_regions() const;
    bool validate_chain() const;  ///< the one physical chain of [0, capacity)
};

static_assert(SubAllocator<FreeListAllocator>);

}  // namespace gpu_alloc
