// The defragmentation planner: which blocks move where, and applying a pass.
//
// Planning, per pool (free list, large free list, buddy, slab of each chosen
// memory type), under that pool's lock:
//   1. Rank the pool's chunks by used bytes, least used first (ties: newest
//      first). Empty chunks are never sources nor destinations.
//   2. Sources, decided walking up the ranking. free_chunks: a chunk is a
//      source when every one of its blocks was named by the caller (and may
//      move), it received no destination earlier in this pass (it would not
//      empty), and its used bytes fit into the free bytes of the chunks ranked
//      above it, less what the pass already placed (a byte count: holes may
//      still not fit, see 4). full_compaction: every chunk but the fullest
//      that holds a movable block.
//   3. Destinations: for a source of rank i, only chunks ranked above i (fuller
//      at the start of the pass). So every move takes bytes from a chunk to a
//      fuller one, the sum over chunks of used bytes squared grows with each
//      pass, and a defragmentation ends.
//   4. Each source's blocks, largest first, get a destination within the pass
//      budget: in a buddy or slab pool the fullest allowed chunk with room
//      (the strategy of that chunk is asked directly); in a free-list pool the
//      pool's one search, with placements that land in a forbidden chunk held
//      (RegionPool::try_allocate_avoiding) until the pool's planning ends.
//      free_chunks: when one block of a source finds no room, the source's
//      placements of this pass are undone and it stays (it would not empty).
// Destinations are allocated in existing chunks only: defragmentation never
// creates a device memory object. Destinations of mapped blocks are mapped
// after planning (outside the pool locks); a move whose mapping fails is dropped.
//
// Applying (end_pass): accepted moves swap the destination into the caller's
// block and free the source through GpuAllocator::deallocate; vetoed moves
// free the destination; then the defragmented types' empty chunks are destroyed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <gpu_alloc/defragmentation.hpp>
#include <gpu_alloc/detail/pool.hpp>
#include <gpu_alloc/detail/region_pool.hpp>
#include <gpu_alloc/gpu_allocator.hpp>

namespace gpu_alloc::detail {

template <class Memory>
class Defragmenter {
public:
    using Block = MemoryBlock<Memory>;
    using Move = DefragmentationMove<Memory>;
    using Allocator = GpuAllocator<Memory>;
    using Header = ChunkHeader<Memory>;

    /// Most searches of a free-list pool for one destination. Each miss holds a
    /// hole of a forbidden chunk until the pool's planning ends, so misses are
    /// paid once per hole, not per move. On the adversarial bench (16 MiB
    /// chunks, 4096 blocks a round) 32 left overhead 0.21 and 256 left 0.03:
    /// with few attempts, sources whose holes crowd the search are given up.
    static constexpr std::uint32_t max_search_attempts = 2048;

    /// Plans one pass into `out` (empty: nothing to gain).
    template <class D>
    static void plan(Allocator& a, D& device, const std::vector<Block*>& blocks, const DefragmentationOptions& o,
                     std::vector<Move>& out) {
        ByChunk by_chunk;
        std::unordered_set<const Block*> seen;
        for (Block* b : blocks) {
            if (b == nullptr || !movable(a, *b, o) || !seen.insert(b).second) continue;
            by_chunk[b->chunk_].push_back(b);
        }
        if (by_chunk.empty()) return;
        Budget budget(o);
        for (std::uint32_t t = 0; t < a.type_count_ && t < 32 && !budget.exhausted(); ++t) {
            if ((o.memory_types & (1u << t)) == 0) continue;
            auto& ts = a.types_[t];
            for (auto& ps : ts.shards) {
                plan_pool(ps.free_list, a, by_chunk, o, budget, out);
                plan_pool(ps.free_list_large, a, by_chunk, o, budget, out);
                plan_pool(ps.buddy, a, by_chunk, o, budget, out);
                plan_pool(ps.slab, a, by_chunk, o, budget, out);
            }
        }
        map_destinations(a, device, out);
    }

