// How the allocator sizes its chunks and picks strategies: named presets with
// every field's unit written down, rather than silent defaults nobody chose.
#pragma once

#include <cstdint>

#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc {

/// Which sub-allocation strategy serves a request.
enum class StrategyKind : std::uint8_t {
    free_list,  ///< TLSF-class free list: general purpose
    buddy,      ///< power-of-two buddy blocks
    slab,       ///< fixed size classes for small requests
    linear,     ///< bump allocation, reset when a chunk empties (per-frame transient memory)
    dedicated,  ///< one device memory object per request
};
inline constexpr std::uint32_t strategy_kind_count = 5;

constexpr const char* to_string(StrategyKind k) noexcept {
    switch (k) {
        case StrategyKind::free_list: return "free_list";
        case StrategyKind::buddy: return "buddy";
        case StrategyKind::slab: return "slab";
        case StrategyKind::linear: return "linear";
        case StrategyKind::dedicated: return "dedicated";
    }
    return "unknown";
}

/// Most pool shards per memory type (Config::pool_shards).
inline constexpr std::uint32_t max_pool_shards = 16;

/// The default policy routes each request by size and usage (see docs/policy.md);
/// the others force one strategy for every request, to compare them.
enum class StrategyPolicy : std::uint8_t { automatic, free_list, buddy, slab, dedicated };

/// What happens when a new device memory object would exceed a heap's budget.
enum class OverBudgetPolicy : std::uint8_t {
    fail,       ///< fail with AllocationErrorKind::over_budget
    fall_back,  ///< try the next suitable memory type (possibly on another heap) first
};

/// Allocator configuration. Start from a preset, then change fields.
struct Config {
    /// Largest chunk (device memory object for sub-allocation) created, bytes. Chunks of
    /// a pool start at min_chunk_size and double with the pool's size up to this.
    /// Clamped per heap to heap_size / 8 and to max_memory_allocation_size.
    std::uint64_t max_chunk_size = 256ull << 20;
    /// First chunk of a pool, bytes (a power of two).
    std::uint64_t min_chunk_size = 16ull << 20;
    /// Requests of at least this many bytes get a dedicated device memory object.
    /// Values above max_chunk_size are lowered to it.
    std::uint64_t dedicated_threshold = 128ull << 20;
    /// Requests up to this many bytes (and alignment) go to slab chunks; 0 disables slabs.
    std::uint64_t slab_max_size = 4096;
    /// Page of a slab chunk, bytes (a power of two, >= slab_max_size).
    std::uint64_t slab_page_size = 64ull << 10;
    /// Free-list requests of at least this many bytes get chunks of their own,
    /// apart from smaller ones; 0 keeps them together.
    std::uint64_t large_request_size = 0;
    /// Transient requests up to this many bytes go to linear chunks; 0 disables them.
    std::uint64_t linear_max_size = 1ull << 20;
    /// Smallest block of a buddy chunk, bytes (a power of two).
    std::uint64_t buddy_min_block = 256;
    /// Fraction of a heap's size used as its budget when the device reports no budget.
    double budget_fraction = 0.8;
    /// New device memory objects between two budget queries (when the device has one).
    /// Budget queries are not free (wgpu #9769); device allocations are rare.
    std::uint32_t budget_refresh_interval = 1;
    OverBudgetPolicy over_budget = OverBudgetPolicy::fall_back;
    /// Empty chunks kept per pool for reuse (hysteresis); never kept while over budget.
    std::uint32_t spare_chunks = 1;
    StrategyPolicy policy = StrategyPolicy::automatic;
    /// Sets of pools per memory type, 1 to max_pool_shards, each made on first use.
    /// Thread n allocates from shard n % pool_shards (threads numbered in the order
    /// they first allocate), so threads on different shards never meet on a lock.
    /// A single thread uses one shard; each shard in use may hold one partly used
    /// chunk per pool, so more shards mean more device objects with many threads.
    std::uint32_t pool_shards = 4;
    /// Record every live block (name, offset, size) for dump_json and snapshots.
    /// Costs a hash-map insert and erase per allocation; off by default.
    bool track_blocks = false;

    /// 256 MiB chunks, dedicated from 128 MiB: the shape of VMA's defaults.
    static Config balanced() noexcept { return Config{}; }

    /// Small chunks (4 MiB up to 64 MiB) for memory-tight devices and tests.
    static Config low_memory() noexcept {
        Config c;
        c.max_chunk_size = 64ull << 20;
        c.min_chunk_size = 4ull << 20;
        c.dedicated_threshold = 32ull << 20;
        return c;
    }

    /// Derived from the device's own heap sizes: the largest heap / 256, rounded
    /// down to a power of two, between 32 MiB and 1 GiB (an 80 GB H100 gets 256 MiB
    /// chunks, lavapipe's 2 GiB heap 32 MiB ones); small heaps are clamped further
    /// per heap. First chunks are 1/8 of that (at least 4 MiB): 32 MiB on an H100.
    /// Larger chunks mean fewer device objects at the cost of up to one partly used
    /// chunk per pool. On the H100, 256 MiB is also the cheapest size per byte to
    /// create and to free (vkFreeMemory of 1 GiB costs 7x that of 256 MiB, not 4x),
    /// and it gave the lowest overhead on the standard traces (docs/policy.md).
    ///
    /// A device that allows fewer memory objects than Vulkan's guaranteed 4096
    /// gets one pool shard and chunks large enough that a quarter of its objects
    /// cover the largest heap, all of that size from the first (with 64 objects
    /// and a 2 GiB heap: 128 MiB chunks), so that it runs out of bytes, not objects.
    static Config for_device(const DeviceProperties& props) noexcept {
        std::uint64_t largest = 0;
        for (const MemoryHeap& h : props.memory_heaps) largest = largest > h.size ? largest : h.size;
        std::uint64_t chunk = 32ull << 20;
        while (chunk * 2 <= largest / 256 && chunk < (1ull << 30)) chunk *= 2;
        Config c;
        const std::uint64_t objects = props.max_memory_allocation_count;
        const bool few_objects = objects < 4096;
        if (few_objects) {
            const std::uint64_t quarter = objects / 4 > 0 ? objects / 4 : 1;
            while (chunk < largest / quarter && chunk < (1ull << 30)) chunk *= 2;
            c.pool_shards = 1;
        }
        c.max_chunk_size = chunk;
        c.min_chunk_size = few_objects ? chunk : (chunk / 8 < (4ull << 20) ? (4ull << 20) : chunk / 8);
        c.dedicated_threshold = chunk / 2;
        return c;
    }
};

}  // namespace gpu_alloc
