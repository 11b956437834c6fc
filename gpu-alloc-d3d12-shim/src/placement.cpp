// Resource requirements and checked placement (see placement.hpp).
#include <gpu_alloc/d3d12/placement.hpp>

namespace gpu_alloc::d3d12 {

namespace {

const D3D12_RESOURCE_FLAGS host_heap_forbidden_flags =
    D3D12_RESOURCE_FLAG_ALLOW_UNORDERED_ACCESS | D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET |
    D3D12_RESOURCE_FLAG_ALLOW_DEPTH_STENCIL | D3D12_RESOURCE_FLAG_ALLOW_SIMULTANEOUS_ACCESS;

D3D12_RESOURCE_ALLOCATION_INFO allocation_info(ID3D12Device* device, const D3D12_RESOURCE_DESC& desc) {
    return device->GetResourceAllocationInfo(0, 1, &desc);
}

}  // namespace

ResourceCategory category_of(const D3D12_RESOURCE_DESC& desc) noexcept {
    if (desc.Dimension == D3D12_RESOURCE_DIMENSION_BUFFER) return ResourceCategory::buffer;
    if (desc.Flags & (D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET | D3D12_RESOURCE_FLAG_ALLOW_DEPTH_STENCIL))
        return ResourceCategory::rt_ds_texture;
    return ResourceCategory::non_rt_ds_texture;
}

bool heap_accepts(const HeapKind& kind, const D3D12_RESOURCE_DESC& desc) noexcept {
    if (!intersects(kind.categories, category_bit(category_of(desc)))) return false;
    const D3D12_HEAP_TYPE type = kind.properties.Type;
    if (type == D3D12_HEAP_TYPE_UPLOAD || type == D3D12_HEAP_TYPE_READBACK) {
        if (desc.Dimension != D3D12_RESOURCE_DIMENSION_BUFFER) return false;
        if ((desc.Flags & host_heap_forbidden_flags) != 0) return false;
    }
    return true;
}

std::uint32_t compatible_memory_types(const MemoryLayout& layout, const D3D12_RESOURCE_DESC& desc) noexcept {
    std::uint32_t mask = 0;
    for (std::size_t i = 0; i < layout.memory_types.size() && i < 32; ++i)
        if (heap_accepts(layout.memory_types[i], desc)) mask |= 1u << i;
    return mask;
}

std::uint32_t heap_type_mask(const MemoryLayout& layout, D3D12_HEAP_TYPE type) noexcept {
    std::uint32_t mask = 0;
    for (std::size_t i = 0; i < layout.memory_types.size() && i < 32; ++i)
        if (type == any_heap_type || layout.memory_types[i].properties.Type == type) mask |= 1u << i;
    return mask;
}

Result<ResourceRequirements, PlacementError> resource_requirements(const D3D12MemoryDevice& device,
                                                                   const D3D12_RESOURCE_DESC& desc,
                                                                   D3D12_HEAP_TYPE heap_type) {
    const D3D12_RESOURCE_ALLOCATION_INFO info = allocation_info(device.device(), desc);
    if (info.SizeInBytes == UINT64_MAX || info.SizeInBytes == 0 || info.Alignment == 0 ||
        (info.Alignment & (info.Alignment - 1)) != 0)
        return unexpected(PlacementError{PlacementErrorKind::invalid_desc});
    ResourceRequirements out;
    out.size = info.SizeInBytes;
    out.alignment = info.Alignment;
    out.category = category_of(desc);
    out.memory_types = compatible_memory_types(device.layout(), desc) & heap_type_mask(device.layout(), heap_type);
    if (out.memory_types == 0) return unexpected(PlacementError{PlacementErrorKind::no_compatible_memory_type});
    return out;
}

Result<D3D12_RESOURCE_ALLOCATION_INFO, PlacementError> check_placement(const D3D12MemoryDevice& device,
                                                                      const D3D12Memory& memory,
                                                                      std::uint64_t offset, std::uint64_t range_size,
                                                                      const D3D12_RESOURCE_DESC& desc) {
    if (memory.is_null()) detail::contract_violation("check_placement: null memory");
    if (memory.memory_type() >= device.layout().memory_types.size())
        detail::contract_violation("check_placement: memory of another device");
    const HeapKind& kind = device.layout().memory_types[memory.memory_type()];

    const D3D12_RESOURCE_ALLOCATION_INFO info = allocation_info(device.device(), desc);
    if (info.SizeInBytes == UINT64_MAX || info.SizeInBytes == 0 || info.Alignment == 0)
        return unexpected(PlacementError{PlacementErrorKind::invalid_desc});
    if (!heap_accepts(kind, desc)) return unexpected(PlacementError{PlacementErrorKind::wrong_heap});
    if (offset % info.Alignment != 0) return unexpected(PlacementError{PlacementErrorKind::misaligned_offset});
    if (kind.alignment < info.Alignment)
        return unexpected(PlacementError{PlacementErrorKind::heap_alignment_too_small});
    if (offset > memory.size() || info.SizeInBytes > memory.size() - offset)
        return unexpected(PlacementError{PlacementErrorKind::outside_heap});
    if (info.SizeInBytes > range_size) return unexpected(PlacementError{PlacementErrorKind::outside_range});
    return info;
}

Result<ID3D12Resource*, PlacementError> create_placed_resource(const D3D12MemoryDevice& device,
                                                               const D3D12Memory& memory, std::uint64_t offset,
                                                               std::uint64_t range_size,
                                                               const D3D12_RESOURCE_DESC& desc,
                                                               D3D12_RESOURCE_STATES initial_state,
                                                               const D3D12_CLEAR_VALUE* clear_value) {
    auto checked = check_placement(device, memory, offset, range_size, desc);
    if (!checked) return unexpected(checked.error());
    ID3D12Resource* resource = nullptr;
    const HRESULT hr = device.device()->CreatePlacedResource(memory.heap(), offset, &desc, initial_state, clear_value,
                                                             iid_of<ID3D12Resource>(),
                                                             reinterpret_cast<void**>(&resource));
    if (FAILED(hr)) return unexpected(PlacementError{PlacementErrorKind::create_failed, hr});
    return resource;
}

}  // namespace gpu_alloc::d3d12
