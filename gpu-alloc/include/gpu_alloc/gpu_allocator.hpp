// GpuAllocator: what a graphics engine or safe-API wrapper calls for the memory
// of every buffer and image.
//
// It picks a memory type for the request's usage and type mask (best first,
// falling back to the next suitable type when one is full or over budget),
// sub-allocates from large device memory objects ("chunks") it creates and
// grows as needed, gives large or driver-preferred resources a dedicated
// object, keeps each heap within its budget and the device's object-count and
// object-size limits, maps chunks once for all their blocks, and counts
// everything.
//
// The device is passed to every call that may touch it, as in the Rust
// gpu-alloc: the allocator holds no reference to it, so its lifetime and
// thread-safety stay with the caller (the adapter that owns the VkDevice), and
// one type works with any MemoryDevice whose handle is `Memory`.
//
// Thread safety: every member function may be called from any thread at once.
// Each (memory type, strategy) pool has its own lock, and each memory type has
// Config::pool_shards sets of pools, one per thread (modulo the count); heap
// budgets and object counts are atomics. Threads on different pools or shards
// never contend.
// A MemoryBlock itself is not synchronized: one thread uses it at a time.
//
// Lifetime: give back every block with deallocate(), call cleanup(device) to
// destroy the chunks kept for reuse, then destroy the allocator. Whatever is
// still alive then is reported as leaked (its device memory cannot be freed
// without the device).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <ostream>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gpu_alloc/allocation_error.hpp>
#include <gpu_alloc/config.hpp>
#include <gpu_alloc/detail/chunk.hpp>
#include <gpu_alloc/detail/pool.hpp>
#include <gpu_alloc/detail/region_pool.hpp>
#include <gpu_alloc/detail/strategy_factory.hpp>
#include <gpu_alloc/heap_budget.hpp>
#include <gpu_alloc/json_dump.hpp>
#include <gpu_alloc/memory_block.hpp>
#include <gpu_alloc/memory_type_selector.hpp>
#include <gpu_alloc/misuse.hpp>
#include <gpu_alloc/request.hpp>
#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/statistics.hpp>
#include <gpu_alloc/types/device.hpp>

namespace gpu_alloc {

/// A MemoryDevice whose memory handle is `Memory`.
template <class D, class Memory>
concept MemoryDeviceFor = MemoryDevice<D> && std::same_as<typename D::Memory, Memory>;

template <class Memory>
class GpuAllocator {
public:
    using Block = MemoryBlock<Memory>;

    /// Precondition: is_valid(props). Invalid properties yield an allocator with
    /// no memory types, which refuses every request with invalid_request
    /// (empty_memory_type_mask).
    GpuAllocator(DeviceProperties props, Config config) : props_(std::move(props)), config_(config),
          selector_(props_), budget_(props_, config.budget_fraction) {
        if (!is_valid(props_)) {
            props_.memory_types.clear();
            selector_ = MemoryTypeSelector(props_);
        }
        type_count_ = static_cast<std::uint32_t>(props_.memory_types.size());
        shard_count_ = std::clamp<std::uint32_t>(config_.pool_shards, 1, max_pool_shards);
        types_ = std::make_unique<TypeState[]>(type_count_);
        for (std::uint32_t t = 0; t < type_count_; ++t) configure_type(t);
    }
    GpuAllocator(const GpuAllocator&) = delete;
    GpuAllocator& operator=(const GpuAllocator&) = delete;

    ~GpuAllocator() {
        const TotalCounters left = totals();
        if (left.device_objects != 0 || left.block_count != 0)
            report_misuse(AllocatorMisuse::allocator_destroyed_with_live_memory,
                          "GpuAllocator destroyed with live device memory objects or blocks; "
                          "deallocate every block and call cleanup(device) first");
    }

    /// Allocates memory for `request`.
    /// Errors: invalid_request (with the reason), no_compatible_memory_types,
    /// out_of_device_memory / out_of_host_memory, too_many_objects, over_budget.
    /// On error nothing changed.
    template <MemoryDeviceFor<Memory> D>
    Result<Block, AllocationError> allocate(D& device, const Request& request) {
        if (auto invalid = check_request(request); invalid != InvalidRequest::none)
            return unexpected(AllocationError::invalid_request(invalid));
        const std::uint32_t mask = request.memory_types & valid_type_mask();
        if (mask == 0) return unexpected(AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask));

