// A device memory object as the allocator sees it: the handle, where it came
// from, its shared host mapping, and (when block tracking is on) its blocks.
// Sub-allocating chunks extend it with their strategy (pool.hpp); dedicated and
// imported objects are a bare ChunkHeader holding one block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/types/flags.hpp>

namespace gpu_alloc::detail {

template <class Memory>
struct ChunkHeader {
    ChunkHeader(Memory memory_, std::uint64_t size_, std::uint64_t id_, std::uint32_t memory_type_,
                std::uint32_t heap_, MemoryPropertyFlags props_, StrategyKind strategy_) noexcept
        : memory(memory_), size(size_), id(id_), memory_type(memory_type_), heap(heap_), props(props_),
          strategy(strategy_) {}
    ChunkHeader(const ChunkHeader&) = delete;
    ChunkHeader& operator=(const ChunkHeader&) = delete;

    const Memory memory;
    const std::uint64_t size;         ///< bytes of the device memory object
    const std::uint64_t id;           ///< unique per allocator, for dumps
    const std::uint32_t memory_type;
    const std::uint32_t heap;
    const MemoryPropertyFlags props;
    const StrategyKind strategy;      ///< dedicated for dedicated and imported objects
    bool imported = false;
    std::uint8_t shard = 0;  ///< the pool shard that owns it (GpuAllocator::PoolSet)

    // The chunk is mapped once, on the first block's map(), and stays mapped
    // until it is destroyed: blocks share the mapping. map_count is the number
    // of blocks that currently hold a mapping (for statistics and checks).
    std::mutex map_mutex;
    std::byte* mapped = nullptr;
    std::uint32_t map_count = 0;

    // Live blocks by offset, only when Config::track_blocks is on; guarded by
    // the owning pool's lock (or the dedicated set's lock).
    std::unique_ptr<std::unordered_map<std::uint64_t, BlockSnapshot>> tracked;
};

}  // namespace gpu_alloc::detail
