// MemoryBlock: a piece of device memory handed out by GpuAllocator.
//
// It names the device memory object, the offset and size inside it, and the
// memory type, and it can map, flush, invalidate, read and write its bytes.
// A block is a move-only value of 32 bytes that must be given back with
// GpuAllocator::deallocate: one destroyed while still holding memory is
// reported (see set_block_leak_handler) and its memory stays allocated, never
// silently freed behind the caller's back (the GPU may still be using it). The
// report reads only the block itself, so it is safe after the allocator is gone.
//
// Thread safety: one thread uses a block at a time. Blocks of one chunk may be
// mapped, flushed and invalidated from different threads at once: the chunk's
// lock keeps the device from seeing two calls on one memory object together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include <gpu_alloc/detail/allocator_core.hpp>
#include <gpu_alloc/types/device.hpp>

namespace gpu_alloc {

template <class Memory>
class GpuAllocator;
template <class Memory>
class Defragmentation;
template <class Memory>
class DefragmentationMove;

constexpr std::string_view to_string(MapError e) noexcept {
    switch (e) {
        case MapError::not_host_visible: return "memory is not host visible";
        case MapError::already_mapped: return "block is already mapped";
        case MapError::not_mapped: return "block is not mapped";
        case MapError::out_of_bounds: return "range is outside the block";
        case MapError::empty_block: return "block holds no memory";
        case MapError::out_of_device_memory: return "out of device memory";
        case MapError::out_of_host_memory: return "out of host memory";
        case MapError::map_failed: return "map failed";
    }
    return "unknown MapError";
}

/// What is known about a block that was destroyed without being given back.
struct BlockLeak {
    std::uint32_t memory_type;
    std::uint64_t offset;
    std::uint64_t size;
    StrategyKind strategy;
};

/// Called when a MemoryBlock holding memory is destroyed. The default prints to stderr.
using BlockLeakHandler = void (*)(const BlockLeak&);
/// The same, with the user data given to set_block_leak_callback.
using BlockLeakCallback = void (*)(const BlockLeak&, void* user_data);

/// Replaces the handler called for leaked blocks (process-wide; null restores
/// the default); returns the previous plain handler (null when a callback with
/// user data was installed).
BlockLeakHandler set_block_leak_handler(BlockLeakHandler handler) noexcept;
/// Installs a leak callback with user data (process-wide; null restores the default).
void set_block_leak_callback(BlockLeakCallback callback, void* user_data) noexcept;

/// A sub-allocated (or dedicated) range of device memory. See the file comment.
template <class Memory>
class MemoryBlock : private detail::BlockData {
    using Codec = detail::MemoryCodec<Memory>;

public:
    /// An empty block (holds no memory).
    MemoryBlock() noexcept = default;
    MemoryBlock(MemoryBlock&&) noexcept = default;
    MemoryBlock& operator=(MemoryBlock&&) noexcept = default;

    /// Whether the block holds memory (false once moved from or given back).
    bool holds_memory() const noexcept { return chunk != nullptr; }
    explicit operator bool() const noexcept { return holds_memory(); }

    /// The device memory object (shared with other blocks unless dedicated).
    Memory memory() const noexcept { return Codec::decode(chunk->memory); }
    /// Bytes from the start of the device memory object; meets the request's alignment.
    std::uint64_t offset() const noexcept { return BlockData::offset; }
    /// Bytes requested (the usable size; bind and copy within it).
    std::uint64_t size() const noexcept { return BlockData::size; }
    std::uint32_t memory_type() const noexcept { return BlockData::memory_type; }
    MemoryPropertyFlags props() const noexcept { return chunk->props; }
    StrategyKind strategy() const noexcept { return BlockData::strategy; }
    /// True when the block has a device memory object of its own.
    bool is_dedicated() const noexcept { return BlockData::strategy == StrategyKind::dedicated; }
    /// Host address of the block's first byte while this block is mapped, else null.
    std::byte* mapped_ptr() const noexcept { return detail::block_mapped_ptr(*this); }

