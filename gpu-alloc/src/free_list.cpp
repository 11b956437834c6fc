// FreeListAllocator: the TLSF bucket mapping, the three-step search, block
// splitting and coalescing. The algorithm and its invariants are described in
// gpu_alloc/free_list.hpp; this file holds only their implementation.
#include <gpu_alloc/free_list.hpp>

#include <algorithm>
#include <bit>
#include <cassert>
#include <utility>

namespace gpu_alloc {

namespace detail {
namespace {

constexpr std::uint32_t kNone = 0xFFFFFFFFu;    // no node (end of a list or chain)
constexpr std::uint32_t kUsed = 0xFFFFFFFEu;    // free_prev mark of a used block
constexpr std::uint32_t kUnused = 0xFFFFFFFDu;  // free_prev mark of a recycled pool slot
constexpr std::uint32_t kMaxNodes = 0xFFFFFFF0u;

constexpr std::uint32_t kSlLog2 = 6;
constexpr std::uint32_t kSlMask = (1u << kSlLog2) - 1;

/// Bucket holding blocks of `size` (> 0): sizes below 128 map to themselves,
/// larger ones to (floor(log2 size) - 5) * 64 + the 6 bits below the leading one.
constexpr std::uint32_t bucket_floor(std::uint64_t size) {
    if (size < (std::uint64_t{2} << kSlLog2)) return static_cast<std::uint32_t>(size);
    const auto log2 = static_cast<std::uint32_t>(std::bit_width(size) - 1);
    const auto sl = static_cast<std::uint32_t>(size >> (log2 - kSlLog2)) & kSlMask;
    return ((log2 - kSlLog2 + 1) << kSlLog2) | sl;
}

/// Smallest size that maps to `bucket`.
constexpr std::uint64_t bucket_min(std::uint32_t bucket) {
    const std::uint32_t fl = bucket >> kSlLog2;
    const std::uint64_t sl = bucket & kSlMask;
    if (fl == 0) return sl;
    return ((std::uint64_t{1} << kSlLog2) + sl) << (fl - 1);
}

/// First bucket whose every block is >= size.
constexpr std::uint32_t bucket_ceil(std::uint64_t size) {
    const std::uint32_t bucket = bucket_floor(size);
    return bucket_min(bucket) < size ? bucket + 1 : bucket;
}

static_assert(bucket_floor(1) == 1 && bucket_floor(127) == 127 && bucket_floor(128) == 128);
static_assert(bucket_floor(129) == 128 && bucket_floor(130) == 129 && bucket_min(129) == 130);
static_assert(bucket_ceil(129) == 129 && bucket_ceil(130) == 129 && bucket_ceil(131) == 130);
static_assert(bucket_floor(~std::uint64_t{0}) == 59 * 64 - 1);
static_assert(bucket_min(bucket_floor(~std::uint64_t{0})) == std::uint64_t{127} << 57);

/// Bytes from `offset` up to the next multiple of `alignment` (a power of two).
constexpr std::uint64_t padding_for(std::uint64_t offset, std::uint64_t alignment) {
    const std::uint64_t rem = offset & (alignment - 1);
    return rem == 0 ? 0 : alignment - rem;
}

/// True when a block [offset, offset + block_size) holds `size` bytes at an
/// offset aligned to `alignment`.
constexpr bool fits(std::uint64_t offset, std::uint64_t block_size, std::uint64_t size,
                    std::uint64_t alignment) {
    const std::uint64_t pad = padding_for(offset, alignment);
    return pad <= block_size && block_size - pad >= size;
}

}  // namespace
}  // namespace detail

using detail::kNone;
using detail::kUnused;
using detail::kUsed;

FreeListAllocator::FreeListAllocator(std::uint64_t capacity) {
    assert(capacity > 0 && "FreeListAllocator: capacity must be > 0");
    if (capacity == 0) return;
    capacity_ = capacity;
    // Only the buckets a block of at most `capacity` bytes can fall in: a small
    // allocator does not pay for the 15 KiB table of a 2^64-byte one.
    heads_.assign(detail::bucket_floor(capacity) + 1, kNone);
    nodes_.reserve(64);
    nodes_.push_back(Node{0, capacity, kNone, kNone, kNone, kNone});
    insert_free(0);
}

Result<FreeListAllocator, SubAllocationError> FreeListAllocator::create(std::uint64_t capacity) {
    if (capacity == 0) return unexpected(SubAllocationError::invalid_size);
    return FreeListAllocator(capacity);
}

Result<FreeListAllocator, SubAllocationError> FreeListAllocator::create_with_regions(std::uint64_t address_space,
                                                                                  std::uint64_t largest_region) {
    if (address_space == 0 || largest_region == 0) return unexpected(SubAllocationError::invalid_size);
    FreeListAllocator out(address_space);
    // Blocks never outgrow their region: the bucket table covers the largest one.
    if (largest_region < address_space) out.heads_.resize(detail::bucket_floor(largest_region) + 1);
    // Drop the initial whole-range block: nothing is free until add_region().
    out.remove_free(0);
    out.recycle_node(0);
    out.regions_mode_ = true;
    return out;
}

void FreeListAllocator::add_region(std::uint64_t offset, std::uint64_t size) {
    assert(regions_mode_ && size > 0 && offset <= capacity_ && size <= capacity_ - offset);
    assert(detail::bucket_floor(size) < heads_.size() && "add_region: larger than the largest region");
    const std::uint32_t index = new_node();
    nodes_[index] = Node{offset, size, kNone, kNone, kNone, kNone};
    insert_free(index);
    region_bytes_ += size;
}

bool FreeListAllocator::remove_region(std::uint64_t offset, std::uint64_t size) {
    if (!regions_mode_ || size == 0 || detail::bucket_floor(size) >= heads_.size()) return false;
    for (std::uint32_t index = heads_[detail::bucket_floor(size)]; index != kNone; index = nodes_[index].free_next) {
        const Node& node = nodes_[index];
        if (node.offset == offset && node.size == size && node.phys_prev == kNone && node.phys_next == kNone) {
            remove_free(index);
            recycle_node(index);
            region_bytes_ -= size;
            return true;
        }
    }
    return false;
}

std::uint64_t FreeListAllocator::largest_free_range_in(std::uint64_t begin, std::uint64_t end) const {
    std::uint64_t largest = 0;
    for (const Node& node : nodes_) {
        if (node.free_prev == kUsed || node.free_prev == kUnused) continue;
        if (node.offset >= begin && node.offset < end && node.size > largest) largest = node.size;
    }
    return largest;
}

bool FreeListAllocator::validate_regions() const {
    // Each chain (a region) is contiguous and coalesced; chains do not overlap;
    // their bytes add up to region_bytes_.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> chains;
    std::uint64_t used_sum = 0, used_count = 0, free_count = 0, in_chains = 0, unused = 0;
    for (std::uint32_t head = 0; head < nodes_.size(); ++head) {
        const Node& first = nodes_[head];
        if (first.free_prev == kUnused) {
            ++unused;
            continue;
        }
        if (first.phys_prev != kNone) continue;
        std::uint64_t end = first.offset;
        bool prev_free = false;
        std::uint32_t prev = kNone;
        for (std::uint32_t index = head; index != kNone; index = nodes_[index].phys_next) {
            if (index >= nodes_.size() || ++in_chains > nodes_.size()) return false;
            const Node& node = nodes_[index];
            if (node.phys_prev != prev || node.offset != end || node.size == 0 || node.free_prev == kUnused) return false;
            const bool is_free = node.free_prev != kUsed;
            if (is_free && prev_free) return false;
            if (is_free) ++free_count;
            else ++used_count, used_sum += node.size;
            end = node.offset + node.size;
            prev = index;
            prev_free = is_free;
        }
        chains.emplace_back(first.offset, end);
    }
    std::sort(chains.begin(), chains.end());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < chains.size(); ++i) {
        if (i > 0 && chains[i - 1].second > chains[i].first) return false;
        total += chains[i].second - chains[i].first;
    }
    return total == region_bytes_ && used_count == allocation_count_ && used_sum == used_bytes_ &&
           free_count == free_block_count_ && unused == unused_node_count_ && in_chains + unused == nodes_.size();
}

