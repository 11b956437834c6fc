// The checks of invariant_checker.hpp, one neighbour lookup per block.
#include "invariant_checker.hpp"

#include <iterator>

namespace gpu_alloc::replay {

namespace {

bool is_linear(ResourceKind kind) noexcept { return kind == ResourceKind::linear; }

std::string describe(std::uint64_t object, std::uint64_t offset, std::uint64_t end) {
    return "object " + std::to_string(object) + " [" + std::to_string(offset) + ", " + std::to_string(end) + ")";
}

}  // namespace

InvariantChecker::InvariantChecker(const DeviceProperties& props, std::size_t max_messages)
    : props_(props), max_messages_(max_messages) {}

void InvariantChecker::report(std::uint64_t op_index, std::string message) {
    ++violations_;
    if (messages_.size() < max_messages_) messages_.push_back("op " + std::to_string(op_index) + ": " + message);
}

void InvariantChecker::on_allocate(std::uint64_t op_index, const Request& request, const CheckedBlock& block) {
    const std::uint64_t end = block.offset + block.size;
    // Built only when something is wrong: this runs on every allocation.
    auto where = [&] { return describe(block.object, block.offset, end); };
    if (request.alignment != 0 && block.offset % request.alignment != 0)
        report(op_index, where() + ": offset is not a multiple of the alignment " + std::to_string(request.alignment));
    if (block.size != request.size)
        report(op_index, where() + ": block size differs from the requested " + std::to_string(request.size));
    if (end < block.offset || (block.object_size != 0 && end > block.object_size))
        report(op_index, where() + ": outside its memory object of " + std::to_string(block.object_size) + " bytes");
    if (block.memory_type >= props_.memory_types.size() || (request.memory_types & (1u << block.memory_type)) == 0) {
        report(op_index, where() + ": memory type " + std::to_string(block.memory_type) + " is not in the request's mask");
    } else if (needs_host_access(request.usage) &&
               !contains(props_.memory_types[block.memory_type].props, MemoryPropertyFlags::host_visible)) {
        report(op_index, where() + ": usage needs host access but memory type " + std::to_string(block.memory_type) +
                             " is not host-visible");
    }

    auto& blocks = objects_[block.object];
    const std::uint64_t page = props_.buffer_image_granularity;
    auto next = blocks.lower_bound(block.offset);
    if (next != blocks.end()) {
        if (next->first < end || next->first == block.offset)
            report(op_index, where() + " overlaps the live block at " + std::to_string(next->first));
        else if (page > 1 && is_linear(next->second.kind) != is_linear(request.kind) &&
                 (end - 1) / page == next->first / page)
            report(op_index, where() + " shares a granularity page with the next block at " +
                                 std::to_string(next->first) + " of the other resource kind");
    }
    if (next != blocks.begin()) {
        auto prev = std::prev(next);
        if (prev->second.end > block.offset)
            report(op_index, where() + " overlaps the live block at " + std::to_string(prev->first));
        else if (page > 1 && is_linear(prev->second.kind) != is_linear(request.kind) &&
                 (prev->second.end - 1) / page == block.offset / page)
            report(op_index, where() + " shares a granularity page with the previous block at " +
                                 std::to_string(prev->first) + " of the other resource kind");
    }
    // Keep the newer block even over an overlapping one: freeing either later
    // must still find its entry, so one bug is reported once.
    if (next != blocks.end() && next->first == block.offset) {
        next->second = Entry{end, request.kind};
        return;
    }
    blocks.emplace_hint(next, block.offset, Entry{end, request.kind});
    ++live_blocks_;
}

void InvariantChecker::on_free(std::uint64_t op_index, std::uint64_t object, std::uint64_t offset) {
    auto it = objects_.find(object);
    if (it == objects_.end() || it->second.erase(offset) == 0) {
        report(op_index, "free of " + describe(object, offset, offset) + ", which the checker does not know as live");
        return;
    }
    if (it->second.empty()) objects_.erase(it);
    if (live_blocks_ > 0) --live_blocks_;
}

void InvariantChecker::check_heaps(std::uint64_t op_index, std::span<const std::uint64_t> heap_reserved_bytes,
                                   std::uint64_t device_objects) {
    for (std::size_t h = 0; h < heap_reserved_bytes.size() && h < props_.memory_heaps.size(); ++h) {
        if (heap_reserved_bytes[h] > props_.memory_heaps[h].size)
            report(op_index, "heap " + std::to_string(h) + " holds " + std::to_string(heap_reserved_bytes[h]) +
                                 " bytes of device memory objects, more than its size " +
                                 std::to_string(props_.memory_heaps[h].size));
    }
    if (device_objects > props_.max_memory_allocation_count)
        report(op_index, std::to_string(device_objects) + " live device memory objects, more than " +
                             "max_memory_allocation_count " + std::to_string(props_.max_memory_allocation_count));
}

}  // namespace gpu_alloc::replay
