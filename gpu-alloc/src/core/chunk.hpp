// A device memory object as the core keeps it: the block-visible part
// (ChunkView), the pool that owns it, its identity, and the lock that keeps
// the device from seeing two map/unmap/flush/invalidate calls on it at once.
// Strategies extend it (pool.hpp): a region of the free-list pool's address
// space, or a strategy instance of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <gpu_alloc/detail/block_data.hpp>
#include <gpu_alloc/snapshot.hpp>

namespace gpu_alloc::detail {

class Pool;

struct Chunk : ChunkView {
    Chunk() = default;
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;
    virtual ~Chunk() = default;

    Pool* pool = nullptr;           ///< owner; a block frees through chunk -> pool
    std::uint64_t id = 0;           ///< unique per allocator, in creation order
    std::uint32_t heap = 0;
    std::uint32_t pool_index = 0;   ///< position in the pool's chunk list (O(1) removal)
    bool imported = false;

    // Device calls on this object (map, unmap, flush, invalidate) happen under
    // this lock: the MemoryDevice contract promises no two at once on one object.
    std::mutex device_mutex;
    std::uint32_t map_count = 0;  ///< blocks holding a mapping (under device_mutex)

    /// Live blocks by offset, only with Config::track_blocks; under the pool's lock.
    std::unique_ptr<std::unordered_map<std::uint64_t, BlockSnapshot>> tracked;
};

}  // namespace gpu_alloc::detail
