// MetalMemoryDevice: the MemoryDevice operations as calls into a MetalFunctions
// table, plus the bookkeeping Metal does not do for us (sizes, map state,
// bytes per heap, live objects). See metal_memory_device.hpp.
#include <gpu_alloc/metal/metal_memory_device.hpp>

#include <algorithm>
#include <cassert>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace gpu_alloc {

namespace detail {

/// One live memory object.
struct MetalObjectRecord {
    std::uint32_t memory_type = 0;
    std::uint64_t size = 0;         ///< bytes the allocator asked for
    std::uint64_t object_size = 0;  ///< bytes asked of Metal (>= size)
    bool mapped = false;
};

struct MetalDeviceState {
    const MetalFunctions* functions = nullptr;
    MetalDeviceOptions options;
    MetalMemoryModel model;

    mutable std::mutex mutex;  // guards everything below
    std::unordered_map<std::uint64_t, MetalObjectRecord> objects;
    std::vector<std::uint64_t> heap_bytes;  // per heap of the model
    std::uint64_t generation = 0;
};

}  // namespace detail

namespace {

constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t alignment) noexcept {
    return (value + alignment - 1) / alignment * alignment;
}

bool is_host_visible(const MetalMemoryModel& model, std::uint32_t memory_type) {
    return contains(model.properties.memory_types[memory_type].props, MemoryPropertyFlags::host_visible);
}

bool is_managed(const MetalMemoryModel& model, std::uint32_t memory_type) {
    return model.types[memory_type].storage_mode == MetalStorageMode::managed;
}

// Memoryless objects hold no memory, so they count against no heap's bytes.
std::uint64_t counted_bytes(const MetalMemoryModel& model, const detail::MetalObjectRecord& record) {
    return model.types[record.memory_type].backing == MetalBacking::none ? 0 : record.object_size;
}

OutOfMemory to_out_of_memory(MetalStatus status) {
    return status == MetalStatus::out_of_host_memory ? OutOfMemory::out_of_host_memory
                                                     : OutOfMemory::out_of_device_memory;
}

// The range a managed flush or invalidate really touches: the end rounded up
// to the 4-byte atom, inside the object (whose size is a multiple of 4).
MetalRange managed_range(const MetalHeap& heap, const detail::MetalObjectRecord& record, std::uint64_t offset,
                         std::uint64_t size) {
    const std::uint64_t end = std::min(round_up(offset + size, metal_non_coherent_atom_size), record.object_size);
    return MetalRange{heap, offset, end - offset};
}

// Looks up a mapped object and checks a flush/invalidate range against it.
// Returns null when the contract is broken (asserted in debug builds).
const detail::MetalObjectRecord* checked_range_record(const detail::MetalDeviceState& state,
                                                      const MappedMemoryRange<MetalHeap>& range) {
    if (range.memory == nullptr) {
        assert(!"flush/invalidate: range without a memory object");
        return nullptr;
    }
    auto it = state.objects.find(range.memory->bits);
    if (it == state.objects.end() || !it->second.mapped || range.offset > it->second.size ||
        range.size > it->second.size - range.offset || range.offset % metal_non_coherent_atom_size != 0) {
        assert(!"flush/invalidate: object not mapped, range outside it, or offset not a multiple of 4");
        return nullptr;
    }
    return &it->second;
}

}  // namespace

MetalMemoryDevice::MetalMemoryDevice(std::unique_ptr<detail::MetalDeviceState> state) noexcept
    : state_(std::move(state)) {}
MetalMemoryDevice::MetalMemoryDevice(MetalMemoryDevice&&) noexcept = default;
MetalMemoryDevice& MetalMemoryDevice::operator=(MetalMemoryDevice&&) noexcept = default;
MetalMemoryDevice::~MetalMemoryDevice() = default;

