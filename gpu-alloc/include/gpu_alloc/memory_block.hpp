// MemoryBlock: a piece of device memory handed out by GpuAllocator.
//
// It names the device memory object, the offset and size inside it, and the
// memory type, and it can map, flush, invalidate, read and write its bytes.
// A block is a move-only value that must be given back with
// GpuAllocator::deallocate: one destroyed while still holding memory is
// reported (see set_block_leak_handler) and its memory stays allocated, never
// silently freed behind the caller's back (the GPU may still be using it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>
#include <utility>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/detail/chunk.hpp>
#include <gpu_alloc/sub_allocator.hpp>
#include <gpu_alloc/types/device.hpp>

namespace gpu_alloc {

template <class Memory>
class GpuAllocator;
namespace detail {
template <class Memory>
class Defragmenter;
}  // namespace detail

/// Why mapping, flushing or copying through a block failed.
enum class MapError : std::uint8_t {
    not_host_visible,     ///< the block's memory type cannot be mapped
    already_mapped,       ///< this block is already mapped
    not_mapped,           ///< flush/invalidate/unmap of a block that is not mapped
    out_of_bounds,        ///< offset + size beyond the block
    empty_block,          ///< the block holds no memory (moved from, or given back)
    out_of_device_memory,
    out_of_host_memory,
    map_failed,           ///< the device could not map the memory object
};

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

/// Called when a MemoryBlock holding memory is destroyed. The default prints to
/// stderr. Not thread-safe to change while blocks are being destroyed.
using BlockLeakHandler = void (*)(const BlockLeak&);

namespace detail {
inline void default_block_leak_handler(const BlockLeak& leak) {
    std::fprintf(stderr,
                 "gpu_alloc: MemoryBlock destroyed without GpuAllocator::deallocate "
                 "(memory type %u, offset %llu, size %llu, %s); its memory stays allocated\n",
                 leak.memory_type, static_cast<unsigned long long>(leak.offset),
                 static_cast<unsigned long long>(leak.size), to_string(leak.strategy));
}
inline BlockLeakHandler& block_leak_handler() noexcept {
    static BlockLeakHandler handler = &default_block_leak_handler;
    return handler;
}
}  // namespace detail

/// Replaces the handler called for leaked blocks; returns the previous one.
inline BlockLeakHandler set_block_leak_handler(BlockLeakHandler handler) noexcept {
    return std::exchange(detail::block_leak_handler(), handler ? handler : &detail::default_block_leak_handler);
}

/// A sub-allocated (or dedicated) range of device memory. See the file comment.
template <class Memory>
class MemoryBlock {
public:
    /// An empty block (holds no memory).
    MemoryBlock() = default;
    MemoryBlock(const MemoryBlock&) = delete;
    MemoryBlock& operator=(const MemoryBlock&) = delete;
    MemoryBlock(MemoryBlock&& other) noexcept { take(other); }
    MemoryBlock& operator=(MemoryBlock&& other) noexcept {
        if (this != &other) {
            report_if_leaked();
            take(other);
        }
        return *this;
    }
    ~MemoryBlock() { report_if_leaked(); }

    /// Whether the block holds memory (false once moved from or given back).
    bool holds_memory() const noexcept { return chunk_ != nullptr; }
    explicit operator bool() const noexcept { return holds_memory(); }

    /// The device memory object (shared with other blocks unless dedicated).
    const Memory& memory() const noexcept { return chunk_->memory; }
    /// Bytes from the start of the device memory object; meets the request's alignment.
    std::uint64_t offset() const noexcept { return offset_; }
    /// Bytes requested (the usable size; bind and copy within it).
    std::uint64_t size() const noexcept { return size_; }
    std::uint32_t memory_type() const noexcept { return chunk_->memory_type; }
    MemoryPropertyFlags props() const noexcept { return chunk_->props; }
    StrategyKind strategy() const noexcept { return chunk_->strategy; }
    /// True when the block has a device memory object of its own.
    bool is_dedicated() const noexcept { return chunk_->strategy == StrategyKind::dedicated; }
    /// Host address of the block's first byte while this block is mapped, else null.
    std::byte* mapped_ptr() const noexcept { return mapped_ ? chunk_->mapped + offset_ : nullptr; }

    /// Maps [offset, offset + size) of the block and returns its host address.
    /// The chunk is mapped once and shared with its other blocks.
    /// Errors: empty_block, not_host_visible, already_mapped, out_of_bounds, and the device's map errors.
    template <MemoryDevice D>
    Result<std::byte*, MapError> map(D& device, std::uint64_t offset, std::uint64_t size) {
        if (!chunk_) return unexpected(MapError::empty_block);
        if (!contains(chunk_->props, MemoryPropertyFlags::host_visible)) return unexpected(MapError::not_host_visible);
        if (mapped_) return unexpected(MapError::already_mapped);
        if (!in_bounds(offset, size)) return unexpected(MapError::out_of_bounds);
        std::lock_guard lock(chunk_->map_mutex);
        if (chunk_->mapped == nullptr) {
            auto ptr = device.map_memory(chunk_->memory, 0, chunk_->size);
            if (!ptr) return unexpected(from_device(ptr.error()));
            chunk_->mapped = *ptr;
        }
        ++chunk_->map_count;
        mapped_ = true;
        return chunk_->mapped + offset_ + offset;
    }

    /// Ends this block's mapping. The chunk itself stays mapped for its other
    /// blocks and later maps (persistent mapping); it is unmapped when destroyed.
    template <MemoryDevice D>
    Result<void, MapError> unmap(D& /*device*/) {
        if (!chunk_) return unexpected(MapError::empty_block);
        if (!mapped_) return unexpected(MapError::not_mapped);
        std::lock_guard lock(chunk_->map_mutex);
        --chunk_->map_count;
        mapped_ = false;
        return {};
    }

