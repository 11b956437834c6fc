// The allocator core: configuration, memory types, the allocate and
// deallocate paths, device objects and budgets. Statistics, snapshots and the
// JSON dump are in statistics.cpp; block operations in block_ops.cpp.
#include <gpu_alloc/detail/allocator_core.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <new>

#include <gpu_alloc/slab.hpp>

#include "core/core_state.hpp"

namespace gpu_alloc::detail {
namespace {

constexpr std::uint64_t pow2_floor(std::uint64_t v) noexcept { return v == 0 ? 1 : std::bit_floor(v); }
constexpr std::uint64_t pow2_ceil_sat(std::uint64_t v) noexcept {
    return v <= 1 ? 1 : v > (std::uint64_t{1} << 63) ? (std::uint64_t{1} << 63) : std::bit_ceil(v);
}
/// v rounded up to a multiple of a (a power of two); false when it would wrap.
constexpr bool round_up(std::uint64_t& v, std::uint64_t a) noexcept {
    if (v > UINT64_MAX - (a - 1)) return false;
    v = (v + a - 1) & ~(a - 1);
    return true;
}
constexpr std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) noexcept { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/// The adjustments Config documents: every field brought into the range the
/// strategies accept, so a bad value never turns into a failure later.
Config adjusted(Config c) noexcept {
    if (!(c.budget_fraction >= 0.0)) c.budget_fraction = Config{}.budget_fraction;  // NaN
    c.budget_fraction = std::min(c.budget_fraction, 1.0);
    c.max_chunk_size = pow2_floor(c.max_chunk_size);
    c.min_chunk_size = std::min(pow2_floor(c.min_chunk_size), c.max_chunk_size);
    if (c.slab_max_size != 0) {
        c.slab_max_size = std::clamp(pow2_floor(c.slab_max_size), SlabAllocator::min_slot_size, SlabAllocator::max_page_size);
        c.slab_page_size = std::clamp(pow2_ceil_sat(c.slab_page_size), c.slab_max_size, SlabAllocator::max_page_size);
    }
    c.buddy_min_block = pow2_ceil_sat(c.buddy_min_block);
    c.pool_shards = std::clamp<std::uint32_t>(c.pool_shards, 1, max_pool_shards);
    return c;
}

std::uint64_t budget_of(std::uint64_t heap_size, double fraction) noexcept {
    if (fraction >= 1.0) return heap_size;
    const double bytes = static_cast<double>(heap_size) * fraction;
    // 2^64 - 1 is not a double: compare against 2^64 before converting.
    if (!(bytes < 18446744073709551616.0)) return heap_size;
    return std::min(static_cast<std::uint64_t>(bytes), heap_size);
}

AllocationErrorKind from_status(DeviceStatus s) noexcept {
    return s == DeviceStatus::out_of_device_memory ? AllocationErrorKind::out_of_device_memory
                                                   : AllocationErrorKind::out_of_host_memory;
}

}  // namespace

// -- CoreState -------------------------------------------------------------------------

CoreState::CoreState(const DeviceProperties& p, const Config& c, const HandleOps& h)
    : props(p), config(adjusted(c)), selector(props), handles(h) {
    if (!is_valid(props)) {
        // An allocator that refuses everything (docs/errors.md).
        props.memory_types.clear();
        props.memory_heaps.resize(std::min<std::size_t>(props.memory_heaps.size(), max_memory_heaps));
        selector = MemoryTypeSelector(props);
    }
    type_count = static_cast<std::uint32_t>(props.memory_types.size());
    heap_count = static_cast<std::uint32_t>(props.memory_heaps.size());
    shard_count = config.pool_shards;
    types = std::make_unique<TypeState[]>(type_count);
    heaps = std::make_unique<HeapState[]>(heap_count);
    for (std::uint32_t i = 0; i < heap_count; ++i) {
        heaps[i].size = props.memory_heaps[i].size;
        heaps[i].budget = budget_of(heaps[i].size, config.budget_fraction);
    }
    for (std::uint32_t t = 0; t < type_count; ++t) {
        TypeState& ts = types[t];
        const MemoryType& type = props.memory_types[t];
        ts.heap = type.heap;
        ts.props = type.props;
        const std::uint64_t heap_size = props.memory_heaps[type.heap].size;
        ts.max_chunk = pow2_floor(std::min({config.max_chunk_size, std::max<std::uint64_t>(heap_size / 8, 1),
                                            props.max_memory_allocation_size}));
        ts.min_chunk = std::min(config.min_chunk_size, ts.max_chunk);
        ts.dedicated_threshold = std::min(config.dedicated_threshold, ts.max_chunk);
        ts.slab_fits = config.slab_max_size != 0 && ts.max_chunk >= config.slab_page_size;
        ts.buddy_fits = ts.max_chunk >= config.buddy_min_block;
        if (contains(type.props, MemoryPropertyFlags::host_visible) &&
            !contains(type.props, MemoryPropertyFlags::host_coherent))
            ts.atom = props.non_coherent_atom_size;
    }
}

CoreState::~CoreState() {
    for (std::uint32_t t = 0; t < type_count; ++t)
        for (auto& slot : types[t].pools)
            for (auto& p : slot) delete p.load(std::memory_order_relaxed);
}

Pool* CoreState::pool(std::uint32_t t, PoolSlot slot, std::uint32_t shard) {
    TypeState& ts = types[t];
    std::atomic<Pool*>& cell = ts.pools[slot][shard];
    if (Pool* p = cell.load(std::memory_order_acquire)) return p;
    std::lock_guard lock(ts.create_mutex);
    if (Pool* p = cell.load(std::memory_order_relaxed)) return p;
    std::unique_ptr<Pool> made;
    switch (slot) {
        case slot_free_list:
        case slot_free_list_large: made = make_region_pool(*this, t, ts.max_chunk); break;
        case slot_buddy: made = make_buddy_pool(*this, t, config.buddy_min_block); break;
        case slot_slab: made = make_slab_pool(*this, t, config.slab_page_size); break;
        case slot_linear: made = make_linear_pool(*this, t); break;
        case slot_dedicated:
        case pool_slot_count: made = make_dedicated_pool(*this, t); break;
    }
    Pool* p = made.release();
    cell.store(p, std::memory_order_release);
    return p;
}

Pool* CoreState::lock_pool(std::uint32_t t, PoolSlot slot) {
    // Threads are numbered in the order they first allocate (from any allocator).
    static std::atomic<std::uint32_t> threads_seen{0};
    thread_local const std::uint32_t thread_number = threads_seen.fetch_add(1, std::memory_order_relaxed);
    const std::uint32_t shard = slot == slot_dedicated || shard_count == 1 ? 0 : thread_number % shard_count;
    Pool* p = pool(t, slot, shard);
    if (p != nullptr) p->mutex.lock();
    return p;
}

std::uint64_t CoreState::placed_size(const BlockData& b) const noexcept {
    std::uint64_t size = b.size;
    if (b.strategy == StrategyKind::dedicated) return size;
    if (b.chunk->atom > 1) (void)round_up(size, b.chunk->atom);
    if (b.flags & BlockData::flag_granular) (void)round_up(size, props.buffer_image_granularity);
    return size;
}

void CoreState::destroy_object(DeviceRef device, Chunk& chunk) {
    if (chunk.mapped.load(std::memory_order_relaxed) != nullptr) device.table->unmap_memory(device.device, chunk.memory);
    device.table->deallocate_memory(device.device, chunk.memory);
    std::lock_guard lock(objects_mutex);
    types[chunk.memory_type].objects.destroyed(chunk.size);
    HeapState& h = heaps[chunk.heap];
    h.objects.destroyed(chunk.size);
    total.destroyed(chunk.size);
    h.over_budget.store(sat_add(h.others, ObjectCounters::get(h.objects.reserved)) > h.budget, std::memory_order_relaxed);
}

void CoreState::cleanup_pool(DeviceRef device, Pool& pool) {
    std::vector<std::unique_ptr<Chunk>> empty;
    {
        std::lock_guard lock(pool.mutex);
        empty = pool.take_empty_chunks();
    }
    for (auto& chunk : empty) destroy_object(device, *chunk);
}

// -- Device objects --------------------------------------------------------------------

namespace {

enum class Refusal : std::uint8_t { none, too_many_objects, over_budget, over_heap_size };

/// Sets aside an object slot and `size` bytes of the heap's budget (pending
/// until committed or given back). `force`: imports, which exist already and
/// so only need a slot.
Refusal reserve(CoreState& s, std::uint32_t heap, std::uint64_t size, bool force) {
    std::lock_guard lock(s.objects_mutex);
    if (ObjectCounters::get(s.total.objects) + s.pending_objects >= s.props.max_memory_allocation_count)
        return Refusal::too_many_objects;
    HeapState& h = s.heaps[heap];
    const std::uint64_t ours = ObjectCounters::get(h.objects.reserved) + h.pending_bytes;
    if (!force) {
        if (size > h.size || ours > h.size - size) return Refusal::over_heap_size;
        // Saturating: a device report of usage near 2^64 must not wrap into "room".
        if (sat_add(sat_add(h.others, ours), size) > h.budget) return Refusal::over_budget;
    }
    ++s.pending_objects;
    h.pending_bytes += size;
    return Refusal::none;
}

void settle(CoreState& s, std::uint32_t type, std::uint32_t heap, std::uint64_t size, bool created) {
    std::lock_guard lock(s.objects_mutex);
    --s.pending_objects;
    HeapState& h = s.heaps[heap];
    h.pending_bytes -= size;
    if (!created) return;
    s.types[type].objects.created(size);
    h.objects.created(size);
    s.total.created(size);
    h.over_budget.store(sat_add(h.others, ObjectCounters::get(h.objects.reserved)) > h.budget, std::memory_order_relaxed);
}

bool refresh_due(CoreState& s) {
    if (s.config.budget_refresh_interval == 0) return false;
    std::lock_guard lock(s.objects_mutex);
    if (!s.refreshed_once || ++s.allocations_since_refresh >= s.config.budget_refresh_interval) {
        s.allocations_since_refresh = 0;
        return true;
    }
    return false;
}

void refresh(CoreState& s, DeviceRef device) {
    if (device.table->query_budget == nullptr || s.heap_count == 0) return;
    HeapBudget reported[max_memory_heaps];
    if (!device.table->query_budget(device.device, reported, s.heap_count)) return;
    std::lock_guard lock(s.objects_mutex);
    for (std::uint32_t i = 0; i < s.heap_count; ++i) {
        HeapState& h = s.heaps[i];
        const std::uint64_t ours = ObjectCounters::get(h.objects.reserved);
        // The device's usage includes ours; whatever exceeds it belongs to others.
        h.others = reported[i].usage > ours ? reported[i].usage - ours : 0;
        h.budget = reported[i].budget;
        h.over_budget.store(sat_add(h.others, ours) > h.budget, std::memory_order_relaxed);
    }
    s.refreshed_once = true;
}

/// Creates a device memory object within the object count and the heap's budget.
bool create_object(CoreState& s, DeviceRef device, std::uint32_t t, std::uint64_t size, DedicatedResource dedicated,
                   float priority, std::uint64_t& memory, AllocationErrorKind& error) {
    TypeState& ts = s.types[t];
    if (size > s.props.max_memory_allocation_size) return (error = AllocationErrorKind::out_of_device_memory), false;
    if (device.table->query_budget != nullptr && refresh_due(s)) refresh(s, device);
    switch (reserve(s, ts.heap, size, false)) {
        case Refusal::none: break;
        case Refusal::too_many_objects: return (error = AllocationErrorKind::too_many_objects), false;
        case Refusal::over_budget: return (error = AllocationErrorKind::over_budget), false;
        case Refusal::over_heap_size: return (error = AllocationErrorKind::out_of_device_memory), false;
    }
    MemoryAllocateInfo info;
    info.size = size;
    info.memory_type = t;
    info.flags = s.props.buffer_device_address ? AllocationFlags::device_address : AllocationFlags::none;
    info.dedicated = dedicated;
    info.priority = priority;
    const DeviceStatus status = device.table->allocate_memory(device.device, info, &memory);
    settle(s, t, ts.heap, size, status == DeviceStatus::ok);
    if (status != DeviceStatus::ok) return (error = from_status(status)), false;
    return true;
}

void fill_chunk(CoreState& s, Chunk& c, std::uint64_t memory, std::uint64_t size, std::uint32_t t, StrategyKind kind) {
    const TypeState& ts = s.types[t];
    c.memory = memory;
    c.size = size;
    c.atom = ts.atom;
    c.memory_type = t;
    c.props = ts.props;
    c.strategy = kind;
    c.heap = ts.heap;
    c.id = s.next_chunk_id.fetch_add(1, std::memory_order_relaxed);
    if (s.config.track_blocks)
        c.tracked.reset(new (std::nothrow) std::unordered_map<std::uint64_t, BlockSnapshot>());
}

void fill_block(BlockData& out, const Placement& p, const Request& r, std::uint64_t alignment, bool granular) {
    out.chunk = p.chunk;
    out.offset = p.offset;
    out.size = r.size;
    out.meta = p.meta;
    out.memory_type = static_cast<std::uint8_t>(p.chunk->memory_type);
    out.strategy = p.chunk->strategy;
    out.align_log2 = static_cast<std::uint8_t>(std::countr_zero(alignment));
    out.flags = granular ? BlockData::flag_granular : 0;
}

void track(Chunk& c, std::uint64_t offset, const Request& r) {
    if (c.tracked) c.tracked->emplace(offset, BlockSnapshot{offset, r.size, r.usage, r.kind, std::string(r.name)});
}

/// Where a request of placed `size` and `alignment` goes on type `ts`, by policy.
PoolSlot choose_slot(const CoreState& s, const TypeState& ts, const Request& r, std::uint64_t size,
                     std::uint64_t alignment, bool honour_hint) noexcept {
    const Config& c = s.config;
    if (c.policy == StrategyPolicy::dedicated || (honour_hint && r.dedicated != DedicatedHint::none))
        return slot_dedicated;
    if (size >= ts.dedicated_threshold || size > ts.max_chunk || alignment > ts.max_chunk) return slot_dedicated;
    const bool slab = ts.slab_fits && size <= c.slab_max_size && alignment <= c.slab_max_size;
    const PoolSlot free_list =
        c.large_request_size != 0 && size >= c.large_request_size ? slot_free_list_large : slot_free_list;
    switch (c.policy) {
        case StrategyPolicy::free_list: return free_list;
        case StrategyPolicy::buddy: return ts.buddy_fits ? slot_buddy : free_list;
        case StrategyPolicy::slab: return slab ? slot_slab : free_list;
        case StrategyPolicy::dedicated: return slot_dedicated;
        case StrategyPolicy::automatic: break;
    }
    // Linear blocks keep their alignment padding in the block's 32-bit word.
    if (contains(r.usage, UsageFlags::transient) && size <= c.linear_max_size && alignment <= (std::uint64_t{1} << 31))
        return slot_linear;
    if (slab && r.kind == ResourceKind::linear) return slot_slab;
    return free_list;
}

bool allocate_dedicated(CoreState& s, DeviceRef device, std::uint32_t t, const Request& r, BlockData& out,
                        AllocationError& error) {
    Pool* pool = s.pool(t, slot_dedicated);
    if (pool == nullptr) return (error = AllocationError{AllocationErrorKind::out_of_host_memory}), false;
    std::unique_ptr<Chunk> chunk = pool->make_chunk(r.size, s.config);
    if (!chunk) return (error = AllocationError{AllocationErrorKind::out_of_host_memory}), false;
    // A dedicated object holds one resource and shares nothing: no rounding, and
    // Vulkan requires its size to be exactly the resource's
    // (VUID-VkMemoryDedicatedAllocateInfo-buffer-01435).
    std::uint64_t memory = 0;
    AllocationErrorKind kind{};
    if (!create_object(s, device, t, r.size, r.dedicated_resource, r.priority, memory, kind))
        return (error = AllocationError{kind}), false;
    fill_chunk(s, *chunk, memory, r.size, t, StrategyKind::dedicated);
    Placement p;
    std::lock_guard lock(pool->mutex);
    pool->add_and_place(chunk, r.size, 1, p);
    pool->counters.add(p.reserved, r.size);
    track(*p.chunk, 0, r);
    fill_block(out, p, r, 1, false);
    return true;
}

bool allocate_in_pool(CoreState& s, DeviceRef device, std::uint32_t t, Pool& pool, std::uint64_t size,
                      std::uint64_t alignment, bool granular, const Request& r, BlockData& out, AllocationError& error) {
    const TypeState& ts = s.types[t];
    std::lock_guard lock(pool.mutex, std::adopt_lock);  // locked by lock_pool
    Placement p;
    if (!pool.place(size, alignment, p)) {
        // A new chunk. On out-of-memory or over-budget, smaller chunks are tried,
        // halving down to an eighth of the first chunk size, and last the
        // smallest chunk that holds the request: a nearly full heap can still
        // take that. A chunk starts at offset 0, so any chunk of at least
        // chunk_size_for(max(size, alignment)) bytes holds the request.
        const std::uint64_t fits = std::max(size, alignment);
        const std::uint64_t smallest = pool.chunk_size_for(fits);
        const std::uint64_t floor = std::max(smallest, pool.min_chunk_size(ts.min_chunk) / 8);
        std::uint64_t chunk_size = pool.next_chunk_size(fits, ts.min_chunk, ts.max_chunk);
        std::uint64_t memory = 0;
        for (;;) {
            AllocationErrorKind kind{};
            if (create_object(s, device, t, chunk_size, DedicatedResource{}, r.priority, memory, kind)) break;
            const bool retry = kind == AllocationErrorKind::out_of_device_memory || kind == AllocationErrorKind::over_budget;
            if (retry && chunk_size / 2 >= floor) {
                chunk_size /= 2;
            } else if (retry && chunk_size > smallest) {
                chunk_size = smallest;
            } else {
                error = AllocationError{kind};
                return false;
            }
        }
        std::unique_ptr<Chunk> chunk = pool.make_chunk(chunk_size, s.config);
        if (chunk) fill_chunk(s, *chunk, memory, chunk_size, t, pool.kind);
        if (!chunk || !pool.add_and_place(chunk, size, alignment, p)) {
            // Host memory ran out, or the pool has no slot left for another chunk.
            const bool no_host = !chunk;
            if (chunk) {
                s.destroy_object(device, *chunk);
            } else {
                Chunk bare;
                bare.memory = memory;
                bare.size = chunk_size;
                bare.memory_type = t;
                bare.heap = ts.heap;
                s.destroy_object(device, bare);
            }
            error = AllocationError{no_host ? AllocationErrorKind::out_of_host_memory : AllocationErrorKind::too_many_objects};
            return false;
        }
    }
    pool.counters.add(p.reserved, r.size);
    track(*p.chunk, p.offset, r);
    fill_block(out, p, r, alignment, granular);
    return true;
}

bool allocate_in_type(CoreState& s, DeviceRef device, std::uint32_t t, const Request& r, BlockData& out,
                      AllocationError& error) {
    const TypeState& ts = s.types[t];
    std::uint64_t size = r.size;
    std::uint64_t alignment = r.alignment;
    bool granular = false;
    // Non-coherent memory: whole atoms, so that a flush never touches a neighbour.
    if (ts.atom > 1) {
        alignment = std::max(alignment, ts.atom);
        if (!round_up(size, ts.atom)) return (error = AllocationError::invalid_request(InvalidRequest::size_too_large)), false;
    }
    // Images (and resources of unknown kind) take whole granularity pages, so
    // that no buffer can share a page with them; buffers pay nothing.
    const std::uint64_t granularity = s.props.buffer_image_granularity;
    if (r.kind != ResourceKind::linear && granularity > 1) {
        alignment = std::max(alignment, granularity);
        if (!round_up(size, granularity)) return (error = AllocationError::invalid_request(InvalidRequest::size_too_large)), false;
        granular = true;
    }
    PoolSlot slot = choose_slot(s, ts, r, size, alignment, true);
    if (slot == slot_dedicated) {
        if (allocate_dedicated(s, device, t, r, out, error)) return true;
        // A preferred (not required) dedicated object that cannot be had falls
        // back to sub-allocation, as VMA does: an existing chunk may have room.
        if (r.dedicated != DedicatedHint::preferred || s.config.policy == StrategyPolicy::dedicated) return false;
        slot = choose_slot(s, ts, r, size, alignment, false);
        if (slot == slot_dedicated) return false;
    }
    Pool* pool = s.lock_pool(t, slot);  // locked: allocate_in_pool adopts the lock
    if (pool == nullptr) return (error = AllocationError{AllocationErrorKind::out_of_host_memory}), false;
    return allocate_in_pool(s, device, t, *pool, size, alignment, granular, r, out, error);
}

}  // namespace

// -- AllocatorCore ---------------------------------------------------------------------

AllocatorCore::AllocatorCore(const DeviceProperties& props, const Config& config, const HandleOps& handles)
    : state_(new CoreState(props, config, handles)) {}

AllocatorCore::~AllocatorCore() {
    const TotalCounters left = totals();
    if (left.device_objects != 0 || left.block_count != 0)
        state_->report_misuse(AllocatorMisuse::allocator_destroyed_with_live_memory,
                              "GpuAllocator destroyed with live device memory objects or blocks; "
                              "deallocate every block and call cleanup(device) first");
    delete state_;
}

bool AllocatorCore::allocate(DeviceRef device, const Request& r, BlockData& out, AllocationError& error) {
    CoreState& s = *state_;
    const DeviceProperties& p = s.props;
    InvalidRequest invalid = InvalidRequest::none;
    if (r.size == 0) invalid = InvalidRequest::zero_size;
    else if (r.alignment == 0 || (r.alignment & (r.alignment - 1)) != 0) invalid = InvalidRequest::alignment_not_power_of_two;
    else if (r.size > p.max_memory_allocation_size) invalid = InvalidRequest::size_too_large;
    else if (r.alignment > p.max_memory_allocation_size) invalid = InvalidRequest::alignment_too_large;
    else if (contains(r.usage, UsageFlags::device_address) && !p.buffer_device_address)
        invalid = InvalidRequest::device_address_unsupported;
    if (invalid != InvalidRequest::none) return (error = AllocationError::invalid_request(invalid)), false;
    const std::uint32_t valid = s.type_count >= 32 ? ~0u : ((1u << s.type_count) - 1);
    const std::uint32_t mask = r.memory_types & valid;
    if (mask == 0) return (error = AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask)), false;