    /// Applies a pass (see the file comment) and adds to `stats`.
    template <class D>
    static void apply(Allocator& a, D& device, const DefragmentationOptions& o, std::vector<Move>& moves,
                      DefragmentationStats& stats) {
        const auto [objects_before, bytes_before] = objects_of(a, o);
        for (Move& m : moves) {
            Block& b = *m.block_;
            const bool intact = b.chunk_ != nullptr && b.chunk_->id == m.source_chunk_id_ && b.offset_ == m.source_offset_;
            if (m.vetoed_ || !intact) {
                m.vetoed_ = true;
                a.deallocate(device, std::move(m.destination_));
                ++stats.moves_vetoed;
                continue;
            }
            Block old = std::move(b);
            b = std::move(m.destination_);
            a.deallocate(device, std::move(old));
            ++stats.moves;
            stats.bytes_moved += b.size_;
        }
        for (std::uint32_t t = 0; t < a.type_count_ && t < 32; ++t) {
            if ((o.memory_types & (1u << t)) == 0) continue;
            auto& ts = a.types_[t];
            for (auto& ps : ts.shards) {
                a.cleanup_pool(device, ps.free_list);
                a.cleanup_pool(device, ps.free_list_large);
                a.cleanup_pool(device, ps.buddy);
                a.cleanup_pool(device, ps.slab);
            }
        }
        const auto [objects_after, bytes_after] = objects_of(a, o);
        if (objects_before > objects_after) stats.device_objects_freed += objects_before - objects_after;
        if (bytes_before > bytes_after) stats.bytes_freed += bytes_before - bytes_after;
    }

private:
    using ByChunk = std::unordered_map<const Header*, std::vector<Block*>>;

    struct Budget {
        explicit Budget(const DefragmentationOptions& o) noexcept
            : bytes(o.max_bytes_per_pass ? o.max_bytes_per_pass : std::numeric_limits<std::uint64_t>::max()),
              moves(o.max_moves_per_pass ? o.max_moves_per_pass : std::numeric_limits<std::uint64_t>::max()) {}
        bool admits(std::uint64_t size) const noexcept { return moves > 0 && size <= bytes; }
        bool exhausted() const noexcept { return moves == 0 || bytes == 0; }
        void take(std::uint64_t size) noexcept { bytes -= size, --moves; }
        void give(std::uint64_t size) noexcept { bytes += size, ++moves; }
        std::uint64_t bytes;
        std::uint64_t moves;
    };

    template <class ChunkType>
    struct Ranked {
        ChunkType* chunk;
        std::uint64_t used;
        std::uint64_t blocks;
    };

    static bool movable(const Allocator& a, const Block& b, const DefragmentationOptions& o) noexcept {
        if (b.chunk_ == nullptr || b.owner_ != &a) return false;
        const std::uint32_t t = b.chunk_->memory_type;
        if (t >= 32 || (o.memory_types & (1u << t)) == 0) return false;
        const StrategyKind s = b.chunk_->strategy;
        if (s != StrategyKind::free_list && s != StrategyKind::buddy && s != StrategyKind::slab) return false;
        if (b.mapped_ && !o.move_mapped) return false;
        return o.max_bytes_per_pass == 0 || b.size_ <= o.max_bytes_per_pass;
    }

    static std::pair<std::uint64_t, std::uint64_t> objects_of(const Allocator& a, const DefragmentationOptions& o) noexcept {
        std::uint64_t objects = 0, bytes = 0;
        for (std::uint32_t t = 0; t < a.type_count_ && t < 32; ++t) {
            if ((o.memory_types & (1u << t)) == 0) continue;
            objects += a.types_[t].device_objects.load(std::memory_order_relaxed);
            bytes += a.types_[t].reserved_bytes.load(std::memory_order_relaxed);
        }
        return {objects, bytes};
    }

