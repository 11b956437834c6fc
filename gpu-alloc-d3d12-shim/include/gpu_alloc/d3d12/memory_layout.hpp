// How D3D12 heaps become the contract's memory types and heaps.
//
// D3D12 has no memory types: it has heap types (DEFAULT, UPLOAD, READBACK,
// CUSTOM) and, on resource heap tier 1, a rule that buffers, render-target /
// depth-stencil textures and other textures may not share a heap. Each
// combination the allocator must keep apart becomes a memory type of its own,
// so the allocator's pools never mix what D3D12 forbids mixing (gpu-allocator
// and D3D12MA do the same: D3D12MA has 12 default pools on tier 1, 4 on tier 2).
//
//   tier 2: DEFAULT(all), UPLOAD(buffers), READBACK(buffers) [, CUSTOM(buffers) on UMA]
//   tier 1: DEFAULT(buffers), DEFAULT(non-RT/DS textures), DEFAULT(RT/DS textures),
//           UPLOAD(buffers), READBACK(buffers) [, CUSTOM(buffers) on UMA]
//
// UPLOAD and READBACK hold buffers only on every tier: D3D12 rejects textures
// and UAV/RT/DS resources in them, and the placed buffer that maps such a heap
// (see memory_device.hpp) must be allowed in it. On UMA adapters a CUSTOM type
// (pool L0, write-back pages on cache-coherent UMA, write-combine otherwise)
// gives host-visible memory that also accepts UAV buffers.
//
// Heaps: a discrete adapter has video memory (heap 0, DXGI's LOCAL segment
// group) and system memory (heap 1, NON_LOCAL); DEFAULT draws from heap 0,
// UPLOAD/READBACK from heap 1. A UMA adapter has one heap that every type draws
// from. Every host-visible D3D12 heap is coherent (D3D12 has no flush), so
// host-visible types are host_coherent; READBACK pages and CUSTOM write-back
// pages are host_cached.
//
// build_memory_layout() is pure (the properties-builder tests simulate tiers
// and UMA with it); query_adapter_info() reads the facts off a device.
#pragma once

#include <cstdint>
#include <vector>

#include <gpu_alloc/d3d12/d3d12_api.hpp>
#include <gpu_alloc/types/flags.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::d3d12 {

/// D3D12's three resource categories, which tier 1 keeps in separate heaps.
enum class ResourceCategory : std::uint8_t {
    buffer,             ///< D3D12_RESOURCE_DIMENSION_BUFFER
    non_rt_ds_texture,  ///< a texture without ALLOW_RENDER_TARGET / ALLOW_DEPTH_STENCIL
    rt_ds_texture,      ///< a texture with ALLOW_RENDER_TARGET or ALLOW_DEPTH_STENCIL
};

/// A set of ResourceCategory values, as bits.
enum class CategorySet : std::uint8_t {
    none = 0,
    buffers = 1u << 0,
    non_rt_ds_textures = 1u << 1,
    rt_ds_textures = 1u << 2,
    all = (1u << 0) | (1u << 1) | (1u << 2),
};

}  // namespace gpu_alloc::d3d12

template <>
struct gpu_alloc::EnableBitmaskOperators<gpu_alloc::d3d12::CategorySet> : std::true_type {};

