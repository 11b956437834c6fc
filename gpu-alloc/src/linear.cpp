// LinearAllocator: bump pointer with reset-on-empty and LIFO roll-back; see
// linear.hpp. allocate() is inline in the header because it is a handful of
// instructions on the per-frame hot path.
#include <gpu_alloc/linear.hpp>

#include <cassert>

namespace gpu_alloc {

void LinearAllocator::free(const SubAllocation& allocation) noexcept {
    const std::uint64_t end = allocation.offset + allocation.size;
    if (allocation_count_ == 0 || allocation.size == 0 || allocation.size > requested_bytes_ ||
        allocation.reserved < allocation.size || allocation.reserved - allocation.size > allocation.offset ||
        end > head_) {
        assert(false && "LinearAllocator::free: double free or not an allocation of this allocator");
        return;
    }
    --allocation_count_;
    requested_bytes_ -= allocation.size;
    if (allocation_count_ == 0) {
        head_ = 0;
    } else if (end == head_) {
        head_ = end - allocation.reserved;
    }
}

bool LinearAllocator::validate() const noexcept {
    if (head_ > capacity_) return false;
    if (allocation_count_ == 0) return head_ == 0 && requested_bytes_ == 0;
    return requested_bytes_ <= head_ && requested_bytes_ >= allocation_count_;
}

SubAllocatorStats LinearAllocator::stats() const noexcept {
    SubAllocatorStats s;
    s.capacity = capacity_;
    s.used_bytes = head_;
    s.requested_bytes = requested_bytes_;
    s.allocation_count = allocation_count_;
    s.largest_free_range = capacity_ - head_;
    s.free_range_count = head_ < capacity_ ? 1 : 0;
    return s;
}

}  // namespace gpu_alloc
