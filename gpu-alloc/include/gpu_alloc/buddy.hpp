// BuddyAllocator: a binary buddy system over [0, capacity), working on offsets.
//
// Idea. The range is cut into power-of-two blocks of min_block_size << order.
// A request takes the smallest order whose block holds it; a larger free block
// is split in halves ("buddies") until one of the right order remains, and on
// free a block merges with its buddy again, level by level, while the buddy is
// free too. Block sizes are powers of two and every block of order k starts at a
// multiple of its own size, so any power-of-two alignment up to the block size
// comes for free: the block for (size, alignment) is
//     max(bit_ceil(size), alignment, min_block_size).
//
// Non-power-of-two capacity. The managed capacity is capacity rounded down to a
// multiple of min_block_size, and it is used in full: it is split into one root
// block per set bit of capacity / min_block_size, largest first, from offset 0
// (e.g. 3 GiB -> a 2 GiB root at 0 and a 1 GiB root at 2 GiB). Each root starts
// at a multiple of its size, so natural alignment holds everywhere; roots have
// no buddy and never merge. capacity() reports the managed size.
//
// Data structures, chosen so that memory is proportional to the number of
// blocks that exist (live + free + their split ancestors), never to
// capacity / min_block_size (a 64 GiB range with 256 B blocks has 2^28 leaves):
//   - a pool of nodes handed out in pairs: splitting a block takes one pair for
//     its two halves, so the buddy of node i is node i ^ 1 and each node knows
//     its parent: merging needs no search and no hash lookup. A node is 16 bytes
//     (no offset: the caller's allocation carries it), a pair never straddles a
//     cache line, so reading the buddy during a merge is free;
//   - one stack (vector) of free blocks (node index + offset) per order, each
//     free node knowing its slot in it, and a 64-bit mask of the non-empty
//     orders: finding the smallest fitting free block is a count-trailing-zeros
//     and a pop; taking a buddy out of the middle (on merge) is a swap with the
//     top. Unlike an intrusive linked list, pop and push touch no neighbouring
//     node, and since the stack holds the offset, handing out a block of the
//     right order only writes its node (no cache miss to wait for). LIFO order
//     hands out the most recently freed block first.
// SubAllocation::metadata carries the node index, so free() goes straight to it.
//
// Complexity. allocate: O(log(capacity / min_block_size)) splits at most, O(1)
// to find the block. free: O(log(capacity / min_block_size)) merges at most.
// stats(): O(1) (largest_free_range is the largest free block, read off the
// mask). validate(): O(number of nodes).
//
// Worst-case overhead. Internal fragmentation: a block is < 2x its request
// (size 2^k + 1 takes 2^(k+1)), plus rounding up to min_block_size and to the
// alignment. Host memory: 16 bytes per node plus 16 bytes per free block, and a
// tree with L leaves (live and free blocks) has at most 2L - 1 nodes; the pool
// and the stacks keep their peak size (freed pairs are recycled, not returned
// to the system).
//
// Statistics. used_bytes is the sum of block sizes of live allocations
// (reserved, including the rounding), requested_bytes the sum of their sizes.
// free_range_count counts free BLOCKS: two adjacent free blocks that are not
// buddies (halves of different parents) count as two ranges, and
// largest_free_range is the largest free block, i.e. the largest request that
// can succeed now (a contiguous free range made of several blocks can be
// larger than that).
//
// Invariants that validate() checks:
//   1. The roots tile [0, capacity()) in order, each aligned to its size.
//   2. Every split node has a pair of children, one order lower, each pointing
//      back to it (they are its lower and upper halves); so live and free
//      blocks (the leaves) never overlap and cover the managed range exactly.
//   3. Every block is aligned to its own size and lies inside the range.
//   4. No split node has two free children (buddies are always merged).
//   5. Each free stack holds exactly the free leaves of its order, with their
//      offsets; each node's slot is its position there, and the non-empty mask
//      matches the stacks.
//   6. used bytes + free bytes == capacity(); the counters (used, allocation
//      count, free block count) match the tree; allocation count <= requested
//      bytes <= used bytes (each live block holds 1 .. block size bytes).
//   7. Every pool pair is either in the tree or on the pool's free list (no
//      leaked node storage).
//
// Not thread-safe: the caller serializes access to one instance.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <gpu_alloc/sub_allocator.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// Binary buddy sub-allocator over [0, capacity): power-of-two blocks,
/// O(log n) split and merge, natural alignment. See the file comment for the
/// algorithm, its costs and the invariants validate() checks.
///
/// Example:
/// \code
///   auto buddy = gpu_alloc::BuddyAllocator::create(std::uint64_t{1} << 30);  // 1 GiB, 256 B blocks
///   if (!buddy) return;
///   auto a = buddy->allocate(1000, 256);  // a->reserved == 1024
///   if (a) buddy->free(*a);
/// \endcode
class BuddyAllocator {
public:
    /// The min_block_size used when none is given: 256 bytes.
    static constexpr std::uint64_t default_min_block_size = 256;

    /// Builds a buddy allocator, checking the arguments.
    /// Returns the allocator managing capacity rounded down to a multiple of
    /// min_block_size (see the file comment for non-power-of-two capacities).
    /// Errors: invalid_alignment if min_block_size is 0 or not a power of two;
    /// invalid_size if capacity < min_block_size.
    static Result<BuddyAllocator, SubAllocationError> create(std::uint64_t capacity,
                                                             std::uint64_t min_block_size = default_min_block_size);