Result<MetalMemoryDevice, MetalInitError> MetalMemoryDevice::create(const MetalFunctions& functions,
                                                                    const MetalDeviceOptions& options) {
    if (!is_complete(functions)) return unexpected(MetalInitError::incomplete_functions);
    auto model = build_metal_memory_model(functions.device, options);
    if (!model) return unexpected(model.error());
    auto state = std::make_unique<detail::MetalDeviceState>();
    state->functions = &functions;
    state->options = options;
    state->model = std::move(*model);
    state->heap_bytes.assign(state->model.properties.memory_heaps.size(), 0);
    return MetalMemoryDevice(std::move(state));
}

const DeviceProperties& MetalMemoryDevice::properties() const noexcept { return state_->model.properties; }
const MetalMemoryModel& MetalMemoryDevice::model() const noexcept { return state_->model; }

const MetalMemoryType& MetalMemoryDevice::metal_type(std::uint32_t memory_type) const noexcept {
    assert(memory_type < state_->model.types.size());
    return state_->model.types[memory_type];
}

MetalResourceOptions MetalMemoryDevice::resource_options(std::uint32_t memory_type) const noexcept {
    const MetalMemoryType& type = metal_type(memory_type);
    return MetalResourceOptions{type.storage_mode, type.cpu_cache_mode, state_->options.hazard_tracking};
}

std::uint64_t MetalMemoryDevice::memory_object_size(std::uint64_t size, std::uint32_t memory_type) const {
    const MetalMemoryType& type = metal_type(memory_type);
    switch (type.backing) {
        case MetalBacking::heap: {
            if (!is_host_visible(state_->model, memory_type)) return size;
            // The covering buffer placed at offset 0 must fit in the heap.
            const MetalFunctions& fns = *state_->functions;
            const MetalSizeAndAlign need =
                fns.heap_buffer_size_and_align(fns.context, size, resource_options(memory_type));
            return need.size == 0 ? 0 : std::max(size, need.size);
        }
        case MetalBacking::buffer: return round_up(size, metal_non_coherent_atom_size);
        case MetalBacking::none: return size;
    }
    return 0;
}

Result<MetalHeap, OutOfMemory> MetalMemoryDevice::allocate_memory(const MemoryAllocateInfo& info) {
    detail::MetalDeviceState& state = *state_;
    const DeviceProperties& props = state.model.properties;
    if (info.size == 0 || info.size > props.max_memory_allocation_size ||
        info.memory_type >= props.memory_types.size() ||
        (contains(info.flags, AllocationFlags::device_address) && !props.buffer_device_address)) {
        assert(!"allocate_memory: size, memory type or flags outside the device's limits");
        return unexpected(OutOfMemory::out_of_device_memory);
    }
    const std::uint64_t object_size = memory_object_size(info.size, info.memory_type);
    if (object_size == 0) return unexpected(OutOfMemory::out_of_device_memory);

    const MetalFunctions& fns = *state.functions;
    const MetalBacking backing = state.model.types[info.memory_type].backing;
    const bool covered = backing == MetalBacking::heap && is_host_visible(state.model, info.memory_type);
    const MetalHeapDescription description{object_size, covered ? info.size : 0, resource_options(info.memory_type),
                                           backing};
    MetalHeap heap{};
    const MetalStatus status = fns.create_heap(fns.context, description, &heap);
    if (status != MetalStatus::ok) return unexpected(to_out_of_memory(status));
    assert(heap.bits != 0 && "create_heap returned ok with a null handle");

    std::lock_guard lock(state.mutex);
    const detail::MetalObjectRecord record{info.memory_type, info.size, object_size, false};
    state.objects.emplace(heap.bits, record);
    state.heap_bytes[props.memory_types[info.memory_type].heap] += counted_bytes(state.model, record);
    ++state.generation;
    return heap;
}

