// A pool: the chunks of one memory type that one strategy sub-allocates from,
// behind one lock. GpuAllocator keeps one pool per (memory type, strategy), so
// threads working on different types or strategies never contend.
//
// The pool does no device calls itself: GpuAllocator creates and destroys the
// device memory objects and hands chunks in and out, under the pool's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <gpu_alloc/detail/chunk.hpp>
#include <gpu_alloc/sub_allocator.hpp>

namespace gpu_alloc::detail {

/// `spare_chunks` value for pools that keep every empty chunk until cleanup().
inline constexpr std::uint32_t keep_all_empty_chunks = UINT32_MAX;

template <class Memory, SubAllocator Strategy>
struct Chunk : ChunkHeader<Memory> {
    Chunk(ChunkHeader<Memory>&& header_args) = delete;
    template <class... HeaderArgs>
    Chunk(Strategy&& strategy_, HeaderArgs&&... args)
        : ChunkHeader<Memory>(std::forward<HeaderArgs>(args)...), strategy(std::move(strategy_)) {}

    Strategy strategy;
};

/// Counters of one pool, written under its lock, read without it (relaxed atomics
/// with plain load+store: no read-modify-write cost on the hot path).
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
        drop(used_bytes, used);
        drop(requested_bytes, requested);
        drop(block_count, 1);
    }

private:
    static void bump(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept {
        a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
    static void drop(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept {
        a.store(a.load(std::memory_order_relaxed) - v, std::memory_order_relaxed);
    }
};

template <class Memory, SubAllocator Strategy>
class Pool {
public:
    using ChunkType = Chunk<Memory, Strategy>;

    struct Placement {
        ChunkType* chunk;
        SubAllocation sub;    ///< as the strategy returned it (give it back to free())
        std::uint64_t offset;  ///< bytes from the start of the chunk
    };

    std::mutex& mutex() noexcept { return mutex_; }
    PoolCounters& counters() noexcept { return counters_; }
    const PoolCounters& counters() const noexcept { return counters_; }
    const std::vector<std::unique_ptr<ChunkType>>& chunks() const noexcept { return chunks_; }
    std::uint64_t reserved_bytes() const noexcept { return reserved_bytes_; }

    /// Tries the existing chunks, the most recently successful one first. Lock held.
    std::optional<Placement> try_allocate(std::uint64_t size, std::uint64_t alignment) noexcept {
        const std::size_t n = chunks_.size();
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t index = (hint_ + i) % n;
            ChunkType& chunk = *chunks_[index];
            const bool was_empty = chunk.strategy.empty();
            auto r = chunk.strategy.allocate(size, alignment);
            if (r) {
                hint_ = index;
                if (was_empty) --empty_chunks_;
                return Placement{&chunk, *r, r->offset};
            }
        }
        return std::nullopt;
    }

    /// Adds a freshly created chunk and places the request in it. Lock held.
    /// If the request does not fit (the caller sized the chunk wrongly), the
    /// chunk is handed back through `rejected` and nothing changes.
    std::optional<Placement> add_and_allocate(std::unique_ptr<ChunkType> chunk, std::uint64_t size,
                                              std::uint64_t alignment, std::unique_ptr<ChunkType>& rejected) {
        auto r = chunk->strategy.allocate(size, alignment);
        if (!r) {
            rejected = std::move(chunk);
            return std::nullopt;
        }
        ChunkType* raw = chunk.get();
        reserved_bytes_ += raw->size;
        chunks_.push_back(std::move(chunk));
        hint_ = chunks_.size() - 1;
        return Placement{raw, *r, r->offset};
    }

    /// Frees a block. Returns the chunk, removed from the pool, when it became
    /// empty and the pool already keeps `spare_chunks` empty ones (or must keep
    /// none): the caller destroys its device memory object. Lock held.
    std::unique_ptr<ChunkType> free(ChunkType* chunk, const SubAllocation& sub, std::uint32_t spare_chunks) {
        chunk->strategy.free(sub);
        if (!chunk->strategy.empty()) return nullptr;
        // Hysteresis: keep the empty chunk as a spare only while the rest of the
        // pool has less than a chunk's worth of free space (a tight pool would
        // otherwise create it again soon); with slack elsewhere, give it back.
        // keep_all_empty_chunks (linear pools) keeps every one.
        if (spare_chunks == keep_all_empty_chunks ||
            (empty_chunks_ < spare_chunks && free_elsewhere(chunk->size) < chunk->size)) {
            ++empty_chunks_;
            return nullptr;
        }
        return remove(chunk);
    }

    /// Removes every empty chunk and returns them (for cleanup()). Lock held.
    std::vector<std::unique_ptr<ChunkType>> take_empty_chunks() {
        std::vector<std::unique_ptr<ChunkType>> out;
        for (std::size_t i = 0; i < chunks_.size();) {
            if (chunks_[i]->strategy.empty()) {
                reserved_bytes_ -= chunks_[i]->size;
                out.push_back(std::move(chunks_[i]));
                chunks_[i] = std::move(chunks_.back());
                chunks_.pop_back();
            } else {
                ++i;
            }
        }
        empty_chunks_ = 0;
        hint_ = 0;
        return out;
    }

    /// Calls f(chunk, used_bytes, block_count, largest_free_range) for every chunk. Lock held.
    template <class F>
    void for_each_chunk(F&& f) const {
        for (const auto& chunk : chunks_) {
            const SubAllocatorStats st = chunk->strategy.stats();
            f(static_cast<const ChunkHeader<Memory>&>(*chunk), st.used_bytes, st.allocation_count, st.largest_free_range);
        }
    }

    /// Size of the next chunk: a power of two between a quarter and an eighth of
    /// the pool's size, within [min_chunk, max_chunk], and never less than `needed`.
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

private:
    /// Free bytes in the pool's chunks other than one of `chunk_size` bytes.
    std::uint64_t free_elsewhere(std::uint64_t chunk_size) const noexcept {
        const std::uint64_t used = counters_.used_bytes.load(std::memory_order_relaxed);
        const std::uint64_t others = reserved_bytes_ - chunk_size;
        return others > used ? others - used : 0;
    }

    std::unique_ptr<ChunkType> remove(ChunkType* chunk) {
        for (std::size_t i = 0; i < chunks_.size(); ++i) {
            if (chunks_[i].get() == chunk) {
                std::unique_ptr<ChunkType> out = std::move(chunks_[i]);
                chunks_[i] = std::move(chunks_.back());
                chunks_.pop_back();
                reserved_bytes_ -= out->size;
                if (hint_ >= chunks_.size()) hint_ = 0;
                return out;
            }
        }
        return nullptr;
    }

    std::mutex mutex_;
    std::vector<std::unique_ptr<ChunkType>> chunks_;
    std::size_t hint_ = 0;
    std::uint32_t empty_chunks_ = 0;
    std::uint64_t reserved_bytes_ = 0;
    PoolCounters counters_;
};

}  // namespace gpu_alloc::detail