    // -- per-pool access: the free-list pools and the one-strategy-per-chunk pools --

    static std::vector<Ranked<RegionChunk<Memory>>> chunks_of(RegionPool<Memory>& pool) {
        std::vector<Ranked<RegionChunk<Memory>>> out;
        for (const auto& c : pool.slots())
            if (c) out.push_back({c.get(), c->used_bytes, c->block_count});
        return out;
    }
    template <class Strategy>
    static std::vector<Ranked<Chunk<Memory, Strategy>>> chunks_of(Pool<Memory, Strategy>& pool) {
        std::vector<Ranked<Chunk<Memory, Strategy>>> out;
        for (const auto& c : pool.chunks()) {
            const SubAllocatorStats st = c->strategy.stats();
            out.push_back({c.get(), st.used_bytes, st.allocation_count});
        }
        return out;
    }

    template <class Avoid>
    static std::optional<typename RegionPool<Memory>::Placement> place(
        RegionPool<Memory>& pool, const std::vector<Ranked<RegionChunk<Memory>>>&, const Block& b, Avoid&& avoid,
        std::vector<typename RegionPool<Memory>::Placement>& held) {
        return pool.try_allocate_avoiding(b.sub_.size, b.alignment_, avoid, max_search_attempts, held);
    }
    template <class Strategy, class Avoid>
    static std::optional<typename Pool<Memory, Strategy>::Placement> place(
        Pool<Memory, Strategy>&, const std::vector<Ranked<Chunk<Memory, Strategy>>>& ranked, const Block& b,
        Avoid&& avoid, std::vector<typename Pool<Memory, Strategy>::Placement>&) {
        for (std::size_t j = ranked.size(); j-- > 0;) {  // fullest first
            Chunk<Memory, Strategy>* c = ranked[j].chunk;
            if (avoid(*c)) continue;
            if (auto r = c->strategy.allocate(b.sub_.size, b.alignment_))
                return typename Pool<Memory, Strategy>::Placement{c, *r, r->offset};
        }
        return std::nullopt;
    }

    static void unplace(RegionPool<Memory>& pool, const typename RegionPool<Memory>::Placement& p) {
        (void)pool.free(p.chunk, p.sub, keep_all_empty_chunks);  // never removes: the chunk was not empty
    }
    template <class Strategy>
    static void unplace(Pool<Memory, Strategy>&, const typename Pool<Memory, Strategy>::Placement& p) {
        p.chunk->strategy.free(p.sub);
    }

    static void release(RegionPool<Memory>& pool, std::vector<typename RegionPool<Memory>::Placement>& held) {
        pool.release_held(held);
    }
    template <class Strategy>
    static void release(Pool<Memory, Strategy>&, std::vector<typename Pool<Memory, Strategy>::Placement>&) {}

    template <class PoolT>
    static void plan_pool(PoolT& pool, Allocator& a, ByChunk& by_chunk, const DefragmentationOptions& o,
                          Budget& budget, std::vector<Move>& out) {
        using Placement = typename PoolT::Placement;
        if (budget.exhausted()) return;
        std::lock_guard lock(pool.mutex());
        auto ranked = chunks_of(pool);
        if (ranked.size() < 2) return;
        std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) {
            return x.used != y.used ? x.used < y.used : x.chunk->id > y.chunk->id;
        });
        const std::size_t n = ranked.size();
        std::unordered_map<const Header*, std::size_t> rank;
        for (std::size_t i = 0; i < n; ++i) rank.emplace(ranked[i].chunk, i);
        // free_above[i]: free bytes of the chunks ranked above i.
        std::vector<std::uint64_t> free_above(n, 0);
        for (std::size_t i = n - 1; i-- > 0;)
            free_above[i] = free_above[i + 1] + (ranked[i + 1].used ? ranked[i + 1].chunk->size - ranked[i + 1].used : 0);

