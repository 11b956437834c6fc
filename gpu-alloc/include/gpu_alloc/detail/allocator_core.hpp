// The allocator's implementation, compiled once into the core library and
// shared by every GpuAllocator<Memory>: the typed class only converts handles
// and devices (detail/device_ref.hpp) and forwards here. See
// docs/architecture.md for the life of an allocate and a deallocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <vector>

#include <gpu_alloc/allocation_error.hpp>
#include <gpu_alloc/config.hpp>
#include <gpu_alloc/detail/block_data.hpp>
#include <gpu_alloc/detail/device_ref.hpp>
#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/statistics.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/request.hpp>

namespace gpu_alloc {

struct DefragmentationOptions;
struct DefragmentationStats;

/// Why mapping, flushing or copying through a block failed.
enum class MapError : std::uint8_t {
    not_host_visible,     ///< the block's memory type cannot be mapped
    already_mapped,       ///< this block is already mapped
    not_mapped,           ///< flush/invalidate/unmap of a block that is not mapped
    out_of_bounds,        ///< offset + size beyond the block
    empty_block,          ///< the block holds no memory (moved from, or given back)
    out_of_device_memory,
    out_of_host_memory,
    map_failed,           ///< the device could not map the memory object (or gave no address)
};

namespace detail {

class CoreState;

/// One planned relocation, untyped (see defragmentation.hpp).
struct MoveData {
    BlockData* block = nullptr;  ///< the caller's block, at its source until the pass ends
    std::size_t index = 0;       ///< its position in the span given to plan_defragmentation
    BlockData destination;       ///< owned by the pass until then
    std::uint64_t source_chunk_id = 0;
    std::uint64_t source_offset = 0;
    bool vetoed = false;
};

class AllocatorCore {
public:
    AllocatorCore(const DeviceProperties& props, const Config& config, const HandleOps& handles);
    AllocatorCore(const AllocatorCore&) = delete;
    AllocatorCore& operator=(const AllocatorCore&) = delete;
    ~AllocatorCore();

    /// Fills `out` and returns true, or sets `error` and returns false with nothing changed.
    bool allocate(DeviceRef device, const Request& request, BlockData& out, AllocationError& error);
    void deallocate(DeviceRef device, BlockData& block);
    void cleanup(DeviceRef device);
    void refresh_budget(DeviceRef device);
    bool import_memory(std::uint64_t memory, std::uint32_t memory_type, std::uint64_t size, BlockData& out,
                       AllocationError& error);

    std::uint64_t remaining_allocations() const noexcept;
    TotalCounters totals() const noexcept;
    Statistics statistics() const;
    AllocatorSnapshot snapshot() const;
    void dump_json(std::ostream& out) const;
    const DeviceProperties& properties() const noexcept;
    const Config& config() const noexcept;
    std::uint64_t misuse_count() const noexcept;
    /// Budget of `heap` and what others use of it, bytes (0, 0 for an unknown heap).
    HeapBudget heap_budget(std::uint32_t heap) const noexcept;

    /// Defragmentation (defragmenter.cpp): plans one pass over `blocks` into `moves`.
    void plan_defragmentation(DeviceRef device, std::span<BlockData* const> blocks, const DefragmentationOptions& o,
                              std::vector<MoveData>& moves);
    void apply_defragmentation(DeviceRef device, const DefragmentationOptions& o, std::vector<MoveData>& moves,
                               DefragmentationStats& stats);

    CoreState& state() noexcept { return *state_; }

private:
    CoreState* state_;
};

// Block operations (block_ops.cpp). Each returns true on success, else sets `error`.
bool block_map(DeviceRef device, BlockData& block, std::uint64_t offset, std::uint64_t size, std::byte*& out,
               MapError& error);
bool block_unmap(BlockData& block, MapError& error);
bool block_sync(DeviceRef device, BlockData& block, std::uint64_t offset, std::uint64_t size, bool flush,
                MapError& error);
/// Host address of the block's first byte while it is mapped, else null.
inline std::byte* block_mapped_ptr(const BlockData& block) noexcept {
    if (!block.chunk || !block.mapped()) return nullptr;
    return block.chunk->mapped.load(std::memory_order_acquire) + block.offset;
}

}  // namespace detail
}  // namespace gpu_alloc
