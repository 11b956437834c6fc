// The defragmentation planner: which blocks move where, and applying a pass
// (the typed front is gpu_alloc/defragmentation.hpp).
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
//      budget through Pool::place_filtered: in a buddy or slab pool the fullest
//      allowed chunk with room; in a free-list pool the pool's one search, with
//      placements that land in a forbidden chunk held until the pool's
//      planning ends. free_chunks: when one block of a source finds no room,
//      the source's placements of this pass are undone and it stays.
// Destinations are allocated in existing chunks only: defragmentation never
// creates a device memory object. Destinations of mapped blocks are mapped
// after planning (outside the pool locks); a move whose mapping fails is dropped.
//
// Applying: accepted moves swap the destination into the caller's block and
// free the source; vetoed moves free the destination; then the defragmented
// types' empty chunks are destroyed.
#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include <gpu_alloc/defragmentation.hpp>

#include "core/core_state.hpp"

namespace gpu_alloc::detail {
namespace {

struct PassBudget {
    explicit PassBudget(const DefragmentationOptions& o) noexcept
        : bytes(o.max_bytes_per_pass ? o.max_bytes_per_pass : std::numeric_limits<std::uint64_t>::max()),
          moves(o.max_moves_per_pass ? o.max_moves_per_pass : std::numeric_limits<std::uint64_t>::max()) {}
    bool admits(std::uint64_t size) const noexcept { return moves > 0 && size <= bytes; }
    bool exhausted() const noexcept { return moves == 0 || bytes == 0; }
    void take(std::uint64_t size) noexcept { bytes -= size, --moves; }
    void give(std::uint64_t size) noexcept { bytes += size, ++moves; }
    std::uint64_t bytes;
    std::uint64_t moves;
};

struct Named {
    BlockData* block;
    std::size_t index;
};
using ByChunk = std::unordered_map<const Chunk*, std::vector<Named>>;

bool movable(const CoreState& s, const BlockData& b, const DefragmentationOptions& o) noexcept {
    if (b.chunk == nullptr || static_cast<const Chunk*>(b.chunk)->pool->owner != &s) return false;
    const std::uint32_t t = b.memory_type;
    if (t >= 32 || (o.memory_types & (1u << t)) == 0) return false;
    if (b.strategy != StrategyKind::free_list && b.strategy != StrategyKind::buddy && b.strategy != StrategyKind::slab)
        return false;
    if (b.mapped() && !o.move_mapped) return false;
    return o.max_bytes_per_pass == 0 || b.size <= o.max_bytes_per_pass;
}

std::pair<std::uint64_t, std::uint64_t> objects_of(const CoreState& s, const DefragmentationOptions& o) noexcept {
    std::uint64_t objects = 0, bytes = 0;
    for (std::uint32_t t = 0; t < s.type_count && t < 32; ++t) {
        if ((o.memory_types & (1u << t)) == 0) continue;
        objects += ObjectCounters::get(s.types[t].objects.objects);
        bytes += ObjectCounters::get(s.types[t].objects.reserved);
    }
    return {objects, bytes};
}

struct Ranked {
    Chunk* chunk;
    std::uint64_t used;
    std::uint64_t blocks;
};

void plan_pool(CoreState& s, Pool& pool, ByChunk& by_chunk, const DefragmentationOptions& o, PassBudget& budget,
               std::vector<MoveData>& out) {
    if (budget.exhausted()) return;
    std::lock_guard lock(pool.mutex);
    std::vector<Ranked> ranked;
    for (const auto& c : pool.chunks()) {
        const ChunkUsage u = pool.usage(*c);
        ranked.push_back({c.get(), u.used_bytes, u.block_count});
    }
    if (ranked.size() < 2) return;
    std::sort(ranked.begin(), ranked.end(), [](const Ranked& x, const Ranked& y) {
        return x.used != y.used ? x.used < y.used : x.chunk->id > y.chunk->id;
    });
    const std::size_t n = ranked.size();
    std::unordered_map<const Chunk*, std::size_t> rank;
    std::vector<Chunk*> order(n);
    for (std::size_t i = 0; i < n; ++i) {
        rank.emplace(ranked[i].chunk, i);
        order[i] = ranked[i].chunk;
    }
    // free_above[i]: free bytes of the chunks ranked above i.
    std::vector<std::uint64_t> free_above(n, 0);
    for (std::size_t i = n - 1; i-- > 0;)
        free_above[i] = free_above[i + 1] + (ranked[i + 1].used ? ranked[i + 1].chunk->size - ranked[i + 1].used : 0);

    const bool free_chunks = o.goal == DefragmentationGoal::free_chunks;
    std::vector<bool> received(n, false);
    std::uint64_t placed_bytes = 0;
    std::vector<Placement> held;
    struct Planned {
        Named named;
        Placement placement;
        std::uint64_t size;
    };
    std::vector<Planned> placed;
    std::vector<std::pair<Placement, std::uint64_t>> all_held;
    for (std::size_t i = 0; i + 1 < n && !budget.exhausted(); ++i) {
        auto named = by_chunk.find(ranked[i].chunk);
        if (ranked[i].used == 0 || named == by_chunk.end()) continue;
        if (free_chunks) {
            if (received[i] || named->second.size() != ranked[i].blocks) continue;
            if (placed_bytes + ranked[i].used > free_above[i]) continue;  // cannot fit by bytes alone
        }
        struct Context {
            const std::unordered_map<const Chunk*, std::size_t>* rank;
            const std::vector<Ranked>* ranked;
            std::size_t i;
        } context{&rank, &ranked, i};
        const ChunkFilter avoid{[](const void* p, const Chunk& c) {
                                    const auto& ctx = *static_cast<const Context*>(p);
                                    auto it = ctx.rank->find(&c);
                                    return it == ctx.rank->end() || it->second <= ctx.i || (*ctx.ranked)[it->second].used == 0;
                                },
                                &context};
        std::vector<Named>& group = named->second;
        std::sort(group.begin(), group.end(), [](const Named& x, const Named& y) {
            return x.block->size != y.block->size ? x.block->size > y.block->size : x.block->offset < y.block->offset;
        });
        placed.clear();
        bool failed = false;
        for (const Named& nb : group) {
            BlockData& b = *nb.block;
            if (!budget.admits(b.size)) continue;
            const std::uint64_t size = s.placed_size(b);
            Placement p;
            held.clear();
            const bool ok = pool.place_filtered(size, b.alignment(), order, avoid, held, p);
            for (const Placement& h : held) all_held.emplace_back(h, size);
            if (!ok) {
                failed = true;
                if (free_chunks) break;
                continue;
            }
            budget.take(b.size);
            placed.push_back({nb, p, size});
        }
        if (failed && free_chunks) {  // it would not empty: undo, it stays (later sources may fill it)
            for (const Planned& pl : placed) {
                pool.unplace(pl.placement, pl.size);
                budget.give(pl.named.block->size);
            }
            continue;
        }
        for (const Planned& pl : placed) {
            BlockData& b = *pl.named.block;
            received[rank.find(pl.placement.chunk)->second] = true;
            placed_bytes += pl.placement.reserved;
            pool.counters.add(pl.placement.reserved, b.size);
            Chunk& src = *static_cast<Chunk*>(b.chunk);
            if (pl.placement.chunk->tracked) {
                BlockSnapshot snap{pl.placement.offset, b.size, UsageFlags::none, ResourceKind::unknown, {}};
                if (src.tracked) {  // same pool, so guarded by the lock held
                    auto it = src.tracked->find(b.offset);
                    if (it != src.tracked->end()) {
                        snap = it->second;
                        snap.offset = pl.placement.offset;
                    }
                }
                pl.placement.chunk->tracked->emplace(pl.placement.offset, std::move(snap));
            }
            MoveData m;
            m.block = &b;
            m.index = pl.named.index;
            m.destination.chunk = pl.placement.chunk;
            m.destination.offset = pl.placement.offset;
            m.destination.size = b.size;
            m.destination.meta = pl.placement.meta;
            m.destination.memory_type = b.memory_type;
            m.destination.strategy = b.strategy;
            m.destination.align_log2 = b.align_log2;
            m.destination.flags = static_cast<std::uint8_t>(b.flags & BlockData::flag_granular);
            m.source_chunk_id = src.id;
            m.source_offset = b.offset;
            out.push_back(std::move(m));
        }
    }
    for (const auto& [h, size] : all_held) pool.unplace(h, size);
}

}  // namespace

void AllocatorCore::plan_defragmentation(DeviceRef device, std::span<BlockData* const> blocks,
                                         const DefragmentationOptions& o, std::vector<MoveData>& out) {
    CoreState& s = *state_;
    ByChunk by_chunk;
    std::unordered_set<const BlockData*> seen;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        BlockData* b = blocks[i];
        if (b == nullptr || !movable(s, *b, o) || !seen.insert(b).second) continue;
        by_chunk[static_cast<const Chunk*>(b->chunk)].push_back({b, i});
    }
    if (by_chunk.empty()) return;
    PassBudget budget(o);
    for (std::uint32_t t = 0; t < s.type_count && t < 32 && !budget.exhausted(); ++t) {
        if ((o.memory_types & (1u << t)) == 0) continue;
        s.for_each_pool(t, [&](Pool& pool) {
            if (pool.kind == StrategyKind::free_list || pool.kind == StrategyKind::buddy || pool.kind == StrategyKind::slab)
                plan_pool(s, pool, by_chunk, o, budget, out);
        });
    }
    // Map the destinations of mapped blocks; drop (and free) a move whose mapping fails.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        MoveData& m = out[i];
        if (m.block->mapped()) {
            std::byte* p = nullptr;
            MapError e{};
            if (!block_map(device, m.destination, 0, m.destination.size, p, e)) {
                deallocate(device, m.destination);
                continue;
            }
        }
        if (kept != i) out[kept] = std::move(m);
        ++kept;
    }
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(kept), out.end());
}