    /// Makes host writes to [offset, offset + size) visible to the device. A no-op
    /// on coherent memory; on non-coherent memory the range is widened to the
    /// non-coherent atom, which never reaches a neighbour (the allocator aligns
    /// and sizes such blocks to the atom).
    template <MemoryDevice D>
    Result<void, MapError> flush(D& device, std::uint64_t offset, std::uint64_t size) {
        return sync(offset, size, [&](auto ranges) { return device.flush_memory_ranges(ranges); });
    }
    /// Makes device writes to [offset, offset + size) visible to the host; see flush().
    template <MemoryDevice D>
    Result<void, MapError> invalidate(D& device, std::uint64_t offset, std::uint64_t size) {
        return sync(offset, size, [&](auto ranges) { return device.invalidate_memory_ranges(ranges); });
    }

    /// Copies `bytes` into the block at `offset`: maps if needed, flushes, and
    /// unmaps again if it mapped.
    template <MemoryDevice D>
    Result<void, MapError> write_bytes(D& device, std::uint64_t offset, std::span<const std::byte> bytes) {
        return with_mapping(device, offset, bytes.size(), [&](std::byte* p) -> Result<void, MapError> {
            std::memcpy(p, bytes.data(), bytes.size());
            return flush(device, offset, bytes.size());
        });
    }
    /// Copies bytes of the block at `offset` into `out`: maps if needed and
    /// invalidates first, and unmaps again if it mapped.
    template <MemoryDevice D>
    Result<void, MapError> read_bytes(D& device, std::uint64_t offset, std::span<std::byte> out) {
        return with_mapping(device, offset, out.size(), [&](std::byte* p) -> Result<void, MapError> {
            auto r = invalidate(device, offset, out.size());
            if (!r) return r;
            std::memcpy(out.data(), p, out.size());
            return {};
        });
    }

private:
    friend class GpuAllocator<Memory>;
    friend class detail::Defragmenter<Memory>;

    MemoryBlock(detail::ChunkHeader<Memory>* chunk, std::uint64_t offset, std::uint64_t size,
                const SubAllocation& sub, const void* owner) noexcept
        : chunk_(chunk), offset_(offset), size_(size), sub_(sub), owner_(owner) {}

    bool in_bounds(std::uint64_t offset, std::uint64_t size) const noexcept {
        return offset <= size_ && size <= size_ - offset;
    }

    static MapError from_device(DeviceMapError e) noexcept {
        switch (e) {
            case DeviceMapError::out_of_device_memory: return MapError::out_of_device_memory;
            case DeviceMapError::out_of_host_memory: return MapError::out_of_host_memory;
            case DeviceMapError::map_failed: return MapError::map_failed;
        }
        return MapError::map_failed;
    }

    template <class Call>
    Result<void, MapError> sync(std::uint64_t offset, std::uint64_t size, Call call) {
        if (!chunk_) return unexpected(MapError::empty_block);
        if (!mapped_) return unexpected(MapError::not_mapped);
        if (!in_bounds(offset, size)) return unexpected(MapError::out_of_bounds);
        if (contains(chunk_->props, MemoryPropertyFlags::host_coherent) || size == 0) return {};
        const std::uint64_t atom = atom_size_;
        const std::uint64_t begin = (offset_ + offset) / atom * atom;
        std::uint64_t end = (offset_ + offset + size + atom - 1) / atom * atom;
        end = std::min(end, chunk_->size);
        const MappedMemoryRange<Memory> range{&chunk_->memory, begin, end - begin};
        auto r = call(std::span<const MappedMemoryRange<Memory>>(&range, 1));
        if (!r) return unexpected(r.error() == OutOfMemory::out_of_device_memory ? MapError::out_of_device_memory
                                                                                   : MapError::out_of_host_memory);
        return {};
    }

    template <MemoryDevice D, class Body>
    Result<void, MapError> with_mapping(D& device, std::uint64_t offset, std::uint64_t size, Body body) {
        if (!chunk_) return unexpected(MapError::empty_block);
        if (!in_bounds(offset, size)) return unexpected(MapError::out_of_bounds);
        const bool was_mapped = mapped_;
        if (!was_mapped) {
            auto p = map(device, 0, size_);
            if (!p) return unexpected(p.error());
        }
        auto r = body(mapped_ptr() + offset);
        if (!was_mapped) (void)unmap(device);
        return r;
    }

    void take(MemoryBlock& other) noexcept {
        chunk_ = std::exchange(other.chunk_, nullptr);
        offset_ = other.offset_;
        size_ = other.size_;
        sub_ = other.sub_;
        owner_ = other.owner_;
        atom_size_ = other.atom_size_;
        alignment_ = other.alignment_;
        mapped_ = std::exchange(other.mapped_, false);
    }

    void report_if_leaked() noexcept {
        if (chunk_) detail::block_leak_handler()({chunk_->memory_type, offset_, size_, chunk_->strategy});
    }

    detail::ChunkHeader<Memory>* chunk_ = nullptr;
    std::uint64_t offset_ = 0;
    std::uint64_t size_ = 0;
    SubAllocation sub_{};
    const void* owner_ = nullptr;
    std::uint64_t atom_size_ = 1;
    /// Alignment the strategy placed it with (request, atom and granularity
    /// combined); a relocated copy (defragmentation) is placed with the same.
    std::uint64_t alignment_ = 1;
    bool mapped_ = false;
};

}  // namespace gpu_alloc