void MetalMemoryDevice::deallocate_memory(MetalHeap memory) {
    detail::MetalDeviceState& state = *state_;
    {
        std::lock_guard lock(state.mutex);
        auto it = state.objects.find(memory.bits);
        if (it == state.objects.end()) {
            assert(!"deallocate_memory: not a live memory object of this device");
            return;
        }
        assert(!it->second.mapped && "deallocate_memory: object still mapped");
        const std::uint32_t heap = state.model.properties.memory_types[it->second.memory_type].heap;
        state.heap_bytes[heap] -= counted_bytes(state.model, it->second);
        state.objects.erase(it);
        ++state.generation;
    }
    state.functions->destroy_heap(state.functions->context, memory);
}

Result<std::byte*, DeviceMapError> MetalMemoryDevice::map_memory(const MetalHeap& memory, std::uint64_t offset,
                                                                 std::uint64_t size) {
    detail::MetalDeviceState& state = *state_;
    std::lock_guard lock(state.mutex);
    auto it = state.objects.find(memory.bits);
    if (it == state.objects.end() || !is_host_visible(state.model, it->second.memory_type) || it->second.mapped ||
        offset > it->second.size || size > it->second.size - offset) {
        assert(!"map_memory: unknown object, not host visible, already mapped, or range outside the object");
        return unexpected(DeviceMapError::map_failed);
    }
    const MetalFunctions& fns = *state.functions;
    std::byte* contents = fns.contents(fns.context, memory);
    if (contents == nullptr) return unexpected(DeviceMapError::map_failed);
    it->second.mapped = true;
    return contents + offset;
}

void MetalMemoryDevice::unmap_memory(const MetalHeap& memory) {
    detail::MetalDeviceState& state = *state_;
    std::lock_guard lock(state.mutex);
    auto it = state.objects.find(memory.bits);
    if (it == state.objects.end() || !it->second.mapped) {
        assert(!"unmap_memory: object not mapped");
        return;
    }
    it->second.mapped = false;
}

Result<void, OutOfMemory> MetalMemoryDevice::flush_memory_ranges(std::span<const MappedMemoryRange<MetalHeap>> ranges) {
    detail::MetalDeviceState& state = *state_;
    const MetalFunctions& fns = *state.functions;
    std::lock_guard lock(state.mutex);
    for (const MappedMemoryRange<MetalHeap>& range : ranges) {
        const detail::MetalObjectRecord* record = checked_range_record(state, range);
        if (record == nullptr || !is_managed(state.model, record->memory_type) || range.size == 0) continue;
        const MetalRange r = managed_range(*range.memory, *record, range.offset, range.size);
        fns.did_modify_range(fns.context, r.heap, r.offset, r.size);
    }
    return {};
}

Result<void, OutOfMemory> MetalMemoryDevice::invalidate_memory_ranges(
    std::span<const MappedMemoryRange<MetalHeap>> ranges) {
    detail::MetalDeviceState& state = *state_;
    std::vector<MetalRange> managed;
    {
        std::lock_guard lock(state.mutex);
        for (const MappedMemoryRange<MetalHeap>& range : ranges) {
            const detail::MetalObjectRecord* record = checked_range_record(state, range);
            if (record == nullptr || !is_managed(state.model, record->memory_type) || range.size == 0) continue;
            managed.push_back(managed_range(*range.memory, *record, range.offset, range.size));
        }
    }
    // One batch, outside the lock: the table waits for the GPU.
    if (managed.empty()) return {};
    const MetalFunctions& fns = *state.functions;
    const MetalStatus status = fns.synchronize_ranges(fns.context, managed.data(), managed.size());
    if (status != MetalStatus::ok) return unexpected(to_out_of_memory(status));
    return {};
}