        const MemoryTypeList& candidates = selector_.types_for(request.usage);
        bool any_compatible = false;
        AllocationError first_error{};
        for (std::uint32_t i = 0; i < candidates.count; ++i) {
            const std::uint32_t t = candidates.types[i];
            if ((mask & (1u << t)) == 0) continue;
            auto block = allocate_in_type(device, t, request);
            if (block) return block;
            if (!any_compatible) first_error = block.error();
            any_compatible = true;
            if (block.error() == AllocationErrorKind::over_budget && config_.over_budget == OverBudgetPolicy::fail)
                return unexpected(block.error());
        }
        if (!any_compatible) return unexpected(AllocationError{AllocationErrorKind::no_compatible_memory_types});
        return unexpected(first_error);
    }

    /// Gives a block back. Its chunk is destroyed when it becomes empty and the
    /// pool already keeps Config::spare_chunks empty chunks (none while over
    /// budget). A block that is empty or belongs to another allocator is
    /// reported as misuse and left untouched.
    template <MemoryDeviceFor<Memory> D>
    void deallocate(D& device, Block&& block) {
        if (!block.chunk_) return report_misuse(AllocatorMisuse::empty_block, "deallocate of a block that holds no memory");
        if (block.owner_ != this)
            return report_misuse(AllocatorMisuse::foreign_block, "deallocate of a block from another allocator");
        detail::ChunkHeader<Memory>* chunk = std::exchange(block.chunk_, nullptr);
        if (block.mapped_) {
            std::lock_guard lock(chunk->map_mutex);
            --chunk->map_count;
            block.mapped_ = false;
        }
        TypeState& ts = types_[chunk->memory_type];
        switch (chunk->strategy) {
            case StrategyKind::free_list:
                if (static_cast<detail::RegionChunk<Memory>*>(chunk)->large)
                    return free_in_pool(device, ts, ts.shards[chunk->shard].free_list_large, chunk, block);
                return free_in_pool(device, ts, ts.shards[chunk->shard].free_list, chunk, block);
            case StrategyKind::buddy: return free_in_pool(device, ts, ts.shards[chunk->shard].buddy, chunk, block);
            case StrategyKind::slab: return free_in_pool(device, ts, ts.shards[chunk->shard].slab, chunk, block);
            case StrategyKind::linear: return free_in_pool(device, ts, ts.shards[chunk->shard].linear, chunk, block);
            case StrategyKind::dedicated: break;
        }
        std::unique_ptr<detail::ChunkHeader<Memory>> owned;
        {
            std::lock_guard lock(ts.dedicated_mutex);
            auto it = ts.dedicated.find(chunk);
            owned = std::move(it->second);
            ts.dedicated.erase(it);
            ts.dedicated_counters.remove(chunk->size, block.size_);
        }
        destroy_object(device, *owned);
    }

    /// Destroys every empty chunk kept for reuse. Call before destroying the
    /// allocator, and when memory is tight.
    template <MemoryDeviceFor<Memory> D>
    void cleanup(D& device) {
        for (std::uint32_t t = 0; t < type_count_; ++t) {
            TypeState& ts = types_[t];
            for (PoolSet& ps : ts.shards) ps.for_each([&](auto& pool) { cleanup_pool(device, pool); });
        }
    }

    /// Queries the device's heap budgets now (when it can report them).
    template <MemoryDeviceFor<Memory> D>
    void refresh_budget(D& device) {
        if constexpr (MemoryDeviceWithBudget<D>) {
            std::array<HeapBudget, max_memory_heaps> reported{};
            const std::size_t n = props_.memory_heaps.size();
            if (device.query_budget(std::span<HeapBudget>(reported.data(), n)))
                budget_.update_from_device(std::span<const HeapBudget>(reported.data(), n));
        }
    }

