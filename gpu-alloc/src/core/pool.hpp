// A pool: the chunks of one memory type that one strategy sub-allocates from,
// behind one lock. The core keeps one pool per (memory type, strategy slot,
// shard), made on first use.
//
// One interface, one chunk policy: every pool grows by the same rule
// (next_chunk_size), keeps empty chunks by the same hysteresis (release_block)
// and gives them back the same way; only placing and freeing differ per
// strategy. A chunk knows its pool, so a free is chunk -> pool -> strategy,
// with no switch over strategies and no downcast outside the pool that made
// the chunk. Pools do no device calls: the core creates and destroys device
// memory objects and hands chunks in and out, under the pool's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <gpu_alloc/config.hpp>

#include "chunk.hpp"
#include "pool_lock.hpp"

namespace gpu_alloc::detail {

class CoreState;

/// Where a request was placed.
struct Placement {
    Chunk* chunk = nullptr;
    std::uint64_t offset = 0;    ///< bytes from the start of the chunk
    std::uint64_t reserved = 0;  ///< bytes the strategy took (>= the placed size)
    std::uint32_t meta = 0;      ///< the strategy's word, kept in the block
};

/// Counters of one pool, written under its lock, read without it (relaxed atomics
/// with plain load+store: no read-modify-write on the hot path).
struct PoolCounters {
    std::atomic<std::uint64_t> used_bytes{0};
    std::atomic<std::uint64_t> requested_bytes{0};
    std::atomic<std::uint64_t> block_count{0};

