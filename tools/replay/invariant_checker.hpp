// InvariantChecker: an independent model of what the allocator handed out,
// checked on every step of the replay's checked run.
//
// The allocator validates its own strategies; this checks the promises a user
// relies on, from outside, with nothing but the blocks' (memory object,
// offset, size) and the device's properties:
//   1. no two live blocks of one device memory object overlap;
//   2. every block's offset is a multiple of its request's alignment;
//   3. every block lies inside its memory object (when the object's size is known);
//   4. a linear and an optimal resource (ResourceKind) never share a page of
//      buffer_image_granularity in one memory object; resources of unknown
//      kind count as optimal;
//   5. the block's memory type is in the request's type mask, and host-visible
//      when the usage needs host access (upload, download, host);
//   6. each heap's reserved bytes stay within the heap's size, and the live
//      device memory objects within max_memory_allocation_count.
// Blocks are kept per memory object in an ordered map by offset, so each check
// looks at two neighbours: O(log n) per operation. Only immediate neighbours
// need the granularity check: if two blocks of different kinds shared a page,
// every block between them would lie in that page too, and somewhere along
// that run two adjacent blocks differ in kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <gpu_alloc/request.hpp>
#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc::replay {

/// A block as the checker sees it.
struct CheckedBlock {
    std::uint64_t object = 0;       ///< the memory object, as a number unique among live objects
    std::uint64_t object_size = 0;  ///< bytes of the memory object; 0 when unknown
    std::uint32_t memory_type = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;  ///< bytes requested
};

/// Checks the invariants in the file comment and collects violations.
class InvariantChecker {
public:
    /// `max_messages`: how many violation messages are kept (all are counted).
    explicit InvariantChecker(const DeviceProperties& props, std::size_t max_messages = 20);

    /// Records a new live block for `request` and checks invariants 1-5 against
    /// the blocks live in its object. `op_index` is only used in messages.
    void on_allocate(std::uint64_t op_index, const Request& request, const CheckedBlock& block);
    /// Forgets the live block at (object, offset). A block the checker does not
    /// know is itself a violation (the allocator returned something twice, or
    /// the caller lost track).
    void on_free(std::uint64_t op_index, std::uint64_t object, std::uint64_t offset);
    /// Checks invariant 6 with each heap's reserved bytes and the live object count.
    void check_heaps(std::uint64_t op_index, std::span<const std::uint64_t> heap_reserved_bytes,
                     std::uint64_t device_objects);
    /// Counts a violation found elsewhere (the mock device's misuse reports, the
    /// allocator's misuse counter) with its message.
    void report(std::uint64_t op_index, std::string message);

    /// Violations so far.
    std::uint64_t violations() const noexcept { return violations_; }
    /// The first `max_messages` violation messages, "op N: ...".
    const std::vector<std::string>& messages() const noexcept { return messages_; }
    /// Live blocks known to the checker.
    std::uint64_t live_blocks() const noexcept { return live_blocks_; }

private:
    struct Entry {
        std::uint64_t end = 0;  ///< offset + size
        ResourceKind kind = ResourceKind::linear;
    };

    DeviceProperties props_;
    std::unordered_map<std::uint64_t, std::map<std::uint64_t, Entry>> objects_;
    std::uint64_t live_blocks_ = 0;
    std::uint64_t violations_ = 0;
    std::size_t max_messages_;
    std::vector<std::string> messages_;
};

}  // namespace gpu_alloc::replay