        // Sources are decided walking up the ranking. free_chunks: a chunk that
        // received a destination in this pass does not become a source (it would
        // not empty), nor does one holding a block the caller did not name.
        const bool free_chunks = o.goal == DefragmentationGoal::free_chunks;
        std::vector<bool> received(n, false);
        std::uint64_t placed_bytes = 0;  // bytes placed in this pass so far
        std::vector<Placement> held;
        std::vector<std::pair<Block*, Placement>> placed;
        for (std::size_t i = 0; i + 1 < n && !budget.exhausted(); ++i) {
            auto named = by_chunk.find(ranked[i].chunk);
            if (ranked[i].used == 0 || named == by_chunk.end()) continue;
            if (free_chunks) {
                if (received[i] || named->second.size() != ranked[i].blocks) continue;
                if (placed_bytes + ranked[i].used > free_above[i]) continue;  // cannot fit by bytes alone
            }
            auto avoid = [&](const Header& h) {
                auto it = rank.find(&h);
                return it == rank.end() || it->second <= i || ranked[it->second].used == 0;
            };
            std::vector<Block*>& group = named->second;
            std::sort(group.begin(), group.end(), [](const Block* x, const Block* y) {
                return x->sub_.size != y->sub_.size ? x->sub_.size > y->sub_.size : x->offset_ < y->offset_;
            });
            placed.clear();
            bool failed = false;
            for (Block* b : group) {
                if (!budget.admits(b->size_)) continue;
                auto p = place(pool, ranked, *b, avoid, held);
                if (!p) {
                    failed = true;
                    if (free_chunks) break;
                    continue;
                }
                budget.take(b->size_);
                placed.emplace_back(b, *p);
            }
            if (failed && free_chunks) {  // it would not empty: undo, it stays (later sources may fill it)
                for (auto& [b, p] : placed) {
                    unplace(pool, p);
                    budget.give(b->size_);
                }
                continue;
            }
            for (auto& [b, p] : placed) {
                received[rank.find(p.chunk)->second] = true;  // p.chunk is a ranked chunk
                placed_bytes += p.sub.reserved;
                out.push_back(make_move(a, pool, *b, p));
            }
        }
        release(pool, held);
    }

    template <class PoolT>
    static Move make_move(Allocator& a, PoolT& pool, Block& b, const typename PoolT::Placement& p) {
        pool.counters().add(p.sub.reserved, b.size_);
        if (p.chunk->tracked) {
            BlockSnapshot snap{p.offset, b.size_, UsageFlags::none, ResourceKind::unknown, {}};
            if (b.chunk_->tracked) {  // same pool, so guarded by the lock held
                auto it = b.chunk_->tracked->find(b.offset_);
                if (it != b.chunk_->tracked->end()) {
                    snap = it->second;
                    snap.offset = p.offset;
                }
            }
            p.chunk->tracked->emplace(p.offset, std::move(snap));
        }
        Block destination(p.chunk, p.offset, b.size_, p.sub, &a);
        destination.atom_size_ = b.atom_size_;
        destination.alignment_ = b.alignment_;
        Move m(&b, std::move(destination));
        m.source_chunk_id_ = b.chunk_->id;
        m.source_offset_ = b.offset_;
        return m;
    }

    /// Maps the destinations of mapped blocks; drops (and frees) a move whose mapping fails.
    template <class D>
    static void map_destinations(Allocator& a, D& device, std::vector<Move>& moves) {
        std::size_t kept = 0;
        for (std::size_t i = 0; i < moves.size(); ++i) {
            Move& m = moves[i];
            if (m.block_->mapped_ && !m.destination_.map(device, 0, m.destination_.size_)) {
                a.deallocate(device, std::move(m.destination_));
                continue;
            }
            if (kept != i) moves[kept] = std::move(m);
            ++kept;
        }
        moves.erase(moves.begin() + static_cast<std::ptrdiff_t>(kept), moves.end());
    }
};

}  // namespace gpu_alloc::detail