void FreeListAllocator::take(FreeListAllocator& other) noexcept {
    regions_mode_ = std::exchange(other.regions_mode_, false);
    region_bytes_ = std::exchange(other.region_bytes_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    used_bytes_ = std::exchange(other.used_bytes_, 0);
    requested_bytes_ = std::exchange(other.requested_bytes_, 0);
    allocation_count_ = std::exchange(other.allocation_count_, 0);
    free_block_count_ = std::exchange(other.free_block_count_, 0);
    nodes_ = std::move(other.nodes_);
    other.nodes_.clear();
    recycle_head_ = std::exchange(other.recycle_head_, kNone);
    unused_node_count_ = std::exchange(other.unused_node_count_, 0);
    fl_bitmap_ = std::exchange(other.fl_bitmap_, 0);
    sl_bitmap_ = other.sl_bitmap_;
    other.sl_bitmap_.fill(0);
    heads_ = std::move(other.heads_);
    other.heads_.clear();
}

FreeListAllocator::FreeListAllocator(FreeListAllocator&& other) noexcept { take(other); }

FreeListAllocator& FreeListAllocator::operator=(FreeListAllocator&& other) noexcept {
    if (this != &other) take(other);
    return *this;
}

inline std::uint32_t FreeListAllocator::new_node() {
    if (recycle_head_ != kNone) {
        const std::uint32_t index = recycle_head_;
        recycle_head_ = nodes_[index].phys_next;
        --unused_node_count_;
        return index;
    }
    nodes_.emplace_back();
    return static_cast<std::uint32_t>(nodes_.size() - 1);
}

inline void FreeListAllocator::recycle_node(std::uint32_t index) {
    Node& node = nodes_[index];
    node.free_prev = kUnused;
    node.free_next = kNone;
    node.phys_prev = kNone;
    node.phys_next = recycle_head_;
    recycle_head_ = index;
    ++unused_node_count_;
}

inline void FreeListAllocator::insert_free(std::uint32_t index) {
    Node& node = nodes_[index];
    const std::uint32_t bucket = detail::bucket_floor(node.size);
    const std::uint32_t head = heads_[bucket];
    node.free_prev = kNone;
    node.free_next = head;
    if (head != kNone) nodes_[head].free_prev = index;
    heads_[bucket] = index;
    sl_bitmap_[bucket >> kSlLog2] |= std::uint64_t{1} << (bucket & (kSlCount - 1));
    fl_bitmap_ |= std::uint64_t{1} << (bucket >> kSlLog2);
    ++free_block_count_;
}

inline void FreeListAllocator::remove_free(std::uint32_t index) {
    const Node& node = nodes_[index];
    const std::uint32_t bucket = detail::bucket_floor(node.size);
    if (node.free_prev != kNone) nodes_[node.free_prev].free_next = node.free_next;
    else heads_[bucket] = node.free_next;
    if (node.free_next != kNone) nodes_[node.free_next].free_prev = node.free_prev;
    if (heads_[bucket] == kNone) {
        const std::uint32_t fl = bucket >> kSlLog2;
        sl_bitmap_[fl] &= ~(std::uint64_t{1} << (bucket & (kSlCount - 1)));
        if (sl_bitmap_[fl] == 0) fl_bitmap_ &= ~(std::uint64_t{1} << fl);
    }
    --free_block_count_;
}

inline std::uint32_t FreeListAllocator::find_nonempty_bucket(std::uint32_t bucket) const {
    if (bucket >= kBucketCount) return kNone;
    std::uint32_t fl = bucket >> kSlLog2;
    const std::uint64_t sl_map = sl_bitmap_[fl] & (~std::uint64_t{0} << (bucket & (kSlCount - 1)));
    if (sl_map != 0) return (fl << kSlLog2) | static_cast<std::uint32_t>(std::countr_zero(sl_map));
    if (fl + 1 >= kFlCount) return kNone;
    const std::uint64_t fl_map = fl_bitmap_ & (~std::uint64_t{0} << (fl + 1));
    if (fl_map == 0) return kNone;
    fl = static_cast<std::uint32_t>(std::countr_zero(fl_map));
    return (fl << kSlLog2) | static_cast<std::uint32_t>(std::countr_zero(sl_bitmap_[fl]));
}

std::uint32_t FreeListAllocator::search(std::uint64_t size, std::uint64_t alignment) const {
    // 1. Good fit: the first non-empty bucket whose blocks are all >= size.
    const std::uint32_t good = find_nonempty_bucket(detail::bucket_ceil(size));
    if (good != kNone) {
        const std::uint32_t found = lowest_fitting(good, size, alignment);
        if (found != kNone) return found;
    }
    // 2. Guaranteed fit: every block >= size + alignment - 1 holds the aligned request.
    std::uint32_t end_bucket = kBucketCount;
    if (alignment > 1 && alignment - 1 <= capacity_ - size) {
        end_bucket = detail::bucket_ceil(size + (alignment - 1));
        const std::uint32_t sure = find_nonempty_bucket(end_bucket);
        if (sure != kNone) return lowest_fitting(sure, size, alignment);
    }
    // 3. Bounded scan of the buckets that may still hold a fitting block.
    return fallback_search(size, alignment, end_bucket);
}

inline std::uint32_t FreeListAllocator::lowest_fitting(std::uint32_t bucket, std::uint64_t size,
                                                      std::uint64_t alignment) const {
    std::uint32_t best = kNone;
    std::uint32_t index = heads_[bucket];
    for (std::uint32_t n = 0; n < kGoodFitCandidates && index != kNone; ++n, index = nodes_[index].free_next) {
        const Node& node = nodes_[index];
        if ((best == kNone || node.offset < nodes_[best].offset) &&
            detail::fits(node.offset, node.size, size, alignment)) {
            best = index;
        }
    }
    return best;
}

std::uint32_t FreeListAllocator::fallback_search(std::uint64_t size, std::uint64_t alignment,
                                                 std::uint32_t end_bucket) const {
    std::uint32_t examined = 0;
    std::uint32_t bucket = find_nonempty_bucket(detail::bucket_floor(size));
    while (bucket != kNone && bucket < end_bucket) {
        for (std::uint32_t index = heads_[bucket]; index != kNone; index = nodes_[index].free_next) {
            if (++examined > kFallbackCandidates) return kNone;
            if (detail::fits(nodes_[index].offset, nodes_[index].size, size, alignment)) return index;
        }
        bucket = find_nonempty_bucket(bucket + 1);
    }
    return kNone;
}

inline std::uint32_t FreeListAllocator::place(std::uint32_t index, std::uint64_t size, std::uint64_t alignment) {
    remove_free(index);
    const std::uint64_t pad = detail::padding_for(nodes_[index].offset, alignment);
    if (pad != 0) {
        // The padding before the aligned offset becomes a free block of its own;
        // its physical predecessor is used (blocks are coalesced), so it stays apart.
        const std::uint32_t front = new_node();
        Node& block = nodes_[index];
        Node& head = nodes_[front];
        head.offset = block.offset;
        head.size = pad;
        head.phys_prev = block.phys_prev;
        head.phys_next = index;
        if (block.phys_prev != kNone) nodes_[block.phys_prev].phys_next = front;
        block.phys_prev = front;
        block.offset += pad;
        block.size -= pad;
        insert_free(front);
    }
    if (nodes_[index].size != size) {
        const std::uint32_t back = new_node();
        Node& block = nodes_[index];
        Node& tail = nodes_[back];
        tail.offset = block.offset + size;
        tail.size = block.size - size;
        tail.phys_prev = index;
        tail.phys_next = block.phys_next;
        if (block.phys_next != kNone) nodes_[block.phys_next].phys_prev = back;
        block.phys_next = back;
        block.size = size;
        insert_free(back);
    }
    Node& block = nodes_[index];
    block.free_prev = kUsed;
    block.free_next = kNone;
    return index;
}

Result<SubAllocation, SubAllocationError> FreeListAllocator::allocate(std::uint64_t size,
                                                                      std::uint64_t alignment) {
    if (size == 0 || size > capacity_) return unexpected(SubAllocationError::invalid_size);
    if (!std::has_single_bit(alignment)) return unexpected(SubAllocationError::invalid_alignment);
    // A split takes up to two more nodes; node indices are 32-bit.
    if (unused_node_count_ < 2 && nodes_.size() > detail::kMaxNodes - 2) {
        return unexpected(SubAllocationError::out_of_space);
    }
    const std::uint32_t found = search(size, alignment);
    if (found == kNone) return unexpected(SubAllocationError::out_of_space);
    const std::uint32_t index = place(found, size, alignment);
    used_bytes_ += size;
    requested_bytes_ += size;
    ++allocation_count_;
    return SubAllocation{nodes_[index].offset, size, size, index};
}

void FreeListAllocator::free(const SubAllocation& allocation) {
    std::uint32_t index = allocation.metadata;
    assert(index < nodes_.size() && "FreeListAllocator::free: allocation not from this allocator");
    assert(nodes_[index].free_prev == kUsed && "FreeListAllocator::free: allocation is not live");
    assert(nodes_[index].offset == allocation.offset && nodes_[index].size == allocation.reserved &&
           "FreeListAllocator::free: allocation does not match its block");
    used_bytes_ -= nodes_[index].size;
    requested_bytes_ -= allocation.size;
    --allocation_count_;

    const std::uint32_t prev = nodes_[index].phys_prev;
    if (prev != kNone && nodes_[prev].free_prev != kUsed) {
        remove_free(prev);
        Node& left = nodes_[prev];
        const Node& block = nodes_[index];
        left.size += block.size;
        left.phys_next = block.phys_next;
        if (block.phys_next != kNone) nodes_[block.phys_next].phys_prev = prev;
        recycle_node(index);
        index = prev;
    }
    const std::uint32_t next = nodes_[index].phys_next;
    if (next != kNone && nodes_[next].free_prev != kUsed) {
        remove_free(next);
        Node& block = nodes_[index];
        const Node& right = nodes_[next];
        block.size += right.size;
        block.phys_next = right.phys_next;
        if (right.phys_next != kNone) nodes_[right.phys_next].phys_prev = index;
        recycle_node(next);
    }
    insert_free(index);
}

SubAllocatorStats FreeListAllocator::stats() const {
    SubAllocatorStats result;
    result.capacity = capacity();
    result.used_bytes = used_bytes_;
    result.requested_bytes = requested_bytes_;
    result.allocation_count = allocation_count_;
    result.free_range_count = free_block_count_;
    if (fl_bitmap_ != 0) {
        // The largest non-empty bucket holds the largest block; its list gives the exact size.
        const auto fl = static_cast<std::uint32_t>(std::bit_width(fl_bitmap_) - 1);
        const auto sl = static_cast<std::uint32_t>(std::bit_width(sl_bitmap_[fl]) - 1);
        for (std::uint32_t index = heads_[(fl << kSlLog2) | sl]; index != kNone; index = nodes_[index].free_next) {
            if (nodes_[index].size > result.largest_free_range) result.largest_free_range = nodes_[index].size;
        }
    }
    return result;
}

bool FreeListAllocator::validate_chain() const {
    if (nodes_.empty()) return false;

    // Physical chain: starts at node 0 / offset 0, contiguous, coalesced, ends at capacity.
    std::uint64_t expected_offset = 0;
    std::uint64_t used_sum = 0;
    std::uint64_t used_count = 0;
    std::uint64_t free_count = 0;
    std::uint64_t chain_length = 0;
    std::uint32_t prev = kNone;
    bool prev_free = false;
    for (std::uint32_t index = 0; index != kNone; index = nodes_[index].phys_next) {
        if (index >= nodes_.size() || ++chain_length > nodes_.size()) return false;
        const Node& node = nodes_[index];
        if (node.phys_prev != prev || node.offset != expected_offset || node.size == 0) return false;
        if (node.size > capacity_ - node.offset) return false;
        if (node.free_prev == kUnused) return false;
        const bool is_free = node.free_prev != kUsed;
        if (is_free && prev_free) return false;
        if (is_free) {
            ++free_count;
        } else {
            if (node.free_next != kNone) return false;
            ++used_count;
            used_sum += node.size;
        }
        expected_offset = node.offset + node.size;
        prev = index;
        prev_free = is_free;
    }
    if (expected_offset != capacity_) return false;
    if (used_count != allocation_count_ || used_sum != used_bytes_ || requested_bytes_ != used_bytes_) return false;
    if (free_count != free_block_count_) return false;

    // Recycle chain: every pool node is either in the physical chain or recycled.
    std::uint64_t unused = 0;
    for (std::uint32_t index = recycle_head_; index != kNone; index = nodes_[index].phys_next) {
        if (index >= nodes_.size() || ++unused > nodes_.size()) return false;
        if (nodes_[index].free_prev != kUnused) return false;
    }
    if (unused != unused_node_count_ || unused + chain_length != nodes_.size()) return false;
    return true;
}

bool FreeListAllocator::validate() const {
    if (capacity_ == 0) {
        return nodes_.empty() && used_bytes_ == 0 && requested_bytes_ == 0 && allocation_count_ == 0 &&
               free_block_count_ == 0 && fl_bitmap_ == 0;
    }
    if (heads_.empty() || heads_.size() > kBucketCount) return false;
    if (!(regions_mode_ ? validate_regions() : validate_chain())) return false;

    // Bucket lists and bitmaps.
    // Raw pointers: this loop runs over every bucket, also in unoptimized builds.
    const Node* nodes = nodes_.data();
    const std::uint32_t* heads = heads_.data();
    const std::size_t node_count = nodes_.size();
    std::uint64_t listed = 0;
    for (std::uint32_t fl = 0; fl < kFlCount; ++fl) {
        const bool fl_bit = (fl_bitmap_ >> fl) & 1u;
        if (fl_bit != (sl_bitmap_[fl] != 0)) return false;
        for (std::uint32_t sl = 0; sl < kSlCount; ++sl) {
            const std::uint32_t bucket = (fl << kSlLog2) | sl;
            const bool sl_bit = (sl_bitmap_[fl] >> sl) & 1u;
            if (bucket >= heads_.size()) {  // beyond the table: no block is that large
                if (sl_bit) return false;
                continue;
            }
            if (sl_bit != (heads[bucket] != kNone)) return false;
            std::uint32_t list_prev = kNone;
            for (std::uint32_t index = heads[bucket]; index != kNone; index = nodes[index].free_next) {
                if (index >= node_count || ++listed > free_block_count_) return false;
                const Node& node = nodes[index];
                if (node.free_prev != list_prev) return false;
                if (node.size == 0 || detail::bucket_floor(node.size) != bucket) return false;
                list_prev = index;
            }
        }
    }
    return listed == free_block_count_;
}

}  // namespace gpu_alloc
