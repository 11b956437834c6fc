// Builds gpu-alloc memory types and heaps from what a Metal device reports;
// the mapping table and its reasons are in metal_memory_model.hpp.
#include <gpu_alloc/metal/metal_memory_model.hpp>

namespace gpu_alloc {

namespace {

constexpr bool is_power_of_two(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

void add_type(MetalMemoryModel& model, std::uint32_t heap, MetalStorageMode storage, MetalCpuCacheMode cache,
              const MetalDeviceInfo& info) {
    model.properties.memory_types.push_back(
        MemoryType{heap, metal_memory_property_flags(storage, cache, info.unified_memory)});
    model.types.push_back(MetalMemoryType{storage, cache, metal_backing(storage, info)});
}

}  // namespace

MemoryPropertyFlags metal_memory_property_flags(MetalStorageMode storage, MetalCpuCacheMode cache,
                                                bool unified_memory) noexcept {
    using F = MemoryPropertyFlags;
    // Host-visible types are cached unless write-combined.
    const F cached = cache == MetalCpuCacheMode::default_cache ? F::host_cached : F::none;
    switch (storage) {
        case MetalStorageMode::private_: return F::device_local;
        case MetalStorageMode::memoryless: return F::device_local | F::lazily_allocated;
        case MetalStorageMode::shared:
            // Unified memory is the GPU's own memory; on a discrete GPU shared
            // memory is system memory the GPU reads over PCIe.
            return (unified_memory ? F::device_local : F::none) | F::host_visible | F::host_coherent | cached;
        case MetalStorageMode::managed:
            // Two copies: the GPU's in VRAM (device_local), the CPU's in cached
            // system memory. Not coherent: CPU writes need didModifyRange:, GPU
            // writes a copy back before the CPU reads them. On unified memory
            // managed behaves as shared, so it is not offered there.
            if (unified_memory) return F::none;
            return F::device_local | F::host_visible | cached;
    }
    return F::none;
}

MetalBacking metal_backing(MetalStorageMode storage, const MetalDeviceInfo& info) noexcept {
    switch (storage) {
        case MetalStorageMode::private_: return MetalBacking::heap;
        case MetalStorageMode::shared: return info.shared_heaps ? MetalBacking::heap : MetalBacking::buffer;
        case MetalStorageMode::managed: return MetalBacking::buffer;
        case MetalStorageMode::memoryless: return MetalBacking::none;
    }
    return MetalBacking::none;
}

Result<MetalMemoryModel, MetalInitError> build_metal_memory_model(const MetalDeviceInfo& info,
                                                                  const MetalDeviceOptions& options) {
    if (info.max_buffer_length == 0 || !is_power_of_two(info.buffer_offset_alignment) ||
        options.max_memory_objects == 0)
        return unexpected(MetalInitError::invalid_device_info);

    MetalMemoryModel model;
    model.unified_memory = info.unified_memory;
    DeviceProperties& props = model.properties;
    if (info.unified_memory) {
        // The GPU should not use more than the recommended working set; when
        // Metal does not say (iOS before 16), the physical memory is the bound.
        const std::uint64_t size = info.recommended_max_working_set_size != 0 ? info.recommended_max_working_set_size
                                                                              : info.system_memory_size;
        if (size == 0) return unexpected(MetalInitError::invalid_device_info);
        props.memory_heaps.push_back(MemoryHeap{size, MemoryHeapFlags::device_local});
    } else {
        if (info.recommended_max_working_set_size == 0 || info.system_memory_size == 0)
            return unexpected(MetalInitError::invalid_device_info);
        props.memory_heaps.push_back(MemoryHeap{info.recommended_max_working_set_size, MemoryHeapFlags::device_local});
        props.memory_heaps.push_back(MemoryHeap{info.system_memory_size, MemoryHeapFlags::none});
    }
    const std::uint32_t vram = 0;
    const std::uint32_t host = info.unified_memory ? 0 : 1;

    add_type(model, vram, MetalStorageMode::private_, MetalCpuCacheMode::default_cache, info);
    if (!info.unified_memory && info.managed_storage)
        add_type(model, vram, MetalStorageMode::managed, MetalCpuCacheMode::default_cache, info);
    if (options.write_combined_types)
        add_type(model, host, MetalStorageMode::shared, MetalCpuCacheMode::write_combined, info);
    add_type(model, host, MetalStorageMode::shared, MetalCpuCacheMode::default_cache, info);
    if (info.memoryless_storage)
        add_type(model, vram, MetalStorageMode::memoryless, MetalCpuCacheMode::default_cache, info);

    props.max_memory_allocation_count = options.max_memory_objects;
    props.max_memory_allocation_size = info.max_buffer_length;
    props.non_coherent_atom_size = metal_non_coherent_atom_size;
    // Metal has no linear/optimal page rule: every resource's heap alignment
    // (heapBufferSizeAndAlign / heapTextureSizeAndAlign) already keeps it apart.
    props.buffer_image_granularity = 1;
    props.buffer_device_address = info.gpu_address;
    if (!is_valid(props)) return unexpected(MetalInitError::invalid_device_info);
    return model;
}

}  // namespace gpu_alloc
