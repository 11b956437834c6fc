// The free-list pool: every chunk of one memory type is a region of ONE
// FreeListAllocator's address space (slot k at k * stride), so a single
// good-fit search spans all chunks in O(1).
//
// Why not one free list per chunk, tried in turn (as Pool does for the other
// strategies, and as VMA does)? Trying chunks one by one costs O(chunks) per
// failed attempt, and whichever chunk is tried first gets the request even when
// another holds a much better fitting hole: on the churn trace that "next fit"
// across 1 GiB chunks left holes everywhere (peak reserved 1.48x the live
// bytes). One search over all regions picks the best-fitting hole anywhere, and
// its lowest-offset preference fills low slots first, so high chunks drain and
// can be given back.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <gpu_alloc/detail/chunk.hpp>
#include <gpu_alloc/detail/pool.hpp>
#include <gpu_alloc/free_list.hpp>

namespace gpu_alloc::detail {

template <class Memory>
struct RegionChunk : ChunkHeader<Memory> {
    using ChunkHeader<Memory>::ChunkHeader;
    std::uint64_t slot = 0;
    std::uint64_t used_bytes = 0;
    std::uint64_t block_count = 0;
    bool large = false;  ///< belongs to the pool of large requests
};

template <class Memory>
class RegionPool {
public:
    using ChunkType = RegionChunk<Memory>;

    struct Placement {
        ChunkType* chunk;
        SubAllocation sub;     ///< in the pool's address space (give it back to free())
        std::uint64_t offset;  ///< bytes from the start of the chunk
    };

    /// At most this many chunks live in one pool at a time.
    static constexpr std::uint64_t max_slots = std::uint64_t{1} << 20;

    /// Sets the slot stride: the largest chunk this pool will ever hold.
    void configure(std::uint64_t stride) {
        stride_ = stride;
        auto created = FreeListAllocator::create_with_regions(stride * max_slots);
        if (created) allocator_ = std::move(*created);
    }

    std::mutex& mutex() noexcept { return mutex_; }
    PoolCounters& counters() noexcept { return counters_; }
    const PoolCounters& counters() const noexcept { return counters_; }
    std::uint64_t reserved_bytes() const noexcept { return reserved_bytes_; }

    /// Lock held.
    std::optional<Placement> try_allocate(std::uint64_t size, std::uint64_t alignment) noexcept {
        if (live_chunks_ == 0) return std::nullopt;
        auto r = allocator_.allocate(size, alignment);
        if (!r) return std::nullopt;
        const std::uint64_t slot = r->offset / stride_;
        ChunkType* chunk = slots_[slot].get();
        if (chunk->block_count++ == 0) --empty_chunks_;
        chunk->used_bytes += r->reserved;
        return Placement{chunk, *r, r->offset - slot * stride_};
    }

    /// Adds a new chunk (size <= stride) and places the request in it. Lock held.
    /// When no slot is left, or the request does not fit the chunk, the chunk is
    /// handed back through `rejected` and nothing changes.
    std::optional<Placement> add_and_allocate(std::unique_ptr<ChunkType> chunk, std::uint64_t size,
                                              std::uint64_t alignment, std::unique_ptr<ChunkType>& rejected) {
        std::uint64_t slot;
        const bool reuse = !free_slots_.empty();
        if (reuse) {
            slot = free_slots_.back();
        } else if (slots_.size() < max_slots) {
            slot = slots_.size();
        } else {
            rejected = std::move(chunk);
            return std::nullopt;
        }
        allocator_.add_region(slot * stride_, chunk->size);
        auto r = allocator_.allocate(size, alignment);
        if (!r || r->offset / stride_ != slot) {
            if (r) allocator_.free(*r);
            allocator_.remove_region(slot * stride_, chunk->size);
            rejected = std::move(chunk);
            return std::nullopt;
        }
        if (reuse) free_slots_.pop_back();
        else slots_.emplace_back();
        chunk->slot = slot;
        chunk->block_count = 1;
        chunk->used_bytes = r->reserved;
        reserved_bytes_ += chunk->size;
        ChunkType* raw = chunk.get();
        slots_[slot] = std::move(chunk);
        ++live_chunks_;
        return Placement{raw, *r, r->offset - slot * stride_};
    }

    /// Frees a block; returns its chunk, removed, when it became empty beyond
    /// the `spare_chunks` kept. Lock held.
    std::unique_ptr<ChunkType> free(ChunkType* chunk, const SubAllocation& sub, std::uint32_t spare_chunks) {
        allocator_.free(sub);
        chunk->used_bytes -= sub.reserved;
        if (--chunk->block_count != 0) return nullptr;
        // Hysteresis: keep the empty chunk as a spare only while the rest of the
        // pool has less than a chunk's worth of free space (a tight pool would
        // otherwise create it again soon); with slack elsewhere, give it back.
        // keep_all_empty_chunks (linear pools) keeps every one.
        if (spare_chunks == keep_all_empty_chunks ||
            (empty_chunks_ < spare_chunks && free_elsewhere(chunk->size) < chunk->size)) {
            ++empty_chunks_;
            return nullptr;
        }
        return remove(chunk->slot);
    }

