// Statistics, snapshots and the JSON dump: read-only views of the core.
//
// Each pool's counters are copied under its lock, one pool at a time, so no
// lock is held longer than one pool's worth of counters (statistics) or one
// pass over one pool's chunks and free ranges (snapshots).
#include <algorithm>
#include <ostream>

#include <gpu_alloc/json_dump.hpp>

#include "core/core_state.hpp"

namespace gpu_alloc::detail {
namespace {

void copy_objects(MemoryStats& s, const ObjectCounters& c) noexcept {
    s.device_objects = ObjectCounters::get(c.objects);
    s.reserved_bytes = ObjectCounters::get(c.reserved);
    s.peak_device_objects = ObjectCounters::get(c.peak_objects);
    s.peak_reserved_bytes = ObjectCounters::get(c.peak_reserved);
    s.device_allocations = ObjectCounters::get(c.allocations);
    s.device_frees = ObjectCounters::get(c.frees);
}

void add_blocks(MemoryStats& into, const MemoryStats& s) noexcept {
    into.used_bytes += s.used_bytes;
    into.requested_bytes += s.requested_bytes;
    into.block_count += s.block_count;
    into.largest_free_range = std::max(into.largest_free_range, s.largest_free_range);
}

ChunkSnapshot describe(const Chunk& chunk, const ChunkUsage& use, std::uint64_t largest_free) {
    ChunkSnapshot c;
    c.id = chunk.id;
    c.memory_type = chunk.memory_type;
    c.heap = chunk.heap;
    c.size = chunk.size;
    c.strategy = chunk.strategy;
    c.used_bytes = use.used_bytes;
    c.block_count = use.block_count;
    c.largest_free_range = largest_free;
    c.mapped = chunk.mapped.load(std::memory_order_acquire) != nullptr;
    c.imported = chunk.imported;
    if (chunk.tracked) {
        c.blocks.reserve(chunk.tracked->size());
        for (const auto& [offset, b] : *chunk.tracked) c.blocks.push_back(b);
        std::sort(c.blocks.begin(), c.blocks.end(),
                  [](const BlockSnapshot& a, const BlockSnapshot& b) { return a.offset < b.offset; });
    }
    return c;
}

}  // namespace

TotalCounters AllocatorCore::totals() const noexcept {
    const CoreState& s = *state_;
    TotalCounters out;
    out.device_objects = ObjectCounters::get(s.total.objects);
    out.reserved_bytes = ObjectCounters::get(s.total.reserved);
    out.device_allocations = ObjectCounters::get(s.total.allocations);
    for (std::uint32_t t = 0; t < s.type_count; ++t) {
        s.for_each_pool(t, [&](const Pool& p) {
            out.used_bytes += p.counters.used_bytes.load(std::memory_order_relaxed);
            out.requested_bytes += p.counters.requested_bytes.load(std::memory_order_relaxed);
            out.block_count += p.counters.block_count.load(std::memory_order_relaxed);
        });
    }
    return out;
}

Statistics AllocatorCore::statistics() const {
    const CoreState& s = *state_;
    Statistics out;
    out.memory_types.resize(s.type_count);
    out.heaps.resize(s.heap_count);
    {
        // One consistent picture of the device objects.
        std::lock_guard lock(s.objects_mutex);
        for (std::uint32_t t = 0; t < s.type_count; ++t) copy_objects(out.memory_types[t], s.types[t].objects);
        for (std::uint32_t h = 0; h < s.heap_count; ++h) copy_objects(out.heaps[h], s.heaps[h].objects);
        copy_objects(out.total, s.total);
    }
    for (std::uint32_t t = 0; t < s.type_count; ++t) {
        MemoryStats& m = out.memory_types[t];
        s.for_each_pool(t, [&](Pool& p) {
            std::lock_guard lock(p.mutex);
            m.used_bytes += p.counters.used_bytes.load(std::memory_order_relaxed);
            m.requested_bytes += p.counters.requested_bytes.load(std::memory_order_relaxed);
            m.block_count += p.counters.block_count.load(std::memory_order_relaxed);
            m.largest_free_range = std::max(m.largest_free_range, p.largest_free_range());
        });
        add_blocks(out.heaps[s.types[t].heap], m);
        add_blocks(out.total, m);
    }
    return out;
}

AllocatorSnapshot AllocatorCore::snapshot() const {
    const CoreState& s = *state_;
    AllocatorSnapshot out;
    out.blocks_tracked = s.config.track_blocks;
    std::vector<std::uint64_t> largest;
    for (std::uint32_t t = 0; t < s.type_count; ++t) {
        s.for_each_pool(t, [&](Pool& p) {
            std::lock_guard lock(p.mutex);
            p.largest_free_ranges(largest);
            for (const auto& c : p.chunks()) out.chunks.push_back(describe(*c, p.usage(*c), largest[c->pool_index]));
        });
    }
    std::sort(out.chunks.begin(), out.chunks.end(), [](const ChunkSnapshot& a, const ChunkSnapshot& b) {
        return a.memory_type != b.memory_type ? a.memory_type < b.memory_type : a.id < b.id;
    });
    return out;
}

void AllocatorCore::dump_json(std::ostream& out) const {
    write_allocator_json(out, state_->props, state_->config, statistics(), snapshot());
}

}  // namespace gpu_alloc::detail
