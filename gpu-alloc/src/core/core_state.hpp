// The allocator's state (AllocatorCore's implementation), shared by the files
// of the compiled core: allocator_core.cpp (allocate, free, counters),
// statistics.cpp (statistics, snapshots, the JSON dump) and defragmenter.cpp.
//
// Locks, outermost first (docs/architecture.md):
//   pool->mutex        one pool's chunks and strategy state, and its counters' writes
//                      (a PoolLock: spins briefly, then sleeps);
//   type.create_mutex  making a pool on first use (never held with a pool lock);
//   objects_mutex      device-object counters, budgets and the object limit: held
//                      for a few instructions, never across a device call;
//   chunk->device_mutex  device calls on one memory object (map, flush, ...).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include <gpu_alloc/detail/allocator_core.hpp>
#include <gpu_alloc/memory_type_selector.hpp>
#include <gpu_alloc/misuse.hpp>

#include "pool.hpp"

namespace gpu_alloc::detail {

/// The pools of one memory type are kept by slot: the strategy, and for the
/// free list whether the request is "large" (Config::large_request_size).
enum PoolSlot : std::uint32_t {
    slot_free_list,
    slot_free_list_large,
    slot_buddy,
    slot_slab,
    slot_linear,
    slot_dedicated,  ///< one per type, never sharded
    pool_slot_count,
};

/// Device memory objects of one memory type, one heap, or all: written under
/// objects_mutex (plain load+store), read anywhere.
struct ObjectCounters {
    std::atomic<std::uint64_t> objects{0};
    std::atomic<std::uint64_t> reserved{0};
    std::atomic<std::uint64_t> peak_objects{0};
    std::atomic<std::uint64_t> peak_reserved{0};
    std::atomic<std::uint64_t> allocations{0};  ///< created, ever
    std::atomic<std::uint64_t> frees{0};        ///< destroyed, ever

    static std::uint64_t get(const std::atomic<std::uint64_t>& a) noexcept { return a.load(std::memory_order_relaxed); }
    static void set(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept { a.store(v, std::memory_order_relaxed); }
    void created(std::uint64_t size) noexcept {
        set(objects, get(objects) + 1);
        set(reserved, get(reserved) + size);
        set(allocations, get(allocations) + 1);
        if (get(objects) > get(peak_objects)) set(peak_objects, get(objects));
        if (get(reserved) > get(peak_reserved)) set(peak_reserved, get(reserved));
    }
    void destroyed(std::uint64_t size) noexcept {
        set(objects, get(objects) - 1);
        set(reserved, get(reserved) - size);
        set(frees, get(frees) + 1);
    }
};

struct TypeState {
    std::uint32_t heap = 0;
    MemoryPropertyFlags props = MemoryPropertyFlags::none;
    std::uint64_t max_chunk = 0;
    std::uint64_t min_chunk = 0;
    std::uint64_t dedicated_threshold = 0;
    std::uint64_t atom = 1;  ///< > 1 on host-visible, non-coherent types
    bool slab_fits = false;  ///< chunks of this type can hold a slab page
    bool buddy_fits = false;

    std::mutex create_mutex;
    /// Made on first use; owned (deleted by ~CoreState).
    std::atomic<Pool*> pools[pool_slot_count][max_pool_shards] = {};
    ObjectCounters objects;
};

struct HeapState {
    std::uint64_t size = 0;
    // Under objects_mutex:
    std::uint64_t budget = 0;   ///< bytes this process may use of the heap
    std::uint64_t others = 0;   ///< used by others at the last budget report
    std::uint64_t pending_bytes = 0;  ///< reserved for objects being created
    /// Whether ours + others exceed the budget now: read on the free path.
    std::atomic<bool> over_budget{false};
    ObjectCounters objects;
};

class CoreState {
public:
    CoreState(const DeviceProperties& props, const Config& config, const HandleOps& handles);
    ~CoreState();

    DeviceProperties props;
    Config config;
    MemoryTypeSelector selector;
    HandleOps handles;
    std::uint32_t type_count = 0;
    std::uint32_t heap_count = 0;
    std::uint32_t shard_count = 1;
    std::unique_ptr<TypeState[]> types;
    std::unique_ptr<HeapState[]> heaps;

    mutable std::mutex objects_mutex;
    ObjectCounters total;
    std::uint64_t pending_objects = 0;  ///< under objects_mutex
    std::uint64_t allocations_since_refresh = 0;
    bool refreshed_once = false;

    std::atomic<std::uint64_t> next_chunk_id{1};
    mutable std::atomic<std::uint64_t> misuse_count{0};

    /// The pool of (type, slot, shard), made on first use; null when out of host memory.
    Pool* pool(std::uint32_t type, PoolSlot slot, std::uint32_t shard = 0);
    /// This thread's pool of (type, slot), returned locked; null when out of host
    /// memory. Thread n uses shard n % pool_shards (threads numbered in the order
    /// they first allocate), so threads on different shards never meet on a lock.
    Pool* lock_pool(std::uint32_t type, PoolSlot slot);
    /// Calls f(Pool&) for every pool made so far.
    template <class F>
    void for_each_pool(std::uint32_t type, F&& f) const {
        for (std::uint32_t s = 0; s < pool_slot_count; ++s)
            for (std::uint32_t k = 0; k < max_pool_shards; ++k)
                if (Pool* p = types[type].pools[s][k].load(std::memory_order_acquire)) f(*p);
    }

    void report_misuse(AllocatorMisuse kind, const char* what) const noexcept {
        misuse_count.fetch_add(1, std::memory_order_relaxed);
        detail::report_misuse(kind, what);
    }
    /// The size a block was placed with (request size rounded to atoms and pages).
    std::uint64_t placed_size(const BlockData& block) const noexcept;
    /// Destroys a chunk's device object (unmapping it first) and counts it.
    void destroy_object(DeviceRef device, Chunk& chunk);
    /// Destroys every empty chunk of `pool`.
    void cleanup_pool(DeviceRef device, Pool& pool);
};

}  // namespace gpu_alloc::detail