    /// Removes every empty chunk and returns them. Lock held.
    std::vector<std::unique_ptr<ChunkType>> take_empty_chunks() {
        std::vector<std::unique_ptr<ChunkType>> out;
        for (std::uint64_t slot = 0; slot < slots_.size(); ++slot)
            if (slots_[slot] && slots_[slot]->block_count == 0) out.push_back(remove(slot));
        empty_chunks_ = 0;
        return out;
    }

    std::uint64_t next_chunk_size(std::uint64_t needed, std::uint64_t min_chunk, std::uint64_t max_chunk) const noexcept {
        // Each new chunk is about a quarter of what the pool holds: the pool grows
        // geometrically (few device objects) while the last, partly used chunk
        // stays a small fraction of the total (little waste).
        std::uint64_t size = min_chunk;
        while (size * 8 <= reserved_bytes_ && size < max_chunk) size *= 2;
        if (size > max_chunk) size = max_chunk;
        while (size < needed) size *= 2;
        return size;
    }

    /// Calls f(chunk, used_bytes, block_count, largest_free_range) for every chunk. Lock held.
    template <class F>
    void for_each_chunk(F&& f) const {
        for (const auto& chunk : slots_) {
            if (!chunk) continue;
            const std::uint64_t begin = chunk->slot * stride_;
            f(static_cast<const ChunkHeader<Memory>&>(*chunk), chunk->used_bytes, chunk->block_count,
              allocator_.largest_free_range_in(begin, begin + chunk->size));
        }
    }

    /// Checks the underlying free list (tests).
    bool validate() const { return allocator_.validate(); }

    /// Every slot's chunk, null where the slot is free (for the defragmenter). Lock held.
    const std::vector<std::unique_ptr<ChunkType>>& slots() const noexcept { return slots_; }

    /// Like try_allocate, but never in a chunk for which `avoid(chunk)` is true
    /// (defragmentation: not into a chunk being emptied, nor a sparser one). The
    /// one search spans all chunks, so it cannot be pointed at a chunk; instead
    /// a placement that lands in an avoided chunk is kept in `held`, which takes
    /// that hole out of later searches, and the search goes on, at most
    /// `max_attempts` times. Give `held` back with release_held(). Lock held.
    template <class Avoid>
    std::optional<Placement> try_allocate_avoiding(std::uint64_t size, std::uint64_t alignment, Avoid&& avoid,
                                                   std::uint32_t max_attempts, std::vector<Placement>& held) {
        for (std::uint32_t i = 0; i < max_attempts; ++i) {
            auto placed = try_allocate(size, alignment);
            if (!placed) return std::nullopt;
            if (!avoid(*placed->chunk)) return placed;
            held.push_back(*placed);
        }
        return std::nullopt;
    }

    /// Gives back placements held by try_allocate_avoiding. A chunk they leave
    /// empty stays (as a spare). Lock held.
    void release_held(std::vector<Placement>& held) noexcept {
        for (const Placement& p : held) {
            allocator_.free(p.sub);
            p.chunk->used_bytes -= p.sub.reserved;
            if (--p.chunk->block_count == 0) ++empty_chunks_;
        }
        held.clear();
    }

private:
    /// Free bytes in the pool's chunks other than one of `chunk_size` bytes.
    std::uint64_t free_elsewhere(std::uint64_t chunk_size) const noexcept {
        const std::uint64_t used = counters_.used_bytes.load(std::memory_order_relaxed);
        const std::uint64_t others = reserved_bytes_ - chunk_size;
        return others > used ? others - used : 0;
    }

    std::unique_ptr<ChunkType> remove(std::uint64_t slot) {
        std::unique_ptr<ChunkType> out = std::move(slots_[slot]);
        const bool removed = allocator_.remove_region(slot * stride_, out->size);
        (void)removed;  // an empty chunk is always one whole free region
        free_slots_.push_back(slot);
        reserved_bytes_ -= out->size;
        --live_chunks_;
        return out;
    }

    std::mutex mutex_;
    FreeListAllocator allocator_{1};
    std::uint64_t stride_ = 1;
    std::vector<std::unique_ptr<ChunkType>> slots_;
    std::vector<std::uint64_t> free_slots_;
    std::uint64_t live_chunks_ = 0;
    std::uint32_t empty_chunks_ = 0;
    std::uint64_t reserved_bytes_ = 0;
    PoolCounters counters_;
};

}  // namespace gpu_alloc::detail
