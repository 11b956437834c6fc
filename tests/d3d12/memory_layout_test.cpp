// The properties builder: simulated tier 1 / tier 2, discrete / UMA /
// cache-coherent UMA adapters, then the facts read off the real vkd3d device.
#include <gpu_alloc/d3d12/memory_device.hpp>
#include <gpu_alloc/d3d12/memory_layout.hpp>

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

#include "vkd3d_harness.hpp"

namespace gpu_alloc::d3d12 {
namespace {

using P = MemoryPropertyFlags;

AdapterInfo discrete(D3D12_RESOURCE_HEAP_TIER tier) {
    AdapterInfo info;
    info.resource_heap_tier = tier;
    info.local_memory_size = 8ull << 30;
    info.non_local_memory_size = 16ull << 30;
    return info;
}

AdapterInfo uma(D3D12_RESOURCE_HEAP_TIER tier, bool coherent) {
    AdapterInfo info;
    info.resource_heap_tier = tier;
    info.uma = true;
    info.cache_coherent_uma = coherent;
    info.local_memory_size = 12ull << 30;
    info.non_local_memory_size = 99;  // ignored on UMA
    return info;
}

void expect_kind(const MemoryLayout& layout, std::size_t i, D3D12_HEAP_TYPE type, D3D12_HEAP_FLAGS flags,
                 CategorySet categories, std::uint64_t alignment) {
    SCOPED_TRACE("memory type " + std::to_string(i));
    ASSERT_LT(i, layout.memory_types.size());
    const HeapKind& kind = layout.memory_types[i];
    EXPECT_EQ(kind.properties.Type, type);
    EXPECT_EQ(kind.flags, flags);
    EXPECT_EQ(kind.categories, categories);
    EXPECT_EQ(kind.alignment, alignment);
    const bool host = type == D3D12_HEAP_TYPE_UPLOAD || type == D3D12_HEAP_TYPE_READBACK || type == D3D12_HEAP_TYPE_CUSTOM;
    EXPECT_EQ(kind.mappable, host);
    EXPECT_EQ(contains(layout.properties.memory_types[i].props, P::host_visible), host);
    if (type == D3D12_HEAP_TYPE_UPLOAD) {
        EXPECT_EQ(kind.mapping_state, D3D12_RESOURCE_STATE_GENERIC_READ);
    }
    if (type == D3D12_HEAP_TYPE_READBACK) {
        EXPECT_EQ(kind.mapping_state, D3D12_RESOURCE_STATE_COPY_DEST);
    }
}

TEST(MemoryLayout, Tier2DiscreteHasOneDefaultTypeForAllAndTwoHeaps) {
    const MemoryLayout layout = build_memory_layout(discrete(D3D12_RESOURCE_HEAP_TIER_2));
    const DeviceProperties& props = layout.properties;
    ASSERT_TRUE(is_valid(props));
    ASSERT_EQ(props.memory_types.size(), 3u);
    ASSERT_EQ(layout.memory_types.size(), 3u);
    ASSERT_EQ(props.memory_heaps.size(), 2u);
    EXPECT_EQ(props.memory_heaps[0], (MemoryHeap{8ull << 30, MemoryHeapFlags::device_local}));
    EXPECT_EQ(props.memory_heaps[1], (MemoryHeap{16ull << 30, MemoryHeapFlags::none}));

    expect_kind(layout, 0, D3D12_HEAP_TYPE_DEFAULT, D3D12_HEAP_FLAG_ALLOW_ALL_BUFFERS_AND_TEXTURES, CategorySet::all,
                msaa_heap_alignment);
    expect_kind(layout, 1, D3D12_HEAP_TYPE_UPLOAD, D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS, CategorySet::buffers,
                default_heap_alignment);
    expect_kind(layout, 2, D3D12_HEAP_TYPE_READBACK, D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS, CategorySet::buffers,
                default_heap_alignment);
    EXPECT_EQ(props.memory_types[0], (MemoryType{0, P::device_local}));
    EXPECT_EQ(props.memory_types[1], (MemoryType{1, P::host_visible | P::host_coherent}));
    EXPECT_EQ(props.memory_types[2], (MemoryType{1, P::host_visible | P::host_coherent | P::host_cached}));
}

TEST(MemoryLayout, Tier1DiscreteSplitsDefaultHeapsByCategory) {
    const MemoryLayout layout = build_memory_layout(discrete(D3D12_RESOURCE_HEAP_TIER_1));
    const DeviceProperties& props = layout.properties;
    ASSERT_TRUE(is_valid(props));
    ASSERT_EQ(props.memory_types.size(), 5u);
    ASSERT_EQ(props.memory_heaps.size(), 2u);
    expect_kind(layout, 0, D3D12_HEAP_TYPE_DEFAULT, D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS, CategorySet::buffers,
                default_heap_alignment);
    expect_kind(layout, 1, D3D12_HEAP_TYPE_DEFAULT, D3D12_HEAP_FLAG_ALLOW_ONLY_NON_RT_DS_TEXTURES,
                CategorySet::non_rt_ds_textures, default_heap_alignment);
    expect_kind(layout, 2, D3D12_HEAP_TYPE_DEFAULT, D3D12_HEAP_FLAG_ALLOW_ONLY_RT_DS_TEXTURES,
                CategorySet::rt_ds_textures, msaa_heap_alignment);
    expect_kind(layout, 3, D3D12_HEAP_TYPE_UPLOAD, D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS, CategorySet::buffers,
                default_heap_alignment);
    expect_kind(layout, 4, D3D12_HEAP_TYPE_READBACK, D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS, CategorySet::buffers,
                default_heap_alignment);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(props.memory_types[i], (MemoryType{0, P::device_local}));
    EXPECT_EQ(props.memory_types[3].heap, 1u);
    EXPECT_EQ(props.memory_types[4].heap, 1u);

    // Every category has exactly one DEFAULT type: the allocator can never mix them.
    for (CategorySet category : {CategorySet::buffers, CategorySet::non_rt_ds_textures, CategorySet::rt_ds_textures}) {
        int holders = 0;
        for (std::size_t i = 0; i < 3; ++i) holders += intersects(layout.memory_types[i].categories, category) ? 1 : 0;
        EXPECT_EQ(holders, 1);
    }
}

TEST(MemoryLayout, CacheCoherentUmaHasOneHeapAndACachedCustomType) {
    const MemoryLayout layout = build_memory_layout(uma(D3D12_RESOURCE_HEAP_TIER_2, true));
    const DeviceProperties& props = layout.properties;
    ASSERT_TRUE(is_valid(props));
    ASSERT_EQ(props.memory_heaps.size(), 1u);
    EXPECT_EQ(props.memory_heaps[0], (MemoryHeap{12ull << 30, MemoryHeapFlags::device_local}));
    ASSERT_EQ(props.memory_types.size(), 4u);
    for (const MemoryType& t : props.memory_types) EXPECT_EQ(t.heap, 0u);
    EXPECT_EQ(props.memory_types[0].props, P::device_local);
    const P host = P::device_local | P::host_visible | P::host_coherent | P::host_cached;
    EXPECT_EQ(props.memory_types[1].props, host);  // UPLOAD pages are write-back on CC-UMA
    EXPECT_EQ(props.memory_types[2].props, host);
    EXPECT_EQ(props.memory_types[3].props, host);
    expect_kind(layout, 3, D3D12_HEAP_TYPE_CUSTOM, D3D12_HEAP_FLAG_ALLOW_ONLY_BUFFERS, CategorySet::buffers,
                default_heap_alignment);
    EXPECT_EQ(layout.memory_types[3].properties.CPUPageProperty, D3D12_CPU_PAGE_PROPERTY_WRITE_BACK);
    EXPECT_EQ(layout.memory_types[3].properties.MemoryPoolPreference, D3D12_MEMORY_POOL_L0);
    EXPECT_EQ(layout.memory_types[3].mapping_state, D3D12_RESOURCE_STATE_COMMON);
}

TEST(MemoryLayout, UmaTier1HasSixTypesAndWriteCombinedUpload) {
    const MemoryLayout layout = build_memory_layout(uma(D3D12_RESOURCE_HEAP_TIER_1, false));
    const DeviceProperties& props = layout.properties;
    ASSERT_TRUE(is_valid(props));
    ASSERT_EQ(props.memory_heaps.size(), 1u);
    ASSERT_EQ(props.memory_types.size(), 6u);
    EXPECT_EQ(props.memory_types[3].props, P::device_local | P::host_visible | P::host_coherent);
    EXPECT_EQ(props.memory_types[4].props, P::device_local | P::host_visible | P::host_coherent | P::host_cached);
    EXPECT_EQ(props.memory_types[5].props, P::device_local | P::host_visible | P::host_coherent);
    EXPECT_EQ(layout.memory_types[5].properties.Type, D3D12_HEAP_TYPE_CUSTOM);
    EXPECT_EQ(layout.memory_types[5].properties.CPUPageProperty, D3D12_CPU_PAGE_PROPERTY_WRITE_COMBINE);
}

TEST(MemoryLayout, LimitsComeFromTheAdapterInfo) {
    AdapterInfo info = discrete(D3D12_RESOURCE_HEAP_TIER_2);
    info.max_heap_size = 1ull << 31;
    info.max_heap_count = 777;
    const DeviceProperties props = build_memory_layout(info).properties;
    EXPECT_EQ(props.max_memory_allocation_size, 1ull << 31);
    EXPECT_EQ(props.max_memory_allocation_count, 777u);
    EXPECT_EQ(props.non_coherent_atom_size, 1u);
    EXPECT_EQ(props.buffer_image_granularity, 1u);
    EXPECT_TRUE(props.buffer_device_address);
}

TEST(MemoryLayout, TiersAboveTwoAreTreatedAsTier2) {
    AdapterInfo info = discrete(static_cast<D3D12_RESOURCE_HEAP_TIER>(3));
    EXPECT_EQ(build_memory_layout(info).properties, build_memory_layout(discrete(D3D12_RESOURCE_HEAP_TIER_2)).properties);
}

TEST(MemoryLayout, CategoryBitsMatchCategories) {
    EXPECT_EQ(category_bit(ResourceCategory::buffer), CategorySet::buffers);
    EXPECT_EQ(category_bit(ResourceCategory::non_rt_ds_texture), CategorySet::non_rt_ds_textures);
    EXPECT_EQ(category_bit(ResourceCategory::rt_ds_texture), CategorySet::rt_ds_textures);
    EXPECT_STREQ(to_string(ResourceCategory::rt_ds_texture), "rt_ds_texture");
}

// The real device: what vkd3d on lavapipe reports, and that the adapter reads it.
class MemoryLayoutOnVkd3d : public test::Vkd3dTest {};

TEST_F(MemoryLayoutOnVkd3d, QueryReadsTierUmaAndVulkanHeapSizes) {
    auto info = query_adapter_info(device_);
    ASSERT_TRUE(info.has_value()) << std::hex << info.error();

    D3D12_FEATURE_DATA_D3D12_OPTIONS options{};
    ASSERT_TRUE(SUCCEEDED(device_->CheckFeatureSupport(D3D12_FEATURE_D3D12_OPTIONS, &options, sizeof options)));
    EXPECT_EQ(info->resource_heap_tier, options.ResourceHeapTier);
    D3D12_FEATURE_DATA_ARCHITECTURE architecture{};
    ASSERT_TRUE(SUCCEEDED(device_->CheckFeatureSupport(D3D12_FEATURE_ARCHITECTURE, &architecture, sizeof architecture)));
    EXPECT_EQ(info->uma, architecture.UMA != 0);
    EXPECT_EQ(info->cache_coherent_uma, architecture.CacheCoherentUMA != 0);

    VkPhysicalDeviceMemoryProperties memory{};
    vkGetPhysicalDeviceMemoryProperties(vkd3d_get_vk_physical_device(device_), &memory);
    std::uint64_t largest_local = 0;
    std::uint64_t largest_heap = 0;
    for (std::uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
        largest_heap = std::max<std::uint64_t>(largest_heap, memory.memoryHeaps[i].size);
        if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            largest_local = std::max<std::uint64_t>(largest_local, memory.memoryHeaps[i].size);
    }
    EXPECT_GT(info->local_memory_size, 0u);
    EXPECT_EQ(info->local_memory_size, largest_local);
    EXPECT_LE(info->max_heap_size, largest_heap);
    EXPECT_GT(info->max_heap_size, 0u);
    EXPECT_GT(info->max_heap_count, 0u);

    // Printed for docs/d3d12.md: what vkd3d 1.2 on lavapipe reports.
    std::printf("vkd3d: tier %d, UMA %d, cache-coherent UMA %d, local %llu MiB, max heap %llu MiB, max heaps %u\n",
                static_cast<int>(info->resource_heap_tier), info->uma, info->cache_coherent_uma,
                static_cast<unsigned long long>(info->local_memory_size >> 20),
                static_cast<unsigned long long>(info->max_heap_size >> 20), info->max_heap_count);
}

TEST_F(MemoryLayoutOnVkd3d, DeviceCreateUsesTheQueriedLayout) {
    auto info = query_adapter_info(device_);
    ASSERT_TRUE(info.has_value());
    auto memory_device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(memory_device.has_value());
    EXPECT_EQ(memory_device->properties(), build_memory_layout(*info).properties);
    EXPECT_TRUE(is_valid(memory_device->properties()));
    EXPECT_EQ(memory_device->device(), device_);
}

}  // namespace
}  // namespace gpu_alloc::d3d12
