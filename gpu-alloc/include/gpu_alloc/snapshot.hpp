// A picture of the allocator at one moment: every chunk (device memory object)
// and, when block tracking is on, every block inside it. Plain data, no
// templates, so that tools (the JSON dump, the SVG memory map) can consume it
// without knowing the backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/request.hpp>

namespace gpu_alloc {

/// One live block of a chunk (only recorded when Config::track_blocks is on).
struct BlockSnapshot {
    std::uint64_t offset = 0;  ///< bytes from the start of the chunk
    std::uint64_t size = 0;    ///< bytes requested
    UsageFlags usage = UsageFlags::none;
    ResourceKind kind = ResourceKind::unknown;
    std::string name;  ///< Request::name, may be empty
};

/// One device memory object owned by the allocator.
struct ChunkSnapshot {
    std::uint64_t id = 0;  ///< unique per allocator, in creation order
    std::uint32_t memory_type = 0;
    std::uint32_t heap = 0;
    std::uint64_t size = 0;           ///< bytes of the device memory object
    StrategyKind strategy = StrategyKind::free_list;  ///< dedicated for dedicated/imported objects
    std::uint64_t used_bytes = 0;     ///< bytes taken by blocks, rounding included
    std::uint64_t block_count = 0;
    std::uint64_t largest_free_range = 0;
    bool mapped = false;
    bool imported = false;
    std::vector<BlockSnapshot> blocks;  ///< empty unless Config::track_blocks
};

/// Every chunk of the allocator, ordered by memory type, then creation.
struct AllocatorSnapshot {
    bool blocks_tracked = false;  ///< whether ChunkSnapshot::blocks are filled
    std::vector<ChunkSnapshot> chunks;
};

}  // namespace gpu_alloc