namespace gpu_alloc::d3d12 {

/// The CategorySet holding just `category`.
constexpr CategorySet category_bit(ResourceCategory category) noexcept {
    return static_cast<CategorySet>(1u << static_cast<unsigned>(category));
}

/// "buffer", "non_rt_ds_texture", "rt_ds_texture".
constexpr const char* to_string(ResourceCategory category) noexcept {
    switch (category) {
        case ResourceCategory::buffer: return "buffer";
        case ResourceCategory::non_rt_ds_texture: return "non_rt_ds_texture";
        case ResourceCategory::rt_ds_texture: return "rt_ds_texture";
    }
    return "unknown";
}

/// Heap alignment for heaps that may hold MSAA textures (4 MiB).
inline constexpr std::uint64_t msaa_heap_alignment = D3D12_DEFAULT_MSAA_RESOURCE_PLACEMENT_ALIGNMENT;
/// Heap alignment for every other heap (64 KiB).
inline constexpr std::uint64_t default_heap_alignment = D3D12_DEFAULT_RESOURCE_PLACEMENT_ALIGNMENT;

/// The facts about an adapter that decide its memory layout.
struct AdapterInfo {
    /// D3D12_FEATURE_D3D12_OPTIONS::ResourceHeapTier.
    D3D12_RESOURCE_HEAP_TIER resource_heap_tier = D3D12_RESOURCE_HEAP_TIER_1;
    /// D3D12_FEATURE_ARCHITECTURE::UMA: one memory pool shared with the CPU.
    bool uma = false;
    /// D3D12_FEATURE_ARCHITECTURE::CacheCoherentUMA (implies uma).
    bool cache_coherent_uma = false;
    /// Video memory, bytes: heap 0. On UMA, all memory the GPU may use.
    std::uint64_t local_memory_size = 0;
    /// System memory the GPU may use, bytes: heap 1. Ignored on UMA.
    std::uint64_t non_local_memory_size = 0;
    /// Largest heap, bytes: a mapped heap is one buffer, so at most
    /// 2^MaxGPUVirtualAddressBitsPerResource; under vkd3d also at most the largest
    /// Vulkan heap and maintenance3's maxMemoryAllocationSize (a heap is one VkDeviceMemory).
    std::uint64_t max_heap_size = UINT64_MAX;
    /// Most heaps alive at once. D3D12 sets no limit (UINT32_MAX); under vkd3d
    /// each heap is one VkDeviceMemory, so it is Vulkan's maxMemoryAllocationCount.
    std::uint32_t max_heap_count = UINT32_MAX;
};

/// How the heaps of one memory type are created and what they may hold.
struct HeapKind {
    /// Heap type, and for CUSTOM the page property and memory pool.
    D3D12_HEAP_PROPERTIES properties{};
    /// D3D12_HEAP_FLAG_ALLOW_ONLY_* (or NONE: all categories, tier 2 only).
    D3D12_HEAP_FLAGS flags = D3D12_HEAP_FLAG_NONE;
    /// D3D12_HEAP_DESC::Alignment: 4 MiB where RT/DS (so MSAA) textures are allowed, else 64 KiB.
    std::uint64_t alignment = default_heap_alignment;
    /// The categories `flags` allows.
    CategorySet categories = CategorySet::none;
    /// Whether the heap is mapped (host-visible) through a placed buffer covering it.
    bool mappable = false;
    /// The state the covering buffer is created in (UPLOAD: GENERIC_READ,
    /// READBACK: COPY_DEST, CUSTOM: COMMON). Unused when !mappable.
    D3D12_RESOURCE_STATES mapping_state = D3D12_RESOURCE_STATE_COMMON;
};

/// The contract's DeviceProperties plus, for each of its memory types, the D3D12
/// heap that memory type stands for (memory_types[i] describes properties.memory_types[i]).
struct MemoryLayout {
    DeviceProperties properties;
    std::vector<HeapKind> memory_types;
};

/// Builds the memory types and heaps for an adapter (see the top of this file).
///
/// Requires: info.resource_heap_tier is 1 or 2 (anything above 2 is treated as 2).
/// Returns a layout with is_valid(layout.properties): 3 or 5 memory types
/// (tier 2 / tier 1) plus one CUSTOM type on UMA; 2 heaps, or 1 on UMA.
/// non_coherent_atom_size and buffer_image_granularity are 1 (D3D12 memory is
/// coherent; placement alignment alone keeps resources apart);
/// buffer_device_address is true (every D3D12 buffer has a GPU virtual address).
MemoryLayout build_memory_layout(const AdapterInfo& info);

/// Reads an adapter's facts off a device: the heap tier (D3D12_OPTIONS), UMA
/// (ARCHITECTURE, node 0), the per-resource address bits; memory sizes from
/// DXGI's adapter description on Windows (on UMA: dedicated + shared memory),
/// and from the VkPhysicalDevice under vkd3d (largest device-local heap; largest
/// other heap), with Vulkan's maxMemoryAllocationCount and allocation size limits.
///
/// Requires: device is a live ID3D12Device.
/// Errors: the failing HRESULT of CheckFeatureSupport or of the DXGI calls.
Result<AdapterInfo, HRESULT> query_adapter_info(ID3D12Device* device);

}  // namespace gpu_alloc::d3d12
