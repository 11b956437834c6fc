// The properties builder (pure) and the adapter query (D3D12 + DXGI on
// Windows, D3D12 + the Vulkan device underneath under vkd3d).
#include <gpu_alloc/d3d12/memory_layout.hpp>

#include <algorithm>

namespace gpu_alloc::d3d12 {

namespace {

constexpr D3D12_HEAP_FLAGS flags_for(CategorySet categories) noexcept {
    switch (categories) {
        case CategorySet::buffers: return D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS;
        case CategorySet::non_rt_ds_textures: return D3D12_HEAP_FLAG_ALLOW_ONLY_NON_RT_DS_TEXTURES;
        case CategorySet::rt_ds_textures: return D3D12_HEAP_FLAG_ALLOW_ONLY_RT_DS_TEXTURES;
        default: return D3D12_HEAP_FLAG_ALLOW_ALL_BUFFERS_AND_TEXTURES;
    }
}

HeapKind make_kind(D3D12_HEAP_TYPE type, CategorySet categories) noexcept {
    HeapKind kind;
    kind.properties.Type = type;
    kind.properties.CPUPageProperty = D3D12_CPU_PAGE_PROPERTY_UNKNOWN;
    kind.properties.MemoryPoolPreference = D3D12_MEMORY_POOL_UNKNOWN;
    kind.properties.CreationNodeMask = 0;
    kind.properties.VisibleNodeMask = 0;
    kind.flags = flags_for(categories);
    kind.categories = categories;
    kind.alignment = intersects(categories, CategorySet::rt_ds_textures) ? msaa_heap_alignment : default_heap_alignment;
    switch (type) {
        case D3D12_HEAP_TYPE_UPLOAD:
            kind.mappable = true;
            kind.mapping_state = D3D12_RESOURCE_STATE_GENERIC_READ;
            break;
        case D3D12_HEAP_TYPE_READBACK:
            kind.mappable = true;
            kind.mapping_state = D3D12_RESOURCE_STATE_COPY_DEST;
            break;
        case D3D12_HEAP_TYPE_CUSTOM:
            kind.mappable = true;
            kind.mapping_state = D3D12_RESOURCE_STATE_COMMON;
            break;
        default: break;
    }
    return kind;
}

}  // namespace

MemoryLayout build_memory_layout(const AdapterInfo& info) {
    using P = MemoryPropertyFlags;
    MemoryLayout layout;
    DeviceProperties& props = layout.properties;
    const bool uma = info.uma || info.cache_coherent_uma;

    props.memory_heaps.push_back({info.local_memory_size, MemoryHeapFlags::device_local});
    std::uint32_t host_heap = 0;
    if (!uma) {
        props.memory_heaps.push_back({info.non_local_memory_size, MemoryHeapFlags::none});
        host_heap = 1;
    }

    // On UMA all memory is the GPU's own pool; upload pages are write-back
    // (cached) when the CPU caches are coherent with the GPU.
    const P local_if_uma = uma ? P::device_local : P::none;
    const P upload_props = local_if_uma | P::host_visible | P::host_coherent |
                           (info.cache_coherent_uma ? P::host_cached : P::none);
    const P readback_props = local_if_uma | P::host_visible | P::host_coherent | P::host_cached;

    auto add = [&](HeapKind kind, std::uint32_t heap, P flags) {
        layout.memory_types.push_back(kind);
        props.memory_types.push_back({heap, flags});
    };

    if (info.resource_heap_tier == D3D12_RESOURCE_HEAP_TIER_1) {
        add(make_kind(D3D12_HEAP_TYPE_DEFAULT, CategorySet::buffers), 0, P::device_local);
        add(make_kind(D3D12_HEAP_TYPE_DEFAULT, CategorySet::non_rt_ds_textures), 0, P::device_local);
        add(make_kind(D3D12_HEAP_TYPE_DEFAULT, CategorySet::rt_ds_textures), 0, P::device_local);
    } else {
        add(make_kind(D3D12_HEAP_TYPE_DEFAULT, CategorySet::all), 0, P::device_local);
    }
    add(make_kind(D3D12_HEAP_TYPE_UPLOAD, CategorySet::buffers), host_heap, upload_props);
    add(make_kind(D3D12_HEAP_TYPE_READBACK, CategorySet::buffers), host_heap, readback_props);
    if (uma) {
        HeapKind custom = make_kind(D3D12_HEAP_TYPE_CUSTOM, CategorySet::buffers);
        custom.properties.CPUPageProperty =
            info.cache_coherent_uma ? D3D12_CPU_PAGE_PROPERTY_WRITE_BACK : D3D12_CPU_PAGE_PROPERTY_WRITE_COMBINE;
        custom.properties.MemoryPoolPreference = D3D12_MEMORY_POOL_L0;
        add(custom, 0, upload_props);
    }

    props.max_memory_allocation_count = info.max_heap_count;
    props.max_memory_allocation_size = info.max_heap_size;
    props.non_coherent_atom_size = 1;
    props.buffer_image_granularity = 1;
    props.buffer_device_address = true;
    return layout;
}

Result<AdapterInfo, HRESULT> query_adapter_info(ID3D12Device* device) {
    AdapterInfo info;

    D3D12_FEATURE_DATA_D3D12_OPTIONS options{};
    HRESULT hr = device->CheckFeatureSupport(D3D12_FEATURE_D3D12_OPTIONS, &options, sizeof options);
    if (FAILED(hr)) return unexpected(hr);
    info.resource_heap_tier = options.ResourceHeapTier;

    D3D12_FEATURE_DATA_ARCHITECTURE architecture{};
    architecture.NodeIndex = 0;
    hr = device->CheckFeatureSupport(D3D12_FEATURE_ARCHITECTURE, &architecture, sizeof architecture);
    if (FAILED(hr)) return unexpected(hr);
    info.uma = architecture.UMA != 0;
    info.cache_coherent_uma = architecture.CacheCoherentUMA != 0;

    D3D12_FEATURE_DATA_GPU_VIRTUAL_ADDRESS_SUPPORT address{};
    hr = device->CheckFeatureSupport(D3D12_FEATURE_GPU_VIRTUAL_ADDRESS_SUPPORT, &address, sizeof address);
    if (SUCCEEDED(hr) && address.MaxGPUVirtualAddressBitsPerResource > 0 &&
        address.MaxGPUVirtualAddressBitsPerResource < 64)
        info.max_heap_size = std::uint64_t{1} << address.MaxGPUVirtualAddressBitsPerResource;

#if GPU_ALLOC_D3D12_HAS_DXGI
    IDXGIFactory4* factory = nullptr;
    hr = CreateDXGIFactory1(iid_of<IDXGIFactory4>(), reinterpret_cast<void**>(&factory));
    if (FAILED(hr)) return unexpected(hr);
    IDXGIAdapter1* adapter = nullptr;
    hr = factory->EnumAdapterByLuid(device->GetAdapterLuid(), iid_of<IDXGIAdapter1>(),
                                    reinterpret_cast<void**>(&adapter));
    factory->Release();
    if (FAILED(hr)) return unexpected(hr);
    DXGI_ADAPTER_DESC1 desc{};
    hr = adapter->GetDesc1(&desc);
    adapter->Release();
    if (FAILED(hr)) return unexpected(hr);
    if (info.uma || info.cache_coherent_uma) {
        info.local_memory_size = std::uint64_t{desc.DedicatedVideoMemory} + desc.SharedSystemMemory;
    } else {
        info.local_memory_size = desc.DedicatedVideoMemory;
        info.non_local_memory_size = desc.SharedSystemMemory;
    }
#else
    // vkd3d: every D3D12 heap is a VkDeviceMemory of this physical device.
    VkPhysicalDevice physical = vkd3d_get_vk_physical_device(device);
    VkPhysicalDeviceMemoryProperties memory{};
    vkGetPhysicalDeviceMemoryProperties(physical, &memory);
    for (std::uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
        const VkMemoryHeap& heap = memory.memoryHeaps[i];
        if (heap.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            info.local_memory_size = std::max<std::uint64_t>(info.local_memory_size, heap.size);
        else
            info.non_local_memory_size = std::max<std::uint64_t>(info.non_local_memory_size, heap.size);
    }
    VkPhysicalDeviceProperties properties{};
    vkGetPhysicalDeviceProperties(physical, &properties);
    info.max_heap_count = properties.limits.maxMemoryAllocationCount;

    // A heap is one VkDeviceMemory: no larger than the largest Vulkan heap (the
    // validation layer rejects more) nor maintenance3's maxMemoryAllocationSize.
    std::uint64_t largest_heap = 0;
    for (std::uint32_t i = 0; i < memory.memoryHeapCount; ++i)
        largest_heap = std::max<std::uint64_t>(largest_heap, memory.memoryHeaps[i].size);
    if (largest_heap != 0) info.max_heap_size = std::min(info.max_heap_size, largest_heap);
    // vkGetPhysicalDeviceProperties2KHR is only handed out when vkd3d enabled
    // VK_KHR_get_physical_device_properties2 on its instance.
    VkInstance instance = vkd3d_instance_get_vk_instance(vkd3d_instance_from_device(device));
    const auto get_properties2 = reinterpret_cast<PFN_vkGetPhysicalDeviceProperties2KHR>(
        vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceProperties2KHR"));
    if (get_properties2 != nullptr && properties.apiVersion >= VK_API_VERSION_1_1) {
        VkPhysicalDeviceMaintenance3Properties maintenance3{};
        maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
        VkPhysicalDeviceProperties2 properties2{};
        properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        properties2.pNext = &maintenance3;
        get_properties2(physical, &properties2);
        if (maintenance3.maxMemoryAllocationSize != 0)
            info.max_heap_size = std::min<std::uint64_t>(info.max_heap_size, maintenance3.maxMemoryAllocationSize);
    }
#endif
    return info;
}

}  // namespace gpu_alloc::d3d12