    const MemoryTypeList& candidates = s.selector.types_for(r.usage);
    bool any_compatible = false;
    AllocationError first_error{};
    for (std::uint32_t i = 0; i < candidates.count; ++i) {
        const std::uint32_t t = candidates.types[i];
        if ((mask & (1u << t)) == 0) continue;
        AllocationError e{};
        if (allocate_in_type(s, device, t, r, out, e)) return true;
        if (!any_compatible) first_error = e;
        any_compatible = true;
        if (e == AllocationErrorKind::over_budget && s.config.over_budget == OverBudgetPolicy::fail) {
            error = e;
            return false;
        }
    }
    error = any_compatible ? first_error : AllocationError{AllocationErrorKind::no_compatible_memory_types};
    return false;
}

void AllocatorCore::deallocate(DeviceRef device, BlockData& b) {
    CoreState& s = *state_;
    if (b.chunk == nullptr)
        return s.report_misuse(AllocatorMisuse::empty_block, "deallocate of a block that holds no memory");
    Chunk* chunk = static_cast<Chunk*>(b.chunk);
    if (chunk->pool->owner != state_)
        return s.report_misuse(AllocatorMisuse::foreign_block, "deallocate of a block from another allocator");
    if (b.mapped()) {
        std::lock_guard lock(chunk->device_mutex);
        --chunk->map_count;
    }
    Pool& pool = *chunk->pool;
    const std::uint64_t placed = s.placed_size(b);
    const bool over_budget = s.heaps[chunk->heap].over_budget.load(std::memory_order_relaxed);
    std::unique_ptr<Chunk> released;
    {
        std::lock_guard lock(pool.mutex);
        if (chunk->tracked) chunk->tracked->erase(b.offset);
        std::uint64_t reserved = 0;
        released = pool.release_block(*chunk, b.offset, placed, b.meta, s.config.spare_chunks, over_budget, reserved);
        pool.counters.remove(reserved, b.size);
    }
    b.chunk = nullptr;
    b.flags = 0;
    if (released) s.destroy_object(device, *released);
}