    void add(std::uint64_t used, std::uint64_t requested) noexcept {
        bump(used_bytes, used);
        bump(requested_bytes, requested);
        bump(block_count, 1);
    }
    void remove(std::uint64_t used, std::uint64_t requested) noexcept {
        bump(used_bytes, 0 - used);
        bump(requested_bytes, 0 - requested);
        bump(block_count, 0 - std::uint64_t{1});
    }

private:
    static void bump(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept {
        a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
};

/// One chunk's use, for statistics, snapshots and the defragmenter.
struct ChunkUsage {
    std::uint64_t used_bytes = 0;
    std::uint64_t block_count = 0;
};

/// "Do not place into this chunk" (defragmentation), without templates.
struct ChunkFilter {
    bool (*avoid)(const void* context, const Chunk& chunk) = nullptr;
    const void* context = nullptr;
    bool operator()(const Chunk& chunk) const { return avoid(context, chunk); }
};

class Pool {
public:
    Pool(CoreState& owning_state, StrategyKind strategy, std::uint32_t type) noexcept
        : owner(&owning_state), kind(strategy), memory_type(type) {}
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    virtual ~Pool() = default;

    CoreState* const owner;
    const StrategyKind kind;
    const std::uint32_t memory_type;
    PoolLock mutex;  ///< short sections: spins, then sleeps (pool_lock.hpp)
    PoolCounters counters;

    // Everything below: the pool's lock held.

    /// Places a request in an existing chunk.
    virtual bool place(std::uint64_t size, std::uint64_t alignment, Placement& out) = 0;
    /// A new chunk of `capacity` bytes with its strategy, not yet in the pool
    /// (no device object yet); null when host memory runs out.
    virtual std::unique_ptr<Chunk> make_chunk(std::uint64_t capacity, const Config& config) = 0;
    /// Adds `chunk` (filled in by the core) and places the request in it. On
    /// failure (no slot left, or it does not fit) the chunk stays with the caller.
    virtual bool add_and_place(std::unique_ptr<Chunk>& chunk, std::uint64_t size, std::uint64_t alignment,
                               Placement& out) = 0;
    /// The smallest chunk sure to hold `fits` bytes at offset 0, and the floor of chunk sizes.
    virtual std::uint64_t chunk_size_for(std::uint64_t fits) const noexcept { return fits; }
    virtual std::uint64_t min_chunk_size(std::uint64_t type_min) const noexcept { return type_min; }
    virtual ChunkUsage usage(const Chunk& chunk) const noexcept = 0;
    /// Largest free range of every chunk, by pool_index: one pass (snapshots).
    virtual void largest_free_ranges(std::vector<std::uint64_t>& out) const = 0;
    /// Largest range any chunk could take without a new object: cheap (statistics).
    virtual std::uint64_t largest_free_range() const = 0;

    /// Defragmentation: places a relocated block in a chunk `filter` allows.
    /// `ranked` lists the candidates least used first. Placements in avoided
    /// chunks may be held in `held` to steer the search (region pools); give
    /// them back with release_held().
    virtual bool place_filtered(std::uint64_t size, std::uint64_t alignment, const std::vector<Chunk*>& ranked,
                                ChunkFilter filter, std::vector<Placement>& held, Placement& out) = 0;
    void release_held(std::vector<Placement>& held, std::uint64_t size) noexcept {
        for (const Placement& p : held) unplace(p, size);
        held.clear();
    }
    /// Undoes a placement that was never handed out; the chunk stays even when empty.
    void unplace(const Placement& p, std::uint64_t size) noexcept {
        free_placed(*p.chunk, p.offset, size, p.meta);
        if (empty(*p.chunk)) ++empty_chunks_;
    }

    /// Frees a block (its placed size and strategy word). Returns the chunk,
    /// removed, when it became empty and is not kept as a spare: the caller
    /// destroys its device object. `reserved` gets the bytes the block held.
    std::unique_ptr<Chunk> release_block(Chunk& chunk, std::uint64_t offset, std::uint64_t size, std::uint32_t meta,
                                         std::uint32_t spare_chunks, bool over_budget, std::uint64_t& reserved) {
        reserved = free_placed(chunk, offset, size, meta);
        if (!empty(chunk)) return nullptr;
        // A dedicated object is its block: it goes when the block does.
        if (kind == StrategyKind::dedicated) return remove(chunk);
        // Hysteresis: keep the empty chunk as a spare only while the rest of the
        // pool has less than a chunk's worth of free space (a tight pool would
        // otherwise create it again soon); with slack elsewhere, give it back.
        // Pools that keep every empty chunk (linear: the next frame needs them
        // again) keep it unless the heap is over budget.
        if (!over_budget && (keeps_empty_chunks() ||
                             (empty_chunks_ < spare_chunks && free_elsewhere(chunk.size) < chunk.size))) {
            ++empty_chunks_;
            return nullptr;
        }
        return remove(chunk);
    }

    /// Removes and returns every empty chunk (cleanup, and after defragmentation).
    std::vector<std::unique_ptr<Chunk>> take_empty_chunks() {
        std::vector<std::unique_ptr<Chunk>> out;
        for (std::size_t i = 0; i < chunks_.size();) {
            if (empty(*chunks_[i])) out.push_back(remove(*chunks_[i]));
            else ++i;
        }
        empty_chunks_ = 0;
        return out;
    }

    /// Size of the next chunk: a power of two between a quarter and an eighth of
    /// the pool's size, within [min_chunk, max_chunk], and at least chunk_size_for(fits).
    std::uint64_t next_chunk_size(std::uint64_t fits, std::uint64_t min_chunk, std::uint64_t max_chunk) const noexcept {
        // Each new chunk is about a quarter of what the pool holds: the pool grows
        // geometrically (few device objects) while the last, partly used chunk
        // stays a small fraction of the total (little waste).
        std::uint64_t size = min_chunk_size(min_chunk);
        while (size <= reserved_bytes_ / 8 && size < max_chunk) size *= 2;
        if (size > max_chunk) size = max_chunk;
        const std::uint64_t needed = chunk_size_for(fits);
        while (size < needed && size <= max_chunk / 2) size *= 2;
        return size < needed ? needed : size;
    }

    const std::vector<std::unique_ptr<Chunk>>& chunks() const noexcept { return chunks_; }
    std::uint64_t reserved_bytes() const noexcept { return reserved_bytes_; }

protected:
    /// Gives the block back to the strategy; returns the bytes it held.
    virtual std::uint64_t free_placed(Chunk& chunk, std::uint64_t offset, std::uint64_t size,
                                      std::uint32_t meta) noexcept = 0;
    virtual bool empty(const Chunk& chunk) const noexcept = 0;
    virtual bool keeps_empty_chunks() const noexcept { return false; }
    /// Called before a chunk leaves the pool.
    virtual void on_remove(Chunk&) noexcept {}

    void adopt(std::unique_ptr<Chunk> chunk) {
        chunk->pool = this;
        chunk->pool_index = static_cast<std::uint32_t>(chunks_.size());
        reserved_bytes_ += chunk->size;
        chunks_.push_back(std::move(chunk));
    }
    /// Call when a placement lands in a chunk that was empty.
    void left_empty() noexcept {
        if (empty_chunks_ > 0) --empty_chunks_;
    }

private:
    std::unique_ptr<Chunk> remove(Chunk& chunk) {
        on_remove(chunk);
        const std::uint32_t index = chunk.pool_index;
        std::unique_ptr<Chunk> out = std::move(chunks_[index]);
        if (index + 1 != chunks_.size()) {
            chunks_[index] = std::move(chunks_.back());
            chunks_[index]->pool_index = index;
        }
        chunks_.pop_back();
        reserved_bytes_ -= out->size;
        return out;
    }
    std::uint64_t free_elsewhere(std::uint64_t chunk_size) const noexcept {
        const std::uint64_t used = counters.used_bytes.load(std::memory_order_relaxed);
        const std::uint64_t others = reserved_bytes_ - chunk_size;
        return others > used ? others - used : 0;
    }

    std::vector<std::unique_ptr<Chunk>> chunks_;
    std::uint32_t empty_chunks_ = 0;
    std::uint64_t reserved_bytes_ = 0;
};

/// Pools by strategy (pools.cpp). Null when host memory runs out.
std::unique_ptr<Pool> make_region_pool(CoreState& owner, std::uint32_t memory_type, std::uint64_t stride);
std::unique_ptr<Pool> make_buddy_pool(CoreState& owner, std::uint32_t memory_type, std::uint64_t min_block);
std::unique_ptr<Pool> make_slab_pool(CoreState& owner, std::uint32_t memory_type, std::uint64_t page_size);
std::unique_ptr<Pool> make_linear_pool(CoreState& owner, std::uint32_t memory_type);
std::unique_ptr<Pool> make_dedicated_pool(CoreState& owner, std::uint32_t memory_type);

}  // namespace gpu_alloc::detail