    /// Builds a buddy allocator without reporting errors.
    /// Preconditions: min_block_size is a power of two and capacity >= min_block_size
    /// (use create() to have them checked). If they do not hold, this asserts in
    /// debug builds and in release builds yields an allocator of capacity 0 that
    /// refuses every request; it never crashes.
    explicit BuddyAllocator(std::uint64_t capacity, std::uint64_t min_block_size = default_min_block_size);

    /// Reserves a block for `size` bytes aligned to `alignment`.
    /// Returns the allocation: offset is a multiple of alignment, reserved is the
    /// block size max(bit_ceil(size), alignment, min_block_size), metadata the
    /// block's node index. O(log n).
    /// Errors: invalid_size if size == 0 or bit_ceil(size) exceeds the largest
    /// root block (== capacity() when that is a power of two); invalid_alignment
    /// if alignment is 0, not a power of two, larger than capacity() or than the
    /// largest root block; out_of_space if no free block is large enough now.
    Result<SubAllocation, SubAllocationError> allocate(std::uint64_t size, std::uint64_t alignment);

    /// Gives back a live allocation exactly as allocate() returned it and merges
    /// its block with free buddies. O(log n).
    /// Precondition: `allocation` is live, came from this allocator, and is
    /// unchanged. Freeing twice or a foreign allocation asserts in debug builds
    /// and is ignored in release builds when detected: a node index out of
    /// range or not live, or a `reserved`, offset or size that does not fit its
    /// block. (A double free after the same node was handed out again for the
    /// same block cannot be told from a valid free.)
    void free(const SubAllocation& allocation);

    /// Checks the invariants listed in the file comment. O(number of nodes).
    /// Returns true when all hold.
    bool validate() const;

    /// Counters; O(1). free_range_count counts free blocks, largest_free_range
    /// is the largest free block (see the file comment).
    SubAllocatorStats stats() const;

    /// Bytes managed: the constructor's capacity rounded down to a multiple of
    /// min_block_size (0 for an allocator built from invalid arguments).
    std::uint64_t capacity() const { return capacity_; }

    /// True when no allocation is live.
    bool empty() const { return allocation_count_ == 0; }

    /// The smallest block size (order 0), a power of two.
    std::uint64_t min_block_size() const { return std::uint64_t{1} << min_shift_; }

    /// The largest block that can ever be handed out: the largest root block,
    /// i.e. capacity() rounded down to a power of two (0 if capacity() is 0).
    std::uint64_t max_block_size() const { return max_block_; }

    /// The live allocation with node index `metadata` at `offset`, as allocate()
    /// returned it for `size` bytes: a caller may keep only those three.
    SubAllocation allocation_at(std::uint32_t metadata, std::uint64_t offset, std::uint64_t size) const {
        return SubAllocation{offset, size, block_size(node(metadata).order), metadata};
    }

private:
    static constexpr std::uint32_t none = 0xFFFF'FFFFu;
    static constexpr unsigned max_orders = 64;

    enum class State : std::uint8_t { unused, free, allocated, split };

    // One block; its offset is not stored (callers pass it, validate() derives
    // it top-down), which keeps a node to 16 bytes and the pool cache-friendly.
    // Nodes live in pairs: the buddy of node i is node i ^ 1.
    struct Node {
        std::uint32_t parent = none;  // none for roots
        std::uint32_t link = none;    // free: slot in free_stacks_[order]; split: child pair index;
                                      // unused (node 0 of a pooled pair): next pooled pair
        std::uint8_t order = 0;
        State state = State::unused;
    };
    // 32 bytes, aligned so that a pair never straddles a cache line.
    struct alignas(32) NodePair {
        std::array<Node, 2> nodes;
    };
    static_assert(sizeof(NodePair) == 32);
    // A free block as its order's stack holds it: the offset is kept here too so
    // that allocate() can hand the block out without reading its node first.
    struct FreeEntry {
        std::uint64_t offset;
        std::uint32_t index;
    };

    Node& node(std::uint32_t index) { return pool_[index >> 1].nodes[index & 1u]; }
    const Node& node(std::uint32_t index) const { return pool_[index >> 1].nodes[index & 1u]; }
    std::uint64_t block_size(unsigned order) const { return std::uint64_t{1} << (order + min_shift_); }

    void push_free(std::uint32_t index, std::uint64_t offset);
    void remove_free(std::uint32_t index);  // takes any free block out of its stack
    FreeEntry pop_free(unsigned order);     // takes the top of a non-empty stack
    std::uint32_t take_pair();   // returns a pair index, or none when the index space is exhausted
    void release_pair(std::uint32_t pair);
    // Files a block as free, merging it with free buddies.
    void release_block(std::uint32_t index, std::uint64_t offset);

    std::vector<NodePair> pool_;
    std::array<std::vector<FreeEntry>, max_orders> free_stacks_;  // free blocks per order
    std::uint64_t free_mask_ = 0;       // bit k set <=> !free_stacks_[k].empty()
    std::uint32_t free_pair_head_ = none;
    std::uint32_t root_count_ = 0;
    unsigned min_shift_ = 8;            // log2(min_block_size)
    std::uint64_t capacity_ = 0;
    std::uint64_t max_block_ = 0;
    std::uint64_t used_bytes_ = 0;
    std::uint64_t requested_bytes_ = 0;
    std::uint64_t allocation_count_ = 0;
    std::uint64_t free_block_count_ = 0;
};

static_assert(SubAllocator<BuddyAllocator>);

}  // namespace gpu_alloc