    /// Takes ownership of a device memory object created elsewhere (external
    /// memory, an imported handle): it counts against its heap and the object
    /// count, and deallocate() destroys it through the device.
    /// Errors: invalid_request (zero size, type out of range), too_many_objects.
    Result<Block, AllocationError> import_memory(Memory memory, std::uint32_t memory_type, std::uint64_t size) {
        if (size == 0) return unexpected(AllocationError::invalid_request(InvalidRequest::zero_size));
        if (memory_type >= type_count_)
            return unexpected(AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask));
        if (!reserve_object_slot()) return unexpected(AllocationError{AllocationErrorKind::too_many_objects});
        TypeState& ts = types_[memory_type];
        budget_.force_reserve(ts.heap, size);
        on_object_created(ts, size);
        auto chunk = std::make_unique<detail::ChunkHeader<Memory>>(memory, size, next_chunk_id(), memory_type, ts.heap,
                                                                   ts.props, StrategyKind::dedicated);
        chunk->imported = true;
        Request request;
        request.size = size;
        return register_dedicated(ts, std::move(chunk), request);
    }

    /// How many more device memory objects may be created (max_memory_allocation_count - live).
    std::uint64_t remaining_allocations() const noexcept {
        const std::uint64_t live = live_objects_.load(std::memory_order_relaxed);
        return props_.max_memory_allocation_count > live ? props_.max_memory_allocation_count - live : 0;
    }

    /// Running totals: O(memory types), no locks.
    TotalCounters totals() const noexcept {
        TotalCounters out;
        for (std::uint32_t t = 0; t < type_count_; ++t) {
            const TypeState& ts = types_[t];
            out.device_objects += ts.device_objects.load(std::memory_order_relaxed);
            out.reserved_bytes += ts.reserved_bytes.load(std::memory_order_relaxed);
            out.device_allocations += ts.device_allocations.load(std::memory_order_relaxed);
            ts.for_each_counters([&](const detail::PoolCounters& c) {
                out.used_bytes += c.used_bytes.load(std::memory_order_relaxed);
                out.requested_bytes += c.requested_bytes.load(std::memory_order_relaxed);
                out.block_count += c.block_count.load(std::memory_order_relaxed);
            });
        }
        return out;
    }

    /// Full statistics per memory type, per heap and in total (takes each pool's lock once).
    Statistics statistics() const {
        Statistics out;
        out.memory_types.resize(type_count_);
        out.heaps.resize(props_.memory_heaps.size());
        for (std::uint32_t t = 0; t < type_count_; ++t) {
            const TypeState& ts = types_[t];
            MemoryStats& s = out.memory_types[t];
            s.device_objects = ts.device_objects.load(std::memory_order_relaxed);
            s.reserved_bytes = ts.reserved_bytes.load(std::memory_order_relaxed);
            s.peak_device_objects = ts.peak_device_objects.load(std::memory_order_relaxed);
            s.peak_reserved_bytes = ts.peak_reserved_bytes.load(std::memory_order_relaxed);
            s.device_allocations = ts.device_allocations.load(std::memory_order_relaxed);
            s.device_frees = ts.device_frees.load(std::memory_order_relaxed);
            ts.for_each_counters([&](const detail::PoolCounters& c) {
                s.used_bytes += c.used_bytes.load(std::memory_order_relaxed);
                s.requested_bytes += c.requested_bytes.load(std::memory_order_relaxed);
                s.block_count += c.block_count.load(std::memory_order_relaxed);
            });
            for_each_pool(ts, [&](auto& pool) {
                std::lock_guard lock(pool.mutex());
                pool.for_each_chunk([&](const auto&, std::uint64_t, std::uint64_t, std::uint64_t largest) {
                    s.largest_free_range = std::max(s.largest_free_range, largest);
                });
            });
            accumulate(out.heaps[ts.heap], s);
            accumulate(out.total, s);
        }
        for (std::uint32_t h = 0; h < out.heaps.size(); ++h) {
            out.heaps[h].peak_reserved_bytes = heap_peaks_[h].reserved.load(std::memory_order_relaxed);
            out.heaps[h].peak_device_objects = heap_peaks_[h].objects.load(std::memory_order_relaxed);
        }
        out.total.peak_reserved_bytes = total_peak_reserved_.load(std::memory_order_relaxed);
        out.total.peak_device_objects = total_peak_objects_.load(std::memory_order_relaxed);
        return out;
    }

    /// Every chunk (and, with Config::track_blocks, every block) right now.
    AllocatorSnapshot snapshot() const {
        AllocatorSnapshot out;
        out.blocks_tracked = config_.track_blocks;
        for (std::uint32_t t = 0; t < type_count_; ++t) {
            const TypeState& ts = types_[t];
            for_each_pool(ts, [&](auto& pool) {
                std::lock_guard lock(pool.mutex());
                pool.for_each_chunk([&](const detail::ChunkHeader<Memory>& chunk, std::uint64_t used,
                                        std::uint64_t blocks, std::uint64_t largest) {
                    out.chunks.push_back(describe(chunk, used, blocks, largest));
                });
            });
            std::lock_guard lock(ts.dedicated_mutex);
            for (const auto& [key, chunk] : ts.dedicated)
                out.chunks.push_back(describe(*chunk, chunk->size, 1, 0));
        }
        std::sort(out.chunks.begin(), out.chunks.end(), [](const ChunkSnapshot& a, const ChunkSnapshot& b) {
            return a.memory_type != b.memory_type ? a.memory_type < b.memory_type : a.id < b.id;
        });
        return out;
    }

    /// Writes statistics and the snapshot as JSON (schema in docs/json-schema.md).
    void dump_json(std::ostream& out) const { write_allocator_json(out, props_, config_, statistics(), snapshot()); }

    const DeviceProperties& properties() const noexcept { return props_; }
    const Config& config() const noexcept { return config_; }
    const HeapBudgetTracker& budget() const noexcept { return budget_; }
    /// How many contract violations (foreign or empty blocks) were reported.
    std::uint64_t misuse_count() const noexcept { return misuse_count_.load(std::memory_order_relaxed); }

