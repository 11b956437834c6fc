// BuddyAllocator: binary buddy system over offsets; see buddy.hpp for the
// algorithm, its costs and the invariants validate() checks.
#include <gpu_alloc/buddy.hpp>

#include <algorithm>
#include <bit>
#include <cassert>

namespace gpu_alloc {

namespace {

constexpr bool is_pow2(std::uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// Pair indices p give node indices 2p and 2p + 1, which must stay below the
// `none` sentinel (0xFFFFFFFF).
constexpr std::size_t max_pairs = 0x7FFF'FFFFu;

}  // namespace

Result<BuddyAllocator, SubAllocationError> BuddyAllocator::create(std::uint64_t capacity,
                                                                  std::uint64_t min_block_size) {
    if (!is_pow2(min_block_size)) return unexpected(SubAllocationError::invalid_alignment);
    if (capacity < min_block_size) return unexpected(SubAllocationError::invalid_size);
    return BuddyAllocator(capacity, min_block_size);
}

BuddyAllocator::BuddyAllocator(std::uint64_t capacity, std::uint64_t min_block_size) {
    if (!is_pow2(min_block_size) || capacity < min_block_size) {
        assert(false && "BuddyAllocator: min_block_size must be a power of two <= capacity (use create())");
        return;  // capacity 0: every request is refused
    }
    min_shift_ = static_cast<unsigned>(std::countr_zero(min_block_size));
    const std::uint64_t leaves = capacity >> min_shift_;
    capacity_ = leaves << min_shift_;
    max_block_ = block_size(static_cast<unsigned>(std::bit_width(leaves) - 1));

    // One root per set bit of `leaves`, largest first: each starts at a multiple
    // of its size because all the roots before it are larger powers of two.
    root_count_ = static_cast<std::uint32_t>(std::popcount(leaves));
    pool_.reserve(std::max<std::size_t>(64, (root_count_ + 1) / 2));
    pool_.resize((root_count_ + 1) / 2);
    std::uint64_t offset = 0;
    std::uint32_t index = 0;
    for (int order = 63; order >= 0; --order) {
        if ((leaves >> order & 1u) == 0) continue;
        Node& root = node(index);
        root.order = static_cast<std::uint8_t>(order);
        root.parent = none;
        push_free(index, offset);
        offset += block_size(static_cast<unsigned>(order));
        ++index;
    }
}

void BuddyAllocator::push_free(std::uint32_t index, std::uint64_t offset) {
    Node& n = node(index);
    std::vector<FreeEntry>& stack = free_stacks_[n.order];
    n.state = State::free;
    n.link = static_cast<std::uint32_t>(stack.size());
    stack.push_back(FreeEntry{offset, index});
    free_mask_ |= std::uint64_t{1} << n.order;
    ++free_block_count_;
}

void BuddyAllocator::remove_free(std::uint32_t index) {
    const Node& n = node(index);
    std::vector<FreeEntry>& stack = free_stacks_[n.order];
    const FreeEntry top = stack.back();
    if (top.index != index) {
        stack[n.link] = top;
        node(top.index).link = n.link;
    }
    stack.pop_back();
    if (stack.empty()) free_mask_ &= ~(std::uint64_t{1} << n.order);
    --free_block_count_;
}

BuddyAllocator::FreeEntry BuddyAllocator::pop_free(unsigned order) {
    std::vector<FreeEntry>& stack = free_stacks_[order];
    const FreeEntry top = stack.back();
    stack.pop_back();
    if (stack.empty()) free_mask_ &= ~(std::uint64_t{1} << order);
    --free_block_count_;
    return top;
}

std::uint32_t BuddyAllocator::take_pair() {
    if (free_pair_head_ != none) {
        const std::uint32_t pair = free_pair_head_;
        free_pair_head_ = pool_[pair].nodes[0].link;
        return pair;
    }
    if (pool_.size() >= max_pairs) return none;
    pool_.emplace_back();
    return static_cast<std::uint32_t>(pool_.size() - 1);
}

void BuddyAllocator::release_pair(std::uint32_t pair) {
    NodePair& p = pool_[pair];
    p.nodes[0].state = State::unused;
    p.nodes[1].state = State::unused;
    p.nodes[0].link = free_pair_head_;
    free_pair_head_ = pair;
}

void BuddyAllocator::release_block(std::uint32_t index, std::uint64_t offset) {
    // Merge upwards while the buddy is free, then file the result as free.
    for (;;) {
        const Node& n = node(index);
        const std::uint32_t parent = n.parent;
        if (parent == none) break;
        const std::uint32_t buddy = index ^ 1u;
        if (node(buddy).state != State::free) break;
        offset &= ~(block_size(n.order + 1u) - 1);  // the parent starts at the lower half
        remove_free(buddy);
        release_pair(index >> 1);
        index = parent;
    }
    push_free(index, offset);
}

Result<SubAllocation, SubAllocationError> BuddyAllocator::allocate(std::uint64_t size, std::uint64_t alignment) {
    if (size == 0) return unexpected(SubAllocationError::invalid_size);
    if (!is_pow2(alignment) || alignment > capacity_ || alignment > max_block_) {
        return unexpected(SubAllocationError::invalid_alignment);
    }
    // max_block_ is a power of two, so size <= max_block_ <=> bit_ceil(size) <= max_block_.
    if (size > max_block_) return unexpected(SubAllocationError::invalid_size);

    const std::uint64_t need = std::bit_ceil(std::max({size, alignment, min_block_size()}));
    const unsigned order = static_cast<unsigned>(std::countr_zero(need)) - min_shift_;
    const std::uint64_t candidates = free_mask_ & (~std::uint64_t{0} << order);
    if (candidates == 0) return unexpected(SubAllocationError::out_of_space);

    unsigned current = static_cast<unsigned>(std::countr_zero(candidates));
    const FreeEntry found = pop_free(current);
    std::uint32_t index = found.index;
    const std::uint64_t offset = found.offset;  // the lower half keeps it at every split
    while (current > order) {
        const std::uint32_t pair = take_pair();  // may grow pool_: no Node& across this call
        if (pair == none) {
            // Out of node indices (2^32 blocks): undo the splits made so far.
            release_block(index, offset);
            return unexpected(SubAllocationError::out_of_space);
        }
        --current;
        Node& parent = node(index);
        parent.state = State::split;
        parent.link = pair;
        const std::uint32_t lower = pair * 2;
        const std::uint32_t upper = lower + 1;
        Node& lo = node(lower);
        Node& hi = node(upper);
        lo.parent = hi.parent = index;
        lo.order = hi.order = static_cast<std::uint8_t>(current);
        lo.state = State::free;  // taken below or split next
        push_free(upper, offset + block_size(current));
        index = lower;
    }

    // Only a store to the node: no need to wait for its cache line.
    node(index).state = State::allocated;
    const std::uint64_t reserved = block_size(order);
    used_bytes_ += reserved;
    requested_bytes_ += size;
    ++allocation_count_;
    return SubAllocation{offset, size, reserved, index};
}

void BuddyAllocator::free(const SubAllocation& allocation) {
    const std::uint32_t index = allocation.metadata;
    if (index >= pool_.size() * 2) {
        assert(false && "BuddyAllocator::free: not an allocation of this allocator");
        return;
    }
    const Node& n = node(index);
    const std::uint64_t reserved = block_size(n.order);
    if (n.state != State::allocated || allocation.reserved != reserved || (allocation.offset & (reserved - 1)) != 0 ||
        allocation.offset > capacity_ - reserved || allocation.size == 0 || allocation.size > reserved ||
        allocation.size > requested_bytes_) {
        assert(false && "BuddyAllocator::free: double free or not an allocation of this allocator");
        return;
    }
    used_bytes_ -= reserved;
    requested_bytes_ -= allocation.size;
    --allocation_count_;
    release_block(index, allocation.offset);
}

SubAllocatorStats BuddyAllocator::stats() const {
    SubAllocatorStats s;
    s.capacity = capacity_;
    s.used_bytes = used_bytes_;
    s.requested_bytes = requested_bytes_;
    s.allocation_count = allocation_count_;
    s.free_range_count = free_block_count_;
    s.largest_free_range =
        free_mask_ == 0 ? 0 : block_size(63u - static_cast<unsigned>(std::countl_zero(free_mask_)));
    return s;
}

bool BuddyAllocator::validate() const {
    if (capacity_ == 0) {
        return pool_.empty() && free_mask_ == 0 && used_bytes_ == 0 && requested_bytes_ == 0 &&
               allocation_count_ == 0 && free_block_count_ == 0;
    }
    const std::size_t root_pairs = (root_count_ + 1) / 2;
    if (pool_.size() < root_pairs) return false;

    // 1. Roots tile the range, largest first, each aligned to its size.
    struct Visit {
        std::uint32_t index;
        std::uint64_t offset;
    };
    std::vector<Visit> pending;
    std::uint64_t offset = 0;
    unsigned previous_order = max_orders;
    for (std::uint32_t r = 0; r < root_count_; ++r) {
        const Node& root = node(r);
        if (root.parent != none || root.order >= previous_order || root.order + min_shift_ >= 64) return false;
        previous_order = root.order;
        pending.push_back(Visit{r, offset});
        offset += block_size(root.order);
    }
    if (offset != capacity_) return false;
    if (root_count_ % 2 == 1 && node(root_count_).state != State::unused) return false;

    // 2, 3, 4, 6: walk the tree; offsets are derived top-down, so children
    // partition their parent by construction and only the links need checking.
    std::uint64_t used = 0, free_bytes = 0, allocations = 0, free_blocks = 0;
    std::size_t tree_pairs = 0;
    while (!pending.empty()) {
        const Visit visit = pending.back();
        pending.pop_back();
        const Node& n = node(visit.index);
        const std::uint64_t size = block_size(n.order);
        if ((visit.offset & (size - 1)) != 0 || visit.offset > capacity_ - size) return false;
        switch (n.state) {
            case State::unused: return false;
            case State::free: {
                // 5 (one direction): the block sits in its stack at its slot, with its offset.
                const std::vector<FreeEntry>& free_stack = free_stacks_[n.order];
                if (n.link >= free_stack.size() || free_stack[n.link].index != visit.index ||
                    free_stack[n.link].offset != visit.offset) {
                    return false;
                }
                free_bytes += size;
                ++free_blocks;
                break;
            }
            case State::allocated:
                used += size;
                ++allocations;
                break;
            case State::split: {
                const std::uint32_t pair = n.link;
                if (n.order == 0 || pair < root_pairs || pair >= pool_.size()) return false;
                if (++tree_pairs > pool_.size()) return false;
                for (std::uint32_t side = 0; side < 2; ++side) {
                    const Node& child = node(pair * 2 + side);
                    if (child.parent != visit.index || child.order + 1u != n.order) return false;
                    pending.push_back(Visit{pair * 2 + side, visit.offset + side * (size / 2)});
                }
                if (node(pair * 2).state == State::free && node(pair * 2 + 1).state == State::free) return false;
                break;
            }
        }
    }
    if (used + free_bytes != capacity_ || used != used_bytes_ || allocations != allocation_count_ ||
        free_blocks != free_block_count_) {
        return false;
    }
    // Each live allocation asked for 1 .. block size bytes.
    if (requested_bytes_ < allocation_count_ || requested_bytes_ > used_bytes_) return false;

    // 5 (other direction): the stacks hold free nodes of their order only, at
    // their slots, and as many as the tree has, so no duplicates or strays.
    std::uint64_t listed = 0;
    for (unsigned order = 0; order < max_orders; ++order) {
        const std::vector<FreeEntry>& free_stack = free_stacks_[order];
        if (free_stack.empty() == ((free_mask_ >> order & 1u) != 0)) return false;
        for (std::size_t slot = 0; slot < free_stack.size(); ++slot) {
            const std::uint32_t index = free_stack[slot].index;
            if (index >= pool_.size() * 2) return false;
            const Node& n = node(index);
            if (n.state != State::free || n.order != order || n.link != slot) return false;
        }
        listed += free_stack.size();
    }
    if (listed != free_blocks) return false;

    // 7. Every pair is a root pair, in the tree, or pooled.
    std::size_t pooled = 0;
    for (std::uint32_t pair = free_pair_head_; pair != none; pair = pool_[pair].nodes[0].link) {
        if (pair < root_pairs || pair >= pool_.size() || ++pooled > pool_.size()) return false;
        if (pool_[pair].nodes[0].state != State::unused || pool_[pair].nodes[1].state != State::unused) return false;
    }
    return root_pairs + tree_pairs + pooled == pool_.size();
}

}  // namespace gpu_alloc
