// DeviceProperties read off a VkPhysicalDevice: what the allocator needs to
// know about a Vulkan device's memory, in the contract's terms.
//
// Memory types and heaps keep their Vulkan indices (a request's memoryTypeBits
// is a valid type mask as it is). Property and heap flags share Vulkan's bit
// values; the bits the contract has no name for (DEVICE_COHERENT_BIT_AMD,
// DEVICE_UNCACHED_BIT_AMD, RDMA_CAPABLE_BIT_NV) are dropped, and the types that
// need a feature that is off are left out of
// VulkanMemoryDevice::usable_memory_types() instead.
//
// maxMemoryAllocationSize comes from VkPhysicalDeviceMaintenance3Properties
// (the Rust gpu-alloc's ash adapter hard-codes "unlimited"); without Vulkan 1.1
// or VK_KHR_maintenance3 Vulkan states no limit, and the largest heap's size is
// used, since no object can be larger than its heap.
#pragma once

#include <cstdint>

#include <vulkan/vulkan_core.h>

#include <gpu_alloc/types/flags.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/vulkan/functions.hpp>

namespace gpu_alloc::vulkan {

/// The contract's property bits of a VkMemoryPropertyFlags (same values, unknown bits dropped).
constexpr MemoryPropertyFlags to_memory_property_flags(VkMemoryPropertyFlags flags) noexcept {
    constexpr VkMemoryPropertyFlags known = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                            VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT |
                                            VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT | VK_MEMORY_PROPERTY_PROTECTED_BIT;
    return static_cast<MemoryPropertyFlags>(flags & known);
}

/// The contract's heap bits of a VkMemoryHeapFlags (same values, unknown bits dropped).
constexpr MemoryHeapFlags to_memory_heap_flags(VkMemoryHeapFlags flags) noexcept {
    constexpr VkMemoryHeapFlags known = VK_MEMORY_HEAP_DEVICE_LOCAL_BIT | VK_MEMORY_HEAP_MULTI_INSTANCE_BIT;
    return static_cast<MemoryHeapFlags>(flags & known);
}

/// Reads the device's memory types and heaps (vkGetPhysicalDeviceMemoryProperties2
/// when loaded, else the 1.0 query), maxMemoryAllocationCount,
/// nonCoherentAtomSize, bufferImageGranularity, maxMemoryAllocationSize
/// (maintenance3, see the file comment) and info.buffer_device_address.
/// Requires: functions complete (find_missing_function), info.physical_device valid.
/// Returns: properties for which is_valid() holds on any conformant driver.
DeviceProperties device_properties(const VulkanFunctions& functions, const VulkanDeviceInfo& info) noexcept;

/// The mask of memory types usable with the features in `info` (see
/// VulkanMemoryDevice::usable_memory_types, which returns the same).
/// Requires: as device_properties.
std::uint32_t usable_memory_types(const VulkanFunctions& functions, const VulkanDeviceInfo& info) noexcept;

}  // namespace gpu_alloc::vulkan