    /// Maps [offset, offset + size) of the block and returns its host address.
    /// The chunk is mapped once and shared with its other blocks.
    /// Errors: empty_block, not_host_visible, already_mapped, out_of_bounds, and the device's map errors.
    template <MemoryDevice D>
    Result<std::byte*, MapError> map(D& device, std::uint64_t offset, std::uint64_t size) {
        std::byte* out = nullptr;
        MapError error{};
        if (!detail::block_map(detail::device_ref(device), *this, offset, size, out, error)) return unexpected(error);
        return out;
    }

    /// Ends this block's mapping. The chunk itself stays mapped for its other
    /// blocks and later maps (persistent mapping); it is unmapped when destroyed.
    template <MemoryDevice D>
    Result<void, MapError> unmap(D& /*device*/) {
        MapError error{};
        if (!detail::block_unmap(*this, error)) return unexpected(error);
        return {};
    }

    /// Makes host writes to [offset, offset + size) visible to the device. A no-op
    /// on coherent memory; on non-coherent memory the range is widened to the
    /// non-coherent atom, which never reaches a neighbour (the allocator aligns
    /// and sizes such blocks to the atom).
    template <MemoryDevice D>
    Result<void, MapError> flush(D& device, std::uint64_t offset, std::uint64_t size) {
        return sync(device, offset, size, true);
    }
    /// Makes device writes to [offset, offset + size) visible to the host; see flush().
    template <MemoryDevice D>
    Result<void, MapError> invalidate(D& device, std::uint64_t offset, std::uint64_t size) {
        return sync(device, offset, size, false);
    }

    /// Copies `bytes` into the block at `offset`: maps if needed, flushes, and
    /// unmaps again if it mapped.
    template <MemoryDevice D>
    Result<void, MapError> write_bytes(D& device, std::uint64_t offset, std::span<const std::byte> bytes) {
        auto was_mapped = begin_access(device, offset, bytes.size());
        if (!was_mapped) return unexpected(was_mapped.error());
        std::memcpy(mapped_ptr() + offset, bytes.data(), bytes.size());
        auto r = flush(device, offset, bytes.size());
        if (!*was_mapped) (void)unmap(device);
        return r;
    }
    /// Copies bytes of the block at `offset` into `out`: maps if needed and
    /// invalidates first, and unmaps again if it mapped.
    template <MemoryDevice D>
    Result<void, MapError> read_bytes(D& device, std::uint64_t offset, std::span<std::byte> out) {
        auto was_mapped = begin_access(device, offset, out.size());
        if (!was_mapped) return unexpected(was_mapped.error());
        auto r = invalidate(device, offset, out.size());
        if (r) std::memcpy(out.data(), mapped_ptr() + offset, out.size());
        if (!*was_mapped) (void)unmap(device);
        return r;
    }

private:
    friend class GpuAllocator<Memory>;
    friend class Defragmentation<Memory>;
    friend class DefragmentationMove<Memory>;

    explicit MemoryBlock(detail::BlockData&& data) noexcept : detail::BlockData(std::move(data)) {}
    detail::BlockData& data() noexcept { return *this; }
    const detail::BlockData& data() const noexcept { return *this; }

    template <MemoryDevice D>
    Result<void, MapError> sync(D& device, std::uint64_t offset, std::uint64_t size, bool flush) {
        MapError error{};
        if (!detail::block_sync(detail::device_ref(device), *this, offset, size, flush, error)) return unexpected(error);
        return {};
    }

    /// Checks [offset, offset + size) and maps the block when it is not mapped;
    /// returns whether it was mapped before.
    template <MemoryDevice D>
    Result<bool, MapError> begin_access(D& device, std::uint64_t offset, std::uint64_t size) {
        if (!chunk) return unexpected(MapError::empty_block);
        if (offset > BlockData::size || size > BlockData::size - offset) return unexpected(MapError::out_of_bounds);
        if (mapped()) return true;
        auto m = map(device, 0, BlockData::size);
        if (!m) return unexpected(m.error());
        return false;
    }
};

}  // namespace gpu_alloc
