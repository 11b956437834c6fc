// The untyped parts of a block and of its chunk, shared by the compiled core
// and the thin typed MemoryBlock<Memory>.
//
// A block is 32 bytes: its chunk, the offset and requested size, the
// strategy's own word (a node index, a size class, a padding), and four bytes
// that let a leak report, a free and a relocation do without anything else:
// the memory type and strategy (a leak report never reads the chunk, which
// may be gone with its allocator), the placement alignment, and flags.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/types/flags.hpp>

namespace gpu_alloc::detail {

/// What a block reads of its chunk without a call into the core. The core's
/// chunk (src/core/chunk.hpp) extends it.
struct ChunkView {
    std::uint64_t memory = 0;  ///< the handle's bits (MemoryCodec)
    std::uint64_t size = 0;    ///< bytes of the device memory object
    std::uint64_t atom = 1;    ///< flush granule: non_coherent_atom_size on non-coherent types, else 1
    /// The chunk's one host mapping, made by the first block that maps and kept
    /// until the chunk is destroyed. Written under the chunk's map lock, read anywhere.
    std::atomic<std::byte*> mapped{nullptr};
    std::uint32_t memory_type = 0;
    MemoryPropertyFlags props = MemoryPropertyFlags::none;
    StrategyKind strategy = StrategyKind::free_list;
};

class BlockData {
public:
    BlockData() noexcept = default;
    BlockData(const BlockData&) = delete;
    BlockData& operator=(const BlockData&) = delete;
    BlockData(BlockData&& other) noexcept { take(other); }
    BlockData& operator=(BlockData&& other) noexcept {
        if (this != &other) {
            if (chunk) report_leak();
            take(other);
        }
        return *this;
    }
    ~BlockData() {
        if (chunk) report_leak();
    }

    static constexpr std::uint8_t flag_mapped = 1;    ///< this block holds a mapping of its chunk
    static constexpr std::uint8_t flag_granular = 2;  ///< sized and aligned to whole granularity pages

    bool mapped() const noexcept { return (flags & flag_mapped) != 0; }
    std::uint64_t alignment() const noexcept { return std::uint64_t{1} << align_log2; }

    ChunkView* chunk = nullptr;
    std::uint64_t offset = 0;  ///< bytes from the start of the device memory object
    std::uint64_t size = 0;    ///< bytes requested
    std::uint32_t meta = 0;    ///< the strategy's word (SubAllocation::metadata, or linear padding)
    std::uint8_t memory_type = 0;
    StrategyKind strategy = StrategyKind::free_list;
    std::uint8_t align_log2 = 0;  ///< log2 of the alignment it was placed with
    std::uint8_t flags = 0;

private:
    void take(BlockData& other) noexcept {
        chunk = other.chunk;
        other.chunk = nullptr;
        offset = other.offset;
        size = other.size;
        meta = other.meta;
        memory_type = other.memory_type;
        strategy = other.strategy;
        align_log2 = other.align_log2;
        flags = other.flags;
        other.flags = 0;
    }
    /// Calls the block leak handler with the block's own fields (block_ops.cpp).
    void report_leak() const noexcept;
};

static_assert(sizeof(void*) != 8 || sizeof(BlockData) == 32, "a block is 32 bytes on 64-bit targets");

}  // namespace gpu_alloc::detail