void AllocatorCore::apply_defragmentation(DeviceRef device, const DefragmentationOptions& o,
                                          std::vector<MoveData>& moves, DefragmentationStats& stats) {
    CoreState& s = *state_;
    const auto [objects_before, bytes_before] = objects_of(s, o);
    for (MoveData& m : moves) {
        BlockData& b = *m.block;
        const bool intact = b.chunk != nullptr && static_cast<Chunk*>(b.chunk)->id == m.source_chunk_id &&
                            b.offset == m.source_offset;
        if (m.vetoed || !intact) {
            m.vetoed = true;
            deallocate(device, m.destination);
            ++stats.moves_vetoed;
            continue;
        }
        BlockData old = std::move(b);
        b = std::move(m.destination);
        deallocate(device, old);
        ++stats.moves;
        stats.bytes_moved += b.size;
    }
    for (std::uint32_t t = 0; t < s.type_count && t < 32; ++t) {
        if ((o.memory_types & (1u << t)) == 0) continue;
        s.for_each_pool(t, [&](Pool& pool) {
            if (pool.kind == StrategyKind::free_list || pool.kind == StrategyKind::buddy || pool.kind == StrategyKind::slab)
                s.cleanup_pool(device, pool);
        });
    }
    const auto [objects_after, bytes_after] = objects_of(s, o);
    if (objects_before > objects_after) stats.device_objects_freed += objects_before - objects_after;
    if (bytes_before > bytes_after) stats.bytes_freed += bytes_before - bytes_after;
}

}  // namespace gpu_alloc::detail
