// Counters the allocator keeps: per memory type, per heap and in total.
#pragma once

#include <cstdint>
#include <vector>

namespace gpu_alloc {

/// Counters of one memory type, one heap, or the whole allocator.
struct MemoryStats {
    std::uint64_t device_objects = 0;       ///< live device memory objects (chunks + dedicated + imported)
    std::uint64_t reserved_bytes = 0;       ///< bytes of those objects
    std::uint64_t used_bytes = 0;           ///< bytes taken by live blocks, strategy rounding included
    std::uint64_t requested_bytes = 0;      ///< bytes asked for by live blocks
    std::uint64_t block_count = 0;          ///< live blocks
    std::uint64_t largest_free_range = 0;   ///< largest range a new block could take without a new object
    std::uint64_t peak_device_objects = 0;  ///< highest device_objects seen
    std::uint64_t peak_reserved_bytes = 0;  ///< highest reserved_bytes seen
    std::uint64_t device_allocations = 0;   ///< device memory objects ever created
    std::uint64_t device_frees = 0;         ///< device memory objects ever destroyed
};

/// A full statistics report.
struct Statistics {
    MemoryStats total;
    std::vector<MemoryStats> heaps;         ///< indexed by heap
    std::vector<MemoryStats> memory_types;  ///< indexed by memory type
};

/// The O(1) running totals (atomic reads, no locks): cheap enough to read after
/// every operation, as the replay tool does to find the peak.
struct TotalCounters {
    std::uint64_t device_objects = 0;
    std::uint64_t reserved_bytes = 0;
    std::uint64_t used_bytes = 0;
    std::uint64_t requested_bytes = 0;
    std::uint64_t block_count = 0;
    std::uint64_t device_allocations = 0;
};

}  // namespace gpu_alloc