private:
    friend class detail::Defragmenter<Memory>;  // plans and applies moves (detail/defragmenter.hpp)

    /// The pools of one memory type and shard, one per strategy, each behind its own lock.
    struct PoolSet {
        detail::RegionPool<Memory> free_list;
        /// Free-list requests of at least Config::large_request_size: kept apart so
        /// that small blocks do not pepper the holes large ones leave.
        detail::RegionPool<Memory> free_list_large;
        detail::Pool<Memory, BuddyAllocator> buddy;
        detail::Pool<Memory, SlabAllocator> slab;
        detail::Pool<Memory, LinearAllocator> linear;

        template <class F>
        void for_each(F&& f) {
            f(free_list);
            f(free_list_large);
            f(buddy);
            f(slab);
            f(linear);
        }
    };

    struct TypeState {
        std::uint32_t heap = 0;
        MemoryPropertyFlags props = MemoryPropertyFlags::none;
        std::uint64_t max_chunk = 0;
        std::uint64_t min_chunk = 0;
        std::uint64_t dedicated_threshold = 0;
        std::uint64_t atom = 1;  ///< > 1 on host-visible, non-coherent types

        /// One set of pools per shard; a thread allocates from its own shard
        /// (Config::pool_shards), so threads do not queue on one lock.
        std::array<PoolSet, max_pool_shards> shards;
        std::uint32_t active_shards = 1;  ///< shards that can hold chunks (Config::pool_shards)

        mutable std::mutex dedicated_mutex;
        std::unordered_map<const void*, std::unique_ptr<detail::ChunkHeader<Memory>>> dedicated;
        detail::PoolCounters dedicated_counters;

        // Device memory objects of this type; changed only when one is created or destroyed.
        std::atomic<std::uint64_t> device_objects{0};
        std::atomic<std::uint64_t> reserved_bytes{0};
        std::atomic<std::uint64_t> peak_device_objects{0};
        std::atomic<std::uint64_t> peak_reserved_bytes{0};
        std::atomic<std::uint64_t> device_allocations{0};
        std::atomic<std::uint64_t> device_frees{0};

        template <class F>
        void for_each_counters(F&& f) const {
            for (std::uint32_t shard = 0; shard < active_shards; ++shard) {
                const PoolSet& ps = shards[shard];
                f(ps.free_list.counters());
                f(ps.free_list_large.counters());
                f(ps.buddy.counters());
                f(ps.slab.counters());
                f(ps.linear.counters());
            }
            f(dedicated_counters);
        }
    };

    struct HeapPeaks {
        std::atomic<std::uint64_t> reserved{0};
        std::atomic<std::uint64_t> objects{0};
        std::atomic<std::uint64_t> live_reserved{0};
        std::atomic<std::uint64_t> live_objects{0};
    };

    template <class F>
    static void for_each_pool(const TypeState& ts, F&& f) {
        auto& mutable_ts = const_cast<TypeState&>(ts);  // pools are locked, not changed, by readers
        for (std::uint32_t shard = 0; shard < ts.active_shards; ++shard) mutable_ts.shards[shard].for_each(f);
    }

    static std::uint64_t round_up(std::uint64_t v, std::uint64_t a) noexcept { return (v + a - 1) / a * a; }
    static std::uint64_t pow2_floor(std::uint64_t v) noexcept {
        std::uint64_t p = 1;
        while (p <= v / 2) p *= 2;
        return p;
    }

    void configure_type(std::uint32_t t) {
        TypeState& ts = types_[t];
        const MemoryType& type = props_.memory_types[t];
        ts.heap = type.heap;
        ts.props = type.props;
        const std::uint64_t heap_size = props_.memory_heaps[type.heap].size;
        std::uint64_t max_chunk = std::min({config_.max_chunk_size, std::max<std::uint64_t>(heap_size / 8, 1),
                                            props_.max_memory_allocation_size});
        max_chunk = pow2_floor(std::max<std::uint64_t>(max_chunk, 1));
        ts.max_chunk = max_chunk;
        ts.min_chunk = std::min(pow2_floor(std::max<std::uint64_t>(config_.min_chunk_size, 1)), max_chunk);
        ts.dedicated_threshold = std::min(config_.dedicated_threshold, max_chunk);
        ts.active_shards = shard_count_;
        for (std::uint32_t shard = 0; shard < shard_count_; ++shard) {
            ts.shards[shard].free_list.configure(max_chunk);
            ts.shards[shard].free_list_large.configure(max_chunk);
        }
        if (contains(type.props, MemoryPropertyFlags::host_visible) &&
            !contains(type.props, MemoryPropertyFlags::host_coherent))
            ts.atom = props_.non_coherent_atom_size;
    }

    std::uint32_t valid_type_mask() const noexcept {
        return type_count_ >= 32 ? ~0u : ((1u << type_count_) - 1);
    }

    InvalidRequest check_request(const Request& r) const noexcept {
        if (r.size == 0) return InvalidRequest::zero_size;
        if (r.alignment == 0 || (r.alignment & (r.alignment - 1)) != 0) return InvalidRequest::alignment_not_power_of_two;
        if (r.size > props_.max_memory_allocation_size) return InvalidRequest::size_too_large;
        if (r.alignment > props_.max_memory_allocation_size) return InvalidRequest::alignment_too_large;
        if (contains(r.usage, UsageFlags::device_address) && !props_.buffer_device_address)
            return InvalidRequest::device_address_unsupported;
        return InvalidRequest::none;
    }

    /// The strategy for a request of (already adjusted) `size` and `alignment` on type `ts`.
    StrategyKind choose_strategy(const Request& r, const TypeState& ts, std::uint64_t size,
                                 std::uint64_t alignment) const noexcept {
        if (config_.policy == StrategyPolicy::dedicated || r.dedicated != DedicatedHint::none) return StrategyKind::dedicated;
        if (size >= ts.dedicated_threshold || size > ts.max_chunk || alignment > ts.max_chunk)
            return StrategyKind::dedicated;
        const bool slab_fits = config_.slab_max_size != 0 && size <= config_.slab_max_size &&
                               alignment <= config_.slab_max_size && ts.max_chunk >= config_.slab_page_size;
        switch (config_.policy) {
            case StrategyPolicy::free_list: return StrategyKind::free_list;
            case StrategyPolicy::buddy: return StrategyKind::buddy;
            case StrategyPolicy::slab: return slab_fits ? StrategyKind::slab : StrategyKind::free_list;
            case StrategyPolicy::dedicated: return StrategyKind::dedicated;
            case StrategyPolicy::automatic: break;
        }
        if (contains(r.usage, UsageFlags::transient) && size <= config_.linear_max_size) return StrategyKind::linear;
        if (slab_fits && r.kind == ResourceKind::linear) return StrategyKind::slab;
        return StrategyKind::free_list;
    }

    template <class D>
    Result<Block, AllocationError> allocate_in_type(D& device, std::uint32_t t, const Request& r) {
        TypeState& ts = types_[t];
        std::uint64_t size = r.size;
        std::uint64_t alignment = r.alignment;
        // Non-coherent memory: whole atoms, so that a flush never touches a neighbour.
        if (ts.atom > 1) {
            alignment = std::max(alignment, ts.atom);
            size = round_up(size, ts.atom);
        }
        // Images (and resources of unknown kind) take whole granularity pages, so
        // that no buffer can share a page with them; buffers pay nothing.
        const std::uint64_t granularity = props_.buffer_image_granularity;
        if (r.kind != ResourceKind::linear && granularity > 1) {
            alignment = std::max(alignment, granularity);
            size = round_up(size, granularity);
        }
        PoolSet& ps = ts.shards[current_shard()];
        switch (choose_strategy(r, ts, size, alignment)) {
            case StrategyKind::free_list:
                if (config_.large_request_size != 0 && size >= config_.large_request_size)
                    return allocate_in_pool(device, t, ps.free_list_large, size, alignment, r);
                return allocate_in_pool(device, t, ps.free_list, size, alignment, r);
            case StrategyKind::buddy: return allocate_in_pool(device, t, ps.buddy, size, alignment, r);
            case StrategyKind::slab: return allocate_in_pool(device, t, ps.slab, size, alignment, r);
            case StrategyKind::linear: return allocate_in_pool(device, t, ps.linear, size, alignment, r);
            case StrategyKind::dedicated: break;
        }
        // A dedicated object holds one resource and shares nothing: no rounding, and
        // Vulkan requires its size to be exactly the resource's (VUID-VkMemoryDedicatedAllocateInfo-buffer-01435).
        return allocate_dedicated(device, t, r.size, r);
    }

    template <class D, class PoolT>
    Result<Block, AllocationError> allocate_in_pool(D& device, std::uint32_t t, PoolT& pool, std::uint64_t size,
                                                    std::uint64_t alignment, const Request& r) {
        TypeState& ts = types_[t];
        std::lock_guard lock(pool.mutex());
        if (auto placed = pool.try_allocate(size, alignment)) return finish_in_pool(pool, *placed, r, alignment);

        // A new chunk. On out-of-memory or over-budget, smaller chunks are tried
        // down to what the request needs (a nearly full heap can still take them).
        // A chunk starts at offset 0, so any chunk at least max(size, alignment)
        // bytes holds the request (alignment <= max_chunk: larger ones go dedicated).
        const std::uint64_t fits = std::max(size, alignment);
        const std::uint64_t needed = std::max(fits, ts.min_chunk / 8);
        std::uint64_t chunk_size = pool.next_chunk_size(fits, ts.min_chunk, ts.max_chunk);
        for (;;) {
            auto memory = create_object(device, ts, t, chunk_size, DedicatedResource{}, r.priority);
            if (!memory) {
                const bool retry = memory.error() == AllocationErrorKind::out_of_device_memory ||
                                   memory.error() == AllocationErrorKind::over_budget;
                if (retry && chunk_size / 2 >= needed) {
                    chunk_size /= 2;
                    continue;
                }
                return unexpected(memory.error());
            }
            auto chunk = make_chunk(pool, *memory, chunk_size, t);
            if (!chunk) {
                destroy_raw(device, ts, *memory, chunk_size);
                return unexpected(AllocationError{AllocationErrorKind::out_of_host_memory});
            }
            if (config_.track_blocks) chunk->tracked = std::make_unique<std::unordered_map<std::uint64_t, BlockSnapshot>>();
            chunk->shard = static_cast<std::uint8_t>(current_shard());
            std::unique_ptr<typename PoolT::ChunkType> rejected;
            if (auto placed = pool.add_and_allocate(std::move(chunk), size, alignment, rejected))
                return finish_in_pool(pool, *placed, r, alignment);
            // The pool had no slot left for the chunk (RegionPool::max_slots): give it back.
            if (rejected) destroy_object(device, *rejected);
            return unexpected(AllocationError{AllocationErrorKind::too_many_objects});
        }
    }

    template <class Strategy>
    std::unique_ptr<detail::Chunk<Memory, Strategy>> make_chunk(detail::Pool<Memory, Strategy>&, const Memory& memory,
                                                                std::uint64_t size, std::uint32_t t) {
        using Factory = detail::StrategyFactory<Strategy>;
        auto strategy = Factory::make(size, config_);
        if (!strategy) return nullptr;
        const TypeState& ts = types_[t];
        return std::make_unique<detail::Chunk<Memory, Strategy>>(std::move(*strategy), memory, size, next_chunk_id(), t,
                                                                 ts.heap, ts.props, Factory::kind);
    }

    std::unique_ptr<detail::RegionChunk<Memory>> make_chunk(detail::RegionPool<Memory>& pool, const Memory& memory,
                                                            std::uint64_t size, std::uint32_t t) {
        const TypeState& ts = types_[t];
        auto chunk = std::make_unique<detail::RegionChunk<Memory>>(memory, size, next_chunk_id(), t, ts.heap, ts.props,
                                                                   StrategyKind::free_list);
        chunk->large = &pool == &ts.shards[current_shard()].free_list_large;
        return chunk;
    }

    template <class PoolT>
    Block finish_in_pool(PoolT& pool, const typename PoolT::Placement& p, const Request& r, std::uint64_t alignment) {
        pool.counters().add(p.sub.reserved, r.size);
        if (p.chunk->tracked)
            p.chunk->tracked->emplace(p.offset, BlockSnapshot{p.offset, r.size, r.usage, r.kind, std::string(r.name)});
        Block block(p.chunk, p.offset, r.size, p.sub, this);
        block.atom_size_ = types_[p.chunk->memory_type].atom;
        block.alignment_ = alignment;
        return block;
    }

    template <class D>
    Result<Block, AllocationError> allocate_dedicated(D& device, std::uint32_t t, std::uint64_t size, const Request& r) {
        TypeState& ts = types_[t];
        if (size > props_.max_memory_allocation_size)
            return unexpected(AllocationError::invalid_request(InvalidRequest::size_too_large));
        auto memory = create_object(device, ts, t, size, r.dedicated_resource, r.priority);
        if (!memory) return unexpected(memory.error());
        auto chunk = std::make_unique<detail::ChunkHeader<Memory>>(*memory, size, next_chunk_id(), t, ts.heap, ts.props,
                                                                   StrategyKind::dedicated);
        return register_dedicated(ts, std::move(chunk), r);
    }

    Block register_dedicated(TypeState& ts, std::unique_ptr<detail::ChunkHeader<Memory>> chunk, const Request& r) {
        detail::ChunkHeader<Memory>* raw = chunk.get();
        if (config_.track_blocks) {
            raw->tracked = std::make_unique<std::unordered_map<std::uint64_t, BlockSnapshot>>();
            raw->tracked->emplace(0, BlockSnapshot{0, r.size, r.usage, r.kind, std::string(r.name)});
        }
        {
            std::lock_guard lock(ts.dedicated_mutex);
            ts.dedicated.emplace(raw, std::move(chunk));
            ts.dedicated_counters.add(raw->size, r.size);
        }
        SubAllocation sub{0, r.size, raw->size, 0};
        Block block(raw, 0, r.size, sub, this);
        block.atom_size_ = ts.atom;
        return block;
    }

    template <class D, class PoolT>
    void free_in_pool(D& device, TypeState& ts, PoolT& pool, detail::ChunkHeader<Memory>* header, const Block& block) {
        auto* chunk = static_cast<typename PoolT::ChunkType*>(header);
        std::unique_ptr<typename PoolT::ChunkType> released;
        {
            std::lock_guard lock(pool.mutex());
            if (chunk->tracked) chunk->tracked->erase(block.offset_);
            pool.counters().remove(block.sub_.reserved, block.size_);
            released = pool.free(chunk, block.sub_, spare_chunks_for(ts, header->strategy));
        }
        if (released) destroy_object(device, *released);
    }

    /// Empty chunks a pool keeps. None while the heap is over budget. Linear pools
    /// keep all of theirs: they hold one frame's transient memory, which the next
    /// frame needs again (freeing them made the frames trace create a device
    /// object per frame); cleanup() gives them back.
    std::uint32_t spare_chunks_for(const TypeState& ts, StrategyKind kind) const noexcept {
        if (budget_.over_budget(ts.heap)) return 0;
        if (kind == StrategyKind::linear) return detail::keep_all_empty_chunks;
        return config_.spare_chunks;
    }

    template <class D, class PoolT>
    void cleanup_pool(D& device, PoolT& pool) {
        std::vector<std::unique_ptr<typename PoolT::ChunkType>> empty;
        {
            std::lock_guard lock(pool.mutex());
            empty = pool.take_empty_chunks();
        }
        for (auto& chunk : empty) destroy_object(device, *chunk);
    }

    bool reserve_object_slot() noexcept {
        std::uint64_t live = live_objects_.load(std::memory_order_relaxed);
        do {
            if (live >= props_.max_memory_allocation_count) return false;
        } while (!live_objects_.compare_exchange_weak(live, live + 1, std::memory_order_relaxed));
        return true;
    }

    /// Creates a device memory object within the object count and the heap's budget.
    template <class D>
    Result<Memory, AllocationError> create_object(D& device, TypeState& ts, std::uint32_t t, std::uint64_t size,
                                                  DedicatedResource dedicated, float priority) {
        if (size > props_.max_memory_allocation_size)
            return unexpected(AllocationError{AllocationErrorKind::out_of_device_memory});
        if (!reserve_object_slot()) return unexpected(AllocationError{AllocationErrorKind::too_many_objects});
        if constexpr (MemoryDeviceWithBudget<D>) {
            if (budget_.refresh_due(config_.budget_refresh_interval)) refresh_budget(device);
        }
        switch (budget_.try_reserve(ts.heap, size)) {
            case HeapBudgetTracker::Refusal::none: break;
            case HeapBudgetTracker::Refusal::over_budget:
                live_objects_.fetch_sub(1, std::memory_order_relaxed);
                return unexpected(AllocationError{AllocationErrorKind::over_budget});
            case HeapBudgetTracker::Refusal::over_heap_size:
                live_objects_.fetch_sub(1, std::memory_order_relaxed);
                return unexpected(AllocationError{AllocationErrorKind::out_of_device_memory});
        }
        MemoryAllocateInfo info;
        info.size = size;
        info.memory_type = t;
        info.flags = props_.buffer_device_address ? AllocationFlags::device_address : AllocationFlags::none;
        info.dedicated = dedicated;
        info.priority = priority;
        auto memory = device.allocate_memory(info);
        if (!memory) {
            budget_.release(ts.heap, size);
            live_objects_.fetch_sub(1, std::memory_order_relaxed);
            return unexpected(AllocationError{memory.error() == OutOfMemory::out_of_device_memory
                                                  ? AllocationErrorKind::out_of_device_memory
                                                  : AllocationErrorKind::out_of_host_memory});
        }
        on_object_created(ts, size);
        return *memory;
    }

    void on_object_created(TypeState& ts, std::uint64_t size) noexcept {
        const std::uint64_t objects = ts.device_objects.fetch_add(1, std::memory_order_relaxed) + 1;
        const std::uint64_t reserved = ts.reserved_bytes.fetch_add(size, std::memory_order_relaxed) + size;
        ts.device_allocations.fetch_add(1, std::memory_order_relaxed);
        raise(ts.peak_device_objects, objects);
        raise(ts.peak_reserved_bytes, reserved);
        HeapPeaks& hp = heap_peaks_[ts.heap];
        raise(hp.objects, hp.live_objects.fetch_add(1, std::memory_order_relaxed) + 1);
        raise(hp.reserved, hp.live_reserved.fetch_add(size, std::memory_order_relaxed) + size);
        raise(total_peak_objects_, total_live_objects_.fetch_add(1, std::memory_order_relaxed) + 1);
        raise(total_peak_reserved_, total_live_reserved_.fetch_add(size, std::memory_order_relaxed) + size);
    }

    static void raise(std::atomic<std::uint64_t>& peak, std::uint64_t value) noexcept {
        std::uint64_t seen = peak.load(std::memory_order_relaxed);
        while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
        }
    }

    template <class D>
    void destroy_raw(D& device, TypeState& ts, const Memory& memory, std::uint64_t size) {
        device.deallocate_memory(memory);
        budget_.release(ts.heap, size);
        live_objects_.fetch_sub(1, std::memory_order_relaxed);
        ts.device_objects.fetch_sub(1, std::memory_order_relaxed);
        ts.reserved_bytes.fetch_sub(size, std::memory_order_relaxed);
        ts.device_frees.fetch_add(1, std::memory_order_relaxed);
        heap_peaks_[ts.heap].live_objects.fetch_sub(1, std::memory_order_relaxed);
        heap_peaks_[ts.heap].live_reserved.fetch_sub(size, std::memory_order_relaxed);
        total_live_objects_.fetch_sub(1, std::memory_order_relaxed);
        total_live_reserved_.fetch_sub(size, std::memory_order_relaxed);
    }

    template <class D>
    void destroy_object(D& device, detail::ChunkHeader<Memory>& chunk) {
        if (chunk.mapped) device.unmap_memory(chunk.memory);
        destroy_raw(device, types_[chunk.memory_type], chunk.memory, chunk.size);
    }

    static ChunkSnapshot describe(const detail::ChunkHeader<Memory>& chunk, std::uint64_t used, std::uint64_t blocks,
                                  std::uint64_t largest_free) {
        ChunkSnapshot c;
        c.id = chunk.id;
        c.memory_type = chunk.memory_type;
        c.heap = chunk.heap;
        c.size = chunk.size;
        c.strategy = chunk.strategy;
        c.used_bytes = used;
        c.block_count = blocks;
        c.largest_free_range = largest_free;
        c.mapped = chunk.mapped != nullptr;
        c.imported = chunk.imported;
        if (chunk.tracked) {
            for (const auto& [offset, b] : *chunk.tracked) c.blocks.push_back(b);
            std::sort(c.blocks.begin(), c.blocks.end(),
                      [](const BlockSnapshot& a, const BlockSnapshot& b) { return a.offset < b.offset; });
        }
        return c;
    }

    static void accumulate(MemoryStats& into, const MemoryStats& s) noexcept {
        into.device_objects += s.device_objects;
        into.reserved_bytes += s.reserved_bytes;
        into.used_bytes += s.used_bytes;
        into.requested_bytes += s.requested_bytes;
        into.block_count += s.block_count;
        into.largest_free_range = std::max(into.largest_free_range, s.largest_free_range);
        into.device_allocations += s.device_allocations;
        into.device_frees += s.device_frees;
    }

    /// This thread's shard: threads are numbered in the order they first
    /// allocate (from any allocator) and spread over Config::pool_shards shards.
    std::uint32_t current_shard() const noexcept {
        static std::atomic<std::uint32_t> threads_seen{0};
        thread_local const std::uint32_t thread_number = threads_seen.fetch_add(1, std::memory_order_relaxed);
        return shard_count_ == 1 ? 0 : thread_number % shard_count_;
    }

    std::uint64_t next_chunk_id() noexcept { return next_chunk_id_.fetch_add(1, std::memory_order_relaxed); }

    void report_misuse(AllocatorMisuse kind, const char* what) const noexcept {
        misuse_count_.fetch_add(1, std::memory_order_relaxed);
        detail::misuse_handler()(kind, what);
    }

    DeviceProperties props_;
    Config config_;
    MemoryTypeSelector selector_;
    HeapBudgetTracker budget_;
    std::uint32_t type_count_ = 0;
    std::uint32_t shard_count_ = 1;
    std::unique_ptr<TypeState[]> types_;
    std::array<HeapPeaks, max_memory_heaps> heap_peaks_{};
    std::atomic<std::uint64_t> live_objects_{0};
    std::atomic<std::uint64_t> total_live_objects_{0};
    std::atomic<std::uint64_t> total_live_reserved_{0};
    std::atomic<std::uint64_t> total_peak_objects_{0};
    std::atomic<std::uint64_t> total_peak_reserved_{0};
    std::atomic<std::uint64_t> next_chunk_id_{1};
    mutable std::atomic<std::uint64_t> misuse_count_{0};
};

}  // namespace gpu_alloc