void AllocatorCore::cleanup(DeviceRef device) {
    CoreState& s = *state_;
    for (std::uint32_t t = 0; t < s.type_count; ++t)
        s.for_each_pool(t, [&](Pool& pool) { s.cleanup_pool(device, pool); });
}

void AllocatorCore::refresh_budget(DeviceRef device) { refresh(*state_, device); }

bool AllocatorCore::import_memory(std::uint64_t memory, std::uint32_t memory_type, std::uint64_t size, BlockData& out,
                                  AllocationError& error) {
    CoreState& s = *state_;
    if (size == 0) return (error = AllocationError::invalid_request(InvalidRequest::zero_size)), false;
    if (memory_type >= s.type_count)
        return (error = AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask)), false;
    // A handle owned twice would be destroyed twice.
    bool owned = false;
    for (std::uint32_t t = 0; t < s.type_count && !owned; ++t) {
        s.for_each_pool(t, [&](Pool& pool) {
            std::lock_guard lock(pool.mutex);
            for (const auto& c : pool.chunks()) owned = owned || s.handles.same(c->memory, memory);
        });
    }
    if (owned) return (error = AllocationError::invalid_request(InvalidRequest::memory_already_owned)), false;
    Pool* pool = s.pool(memory_type, slot_dedicated);
    std::unique_ptr<Chunk> chunk = pool ? pool->make_chunk(size, s.config) : nullptr;
    if (!chunk) return (error = AllocationError{AllocationErrorKind::out_of_host_memory}), false;
    const std::uint32_t heap = s.types[memory_type].heap;
    if (reserve(s, heap, size, true) != Refusal::none)
        return (error = AllocationError{AllocationErrorKind::too_many_objects}), false;
    settle(s, memory_type, heap, size, true);
    fill_chunk(s, *chunk, memory, size, memory_type, StrategyKind::dedicated);
    chunk->imported = true;
    Request r;
    r.size = size;
    Placement p;
    std::lock_guard lock(pool->mutex);
    pool->add_and_place(chunk, size, 1, p);
    pool->counters.add(p.reserved, size);
    track(*p.chunk, 0, r);
    fill_block(out, p, r, 1, false);
    return true;
}

std::uint64_t AllocatorCore::remaining_allocations() const noexcept {
    const std::uint64_t live = ObjectCounters::get(state_->total.objects);
    const std::uint64_t limit = state_->props.max_memory_allocation_count;
    return limit > live ? limit - live : 0;
}

const DeviceProperties& AllocatorCore::properties() const noexcept { return state_->props; }
const Config& AllocatorCore::config() const noexcept { return state_->config; }
std::uint64_t AllocatorCore::misuse_count() const noexcept { return state_->misuse_count.load(std::memory_order_relaxed); }

HeapBudget AllocatorCore::heap_budget(std::uint32_t heap) const noexcept {
    const CoreState& s = *state_;
    if (heap >= s.heap_count) return {};
    std::lock_guard lock(s.objects_mutex);
    const HeapState& h = s.heaps[heap];
    return HeapBudget{h.budget, sat_add(h.others, ObjectCounters::get(h.objects.reserved))};
}

}  // namespace gpu_alloc::detail
