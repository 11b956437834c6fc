// The storage-mode mapping: DeviceProperties built from what a Metal device
// reports, for Apple-silicon, discrete-GPU and Intel-integrated Macs.
// Links gpu_alloc::metal only (no allocator core): the adapter stands alone.
#include <gpu_alloc/metal/metal_apple.hpp>
#include <gpu_alloc/metal/metal_memory_device.hpp>
#include <gpu_alloc/metal/metal_memory_model.hpp>

#include <gtest/gtest.h>

#include "fake_metal.hpp"

namespace gpu_alloc {
namespace {

using F = MemoryPropertyFlags;
using mock::apple_silicon_profile;
using mock::discrete_mac_profile;
using mock::intel_integrated_profile;

MetalMemoryModel build(const MetalDeviceInfo& info, const MetalDeviceOptions& options = {}) {
    auto model = build_metal_memory_model(info, options);
    EXPECT_TRUE(model.has_value());
    return model ? *model : MetalMemoryModel{};
}

TEST(MetalMemoryModel, AppleSiliconIsOneUnifiedHeapWithPrivateSharedAndMemoryless) {
    const MetalDeviceInfo info = apple_silicon_profile().info;
    const MetalMemoryModel model = build(info);
    const DeviceProperties& props = model.properties;
    EXPECT_TRUE(is_valid(props));
    EXPECT_TRUE(model.unified_memory);
    ASSERT_EQ(props.memory_heaps.size(), 1u);
    EXPECT_EQ(props.memory_heaps[0], (MemoryHeap{info.recommended_max_working_set_size, MemoryHeapFlags::device_local}));

    const std::vector<MemoryType> expected_types = {
        {0, F::device_local},
        {0, F::device_local | F::host_visible | F::host_coherent},
        {0, F::device_local | F::host_visible | F::host_coherent | F::host_cached},
        {0, F::device_local | F::lazily_allocated},
    };
    EXPECT_EQ(props.memory_types, expected_types);
    const std::vector<MetalMemoryType> expected_metal = {
        {MetalStorageMode::private_, MetalCpuCacheMode::default_cache, MetalBacking::heap},
        {MetalStorageMode::shared, MetalCpuCacheMode::write_combined, MetalBacking::heap},
        {MetalStorageMode::shared, MetalCpuCacheMode::default_cache, MetalBacking::heap},
        {MetalStorageMode::memoryless, MetalCpuCacheMode::default_cache, MetalBacking::none},
    };
    EXPECT_EQ(model.types, expected_metal);

    EXPECT_EQ(props.max_memory_allocation_size, info.max_buffer_length);
    EXPECT_EQ(props.max_memory_allocation_count, 4096u);
    EXPECT_EQ(props.non_coherent_atom_size, 4u);
    EXPECT_EQ(props.buffer_image_granularity, 1u);
    EXPECT_TRUE(props.buffer_device_address);
}

TEST(MetalMemoryModel, DiscreteMacHasVramAndSystemHeapsWithManagedOnVram) {
    const MetalDeviceInfo info = discrete_mac_profile().info;
    const MetalMemoryModel model = build(info);
    const DeviceProperties& props = model.properties;
    EXPECT_TRUE(is_valid(props));
    EXPECT_FALSE(model.unified_memory);
    ASSERT_EQ(props.memory_heaps.size(), 2u);
    EXPECT_EQ(props.memory_heaps[0], (MemoryHeap{info.recommended_max_working_set_size, MemoryHeapFlags::device_local}));
    EXPECT_EQ(props.memory_heaps[1], (MemoryHeap{info.system_memory_size, MemoryHeapFlags::none}));

    const std::vector<MemoryType> expected_types = {
        {0, F::device_local},
        // Managed: not coherent, so the allocator flushes (didModifyRange:) and invalidates (blit back).
        {0, F::device_local | F::host_visible | F::host_cached},
        {1, F::host_visible | F::host_coherent},
        {1, F::host_visible | F::host_coherent | F::host_cached},
    };
    EXPECT_EQ(props.memory_types, expected_types);
    const std::vector<MetalMemoryType> expected_metal = {
        {MetalStorageMode::private_, MetalCpuCacheMode::default_cache, MetalBacking::heap},
        {MetalStorageMode::managed, MetalCpuCacheMode::default_cache, MetalBacking::buffer},
        {MetalStorageMode::shared, MetalCpuCacheMode::write_combined, MetalBacking::buffer},
        {MetalStorageMode::shared, MetalCpuCacheMode::default_cache, MetalBacking::buffer},
    };
    EXPECT_EQ(model.types, expected_metal);
    EXPECT_FALSE(props.buffer_device_address);
    EXPECT_EQ(props.max_memory_allocation_size, info.max_buffer_length);
}

TEST(MetalMemoryModel, IntelIntegratedIsUnifiedButSharedMemoryIsBufferBacked) {
    const MetalDeviceInfo info = intel_integrated_profile().info;
    const MetalMemoryModel model = build(info);
    ASSERT_EQ(model.properties.memory_heaps.size(), 1u);
    ASSERT_EQ(model.types.size(), 3u);  // no managed (unified), no memoryless (not an Apple GPU)
    EXPECT_EQ(model.types[0].backing, MetalBacking::heap);
    EXPECT_EQ(model.types[1], (MetalMemoryType{MetalStorageMode::shared, MetalCpuCacheMode::write_combined,
                                               MetalBacking::buffer}));
    EXPECT_EQ(model.types[2].backing, MetalBacking::buffer);
    EXPECT_EQ(model.properties.memory_types[2].props,
              F::device_local | F::host_visible | F::host_coherent | F::host_cached);
}

TEST(MetalMemoryModel, PropertyFlagTable) {
    using S = MetalStorageMode;
    using C = MetalCpuCacheMode;
    EXPECT_EQ(metal_memory_property_flags(S::private_, C::default_cache, true), F::device_local);
    EXPECT_EQ(metal_memory_property_flags(S::private_, C::write_combined, false), F::device_local);
    EXPECT_EQ(metal_memory_property_flags(S::memoryless, C::default_cache, true), F::device_local | F::lazily_allocated);
    EXPECT_EQ(metal_memory_property_flags(S::shared, C::write_combined, false), F::host_visible | F::host_coherent);
    EXPECT_EQ(metal_memory_property_flags(S::shared, C::default_cache, true),
              F::device_local | F::host_visible | F::host_coherent | F::host_cached);
    EXPECT_EQ(metal_memory_property_flags(S::managed, C::default_cache, false),
              F::device_local | F::host_visible | F::host_cached);
    EXPECT_EQ(metal_memory_property_flags(S::managed, C::write_combined, false), F::device_local | F::host_visible);
    EXPECT_EQ(metal_memory_property_flags(S::managed, C::default_cache, true), F::none);
}

TEST(MetalMemoryModel, BackingFollowsWhatHeapsMayHold) {
    MetalDeviceInfo info = apple_silicon_profile().info;
    EXPECT_EQ(metal_backing(MetalStorageMode::private_, info), MetalBacking::heap);
    EXPECT_EQ(metal_backing(MetalStorageMode::shared, info), MetalBacking::heap);
    EXPECT_EQ(metal_backing(MetalStorageMode::managed, info), MetalBacking::buffer);
    EXPECT_EQ(metal_backing(MetalStorageMode::memoryless, info), MetalBacking::none);
    info.shared_heaps = false;
    EXPECT_EQ(metal_backing(MetalStorageMode::shared, info), MetalBacking::buffer);
}

TEST(MetalMemoryModel, OptionsShapeTheModel) {
    MetalDeviceOptions options;
    options.write_combined_types = false;
    options.max_memory_objects = 123;
    const MetalMemoryModel model = build(apple_silicon_profile().info, options);
    ASSERT_EQ(model.types.size(), 3u);
    for (const MetalMemoryType& t : model.types) EXPECT_EQ(t.cpu_cache_mode, MetalCpuCacheMode::default_cache);
    EXPECT_EQ(model.properties.max_memory_allocation_count, 123u);
}

TEST(MetalMemoryModel, UnknownWorkingSetOnUnifiedMemoryFallsBackToPhysicalMemory) {
    MetalDeviceInfo info = apple_silicon_profile().info;
    info.recommended_max_working_set_size = 0;  // iOS before 16
    const MetalMemoryModel model = build(info);
    ASSERT_EQ(model.properties.memory_heaps.size(), 1u);
    EXPECT_EQ(model.properties.memory_heaps[0].size, info.system_memory_size);
}

TEST(MetalMemoryModel, RejectsDeviceInfoItCannotUse) {
    auto rejects = [](MetalDeviceInfo info, MetalDeviceOptions options = {}) {
        auto model = build_metal_memory_model(info, options);
        return !model.has_value() && model.error() == MetalInitError::invalid_device_info;
    };
    MetalDeviceInfo info = apple_silicon_profile().info;
    info.max_buffer_length = 0;
    EXPECT_TRUE(rejects(info));
    info = apple_silicon_profile().info;
    info.recommended_max_working_set_size = 0;
    info.system_memory_size = 0;
    EXPECT_TRUE(rejects(info));
    info = apple_silicon_profile().info;
    info.buffer_offset_alignment = 48;
    EXPECT_TRUE(rejects(info));
    info = discrete_mac_profile().info;
    info.recommended_max_working_set_size = 0;
    EXPECT_TRUE(rejects(info));
    info = discrete_mac_profile().info;
    info.system_memory_size = 0;
    EXPECT_TRUE(rejects(info));
    MetalDeviceOptions options;
    options.max_memory_objects = 0;
    EXPECT_TRUE(rejects(apple_silicon_profile().info, options));
    EXPECT_FALSE(rejects(apple_silicon_profile().info));
}

TEST(MetalMemoryModel, ResourceOptionBitsArePackedAsMetalPacksThem) {
    // MTLResourceStorageModeShared = 0, ...Private = 2 << 4, MTLResourceCPUCacheModeWriteCombined = 1,
    // MTLResourceHazardTrackingModeTracked = 2 << 8.
    EXPECT_EQ(to_mtl_resource_options({MetalStorageMode::shared, MetalCpuCacheMode::default_cache,
                                       MetalHazardTracking::default_}),
              0u);
    EXPECT_EQ(to_mtl_resource_options({MetalStorageMode::private_, MetalCpuCacheMode::default_cache,
                                       MetalHazardTracking::untracked}),
              0x120u);
    EXPECT_EQ(to_mtl_resource_options({MetalStorageMode::managed, MetalCpuCacheMode::write_combined,
                                       MetalHazardTracking::tracked}),
              0x211u);
    EXPECT_EQ(to_mtl_resource_options({MetalStorageMode::memoryless, MetalCpuCacheMode::default_cache,
                                       MetalHazardTracking::untracked}),
              0x130u);
}

TEST(MetalMemoryModel, ErrorNames) {
    EXPECT_EQ(to_string(MetalInitError::incomplete_functions), "incomplete function table");
    EXPECT_EQ(to_string(MetalInitError::invalid_device_info), "invalid device info");
    EXPECT_STREQ(to_string(MetalStorageMode::private_), "private");
    EXPECT_STREQ(to_string(MetalCpuCacheMode::write_combined), "write_combined");
    EXPECT_STREQ(to_string(MetalBacking::buffer), "buffer");
}

TEST(MetalFunctionsTable, CompletenessIsChecked) {
    mock::FakeMetal fake(apple_silicon_profile());
    EXPECT_TRUE(is_complete(fake.functions()));
    MetalFunctions missing = fake.functions();
    missing.synchronize_ranges = nullptr;
    EXPECT_FALSE(is_complete(missing));
    auto device = MetalMemoryDevice::create(missing);
    ASSERT_FALSE(device.has_value());
    EXPECT_EQ(device.error(), MetalInitError::incomplete_functions);

    MetalFunctions bad_info = fake.functions();
    bad_info.device.max_buffer_length = 0;
    auto rejected = MetalMemoryDevice::create(bad_info);
    ASSERT_FALSE(rejected.has_value());
    EXPECT_EQ(rejected.error(), MetalInitError::invalid_device_info);
}

}  // namespace
}  // namespace gpu_alloc