bool MetalMemoryDevice::query_budget(std::span<HeapBudget> heaps) {
    detail::MetalDeviceState& state = *state_;
    const std::size_t heap_count = state.model.properties.memory_heaps.size();
    if (heaps.size() < heap_count) return false;
    const MetalFunctions& fns = *state.functions;
    const std::uint64_t working_set = fns.recommended_max_working_set_size(fns.context);
    if (working_set == 0) return false;
    const std::uint64_t allocated = fns.current_allocated_size(fns.context);
    if (state.model.unified_memory) {
        heaps[0] = HeapBudget{working_set, allocated};
        return true;
    }
    std::uint64_t system_bytes = 0;
    {
        std::lock_guard lock(state.mutex);
        system_bytes = state.heap_bytes[1];
    }
    // currentAllocatedSize counts every resource of the device; what this
    // device holds in system memory is taken out of the VRAM figure.
    heaps[0] = HeapBudget{working_set, allocated > system_bytes ? allocated - system_bytes : 0};
    heaps[1] = HeapBudget{state.model.properties.memory_heaps[1].size, system_bytes};
    return true;
}

MetalResourceRequirements MetalMemoryDevice::buffer_requirements(std::uint64_t length) const {
    const MetalFunctions& fns = *state_->functions;
    const std::uint64_t offset_alignment = fns.device.buffer_offset_alignment;
    MetalResourceRequirements out{0, 1, 0};
    for (std::uint32_t i = 0; i < state_->model.types.size(); ++i) {
        MetalSizeAndAlign need{};
        switch (state_->model.types[i].backing) {
            case MetalBacking::heap: need = fns.heap_buffer_size_and_align(fns.context, length, resource_options(i)); break;
            case MetalBacking::buffer: need = {round_up(length, offset_alignment), offset_alignment}; break;
            case MetalBacking::none: continue;  // memoryless holds textures only
        }
        if (need.size == 0 || need.align == 0) continue;
        out.size = std::max(out.size, need.size);
        out.alignment = std::max(out.alignment, need.align);
        out.memory_types |= 1u << i;
    }
    return out;
}

MetalResourceRequirements MetalMemoryDevice::texture_requirements(const MetalTextureDescription& description) const {
    const MetalFunctions& fns = *state_->functions;
    MetalResourceRequirements out{0, 1, 0};
    std::uint32_t memoryless = 0;
    for (std::uint32_t i = 0; i < state_->model.types.size(); ++i) {
        switch (state_->model.types[i].backing) {
            case MetalBacking::heap: break;
            case MetalBacking::buffer: continue;  // not placeable in an MTLBuffer
            case MetalBacking::none:
                if (description.transient_render_target) memoryless |= 1u << i;
                continue;
        }
        MetalTextureDescription typed = description;
        typed.options = resource_options(i);
        const MetalSizeAndAlign need = fns.heap_texture_size_and_align(fns.context, typed);
        if (need.size == 0 || need.align == 0) continue;
        out.size = std::max(out.size, need.size);
        out.alignment = std::max(out.alignment, need.align);
        out.memory_types |= 1u << i;
    }
    // Memoryless objects are bookkeeping only; the size a heap would need is the
    // size the allocator accounts, so they need some heap type to have answered.
    if (out.memory_types != 0) out.memory_types |= memoryless;
    return out;
}

std::vector<MetalHeap> MetalMemoryDevice::live_memory() const {
    std::lock_guard lock(state_->mutex);
    std::vector<MetalHeap> out;
    out.reserve(state_->objects.size());
    for (const auto& [bits, record] : state_->objects) out.push_back(MetalHeap{bits});
    return out;
}

std::uint32_t MetalMemoryDevice::live_memory_count() const {
    std::lock_guard lock(state_->mutex);
    return static_cast<std::uint32_t>(state_->objects.size());
}

std::uint64_t MetalMemoryDevice::memory_generation() const {
    std::lock_guard lock(state_->mutex);
    return state_->generation;
}

std::uint64_t MetalMemoryDevice::allocated_bytes(std::uint32_t heap) const {
    std::lock_guard lock(state_->mutex);
    return heap < state_->heap_bytes.size() ? state_->heap_bytes[heap] : 0;
}

}  // namespace gpu_alloc
