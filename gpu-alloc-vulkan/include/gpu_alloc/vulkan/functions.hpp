// The Vulkan entry points the adapter calls, as a table of function pointers,
// and what the application tells the adapter about its instance and device.
//
// Why a table: the adapter never calls a Vulkan symbol by name, so it builds with
// VK_NO_PROTOTYPES and works under any loader - the system's libvulkan, volk, an
// engine's own dispatch, or a layer-free direct driver dispatch from
// vkGetDeviceProcAddr. The library itself is compiled with VK_NO_PROTOTYPES and
// links no loader. The members keep their Vulkan names (vkAllocateMemory, not
// allocate_memory) so that a volk user fills the table by copying names across,
// the way VMA's VmaVulkanFunctions reads.
//
// Why VulkanDeviceInfo: Vulkan cannot be asked afterwards which API version an
// instance was created with or which extensions and features a device enabled,
// yet each of them changes which structures the adapter may chain. The
// application says so once, here.
#pragma once

#include <cstdint>

#include <vulkan/vulkan_core.h>

#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::vulkan {

/// What the application created and enabled. Vulkan cannot report these after
/// the fact; every adapter function reads them from here.
///
/// The API version the adapter uses is the lower of `api_version` and the
/// physical device's VkPhysicalDeviceProperties::apiVersion. Version 1.1 implies
/// `get_physical_device_properties2`, `dedicated_allocation` and `maintenance3`.
struct VulkanDeviceInfo {
    /// The instance the physical device was enumerated from (for vkGetInstanceProcAddr).
    VkInstance instance = VK_NULL_HANDLE;
    /// The physical device `device` was created on (properties, budget).
    VkPhysicalDevice physical_device = VK_NULL_HANDLE;
    /// The device whose memory the adapter manages; it outlives the adapter.
    VkDevice device = VK_NULL_HANDLE;
    /// VkApplicationInfo::apiVersion the instance was created with (VK_API_VERSION_1_0 when none was given).
    std::uint32_t api_version = VK_API_VERSION_1_0;
    /// Instance extension VK_KHR_get_physical_device_properties2 enabled.
    bool get_physical_device_properties2 = false;
    /// Device extensions VK_KHR_dedicated_allocation and VK_KHR_get_memory_requirements2 enabled.
    bool dedicated_allocation = false;
    /// Device extension VK_KHR_maintenance3 enabled (maxMemoryAllocationSize).
    bool maintenance3 = false;
    /// Device extension VK_EXT_memory_budget enabled (needs properties2).
    bool memory_budget = false;
    /// Device extension VK_EXT_memory_priority enabled with its memoryPriority feature.
    bool memory_priority = false;
    /// Feature bufferDeviceAddress enabled (Vulkan 1.2 core or VK_KHR_buffer_device_address).
    bool buffer_device_address = false;
    /// Feature deviceCoherentMemory (VK_AMD_device_coherent_memory) enabled: the
    /// memory types with DEVICE_COHERENT_BIT_AMD may be used.
    bool device_coherent_memory = false;
    /// Feature protectedMemory enabled: protected memory types may be used.
    bool protected_memory = false;
    /// Host allocation callbacks passed to vkAllocateMemory and vkFreeMemory, or null.
    const VkAllocationCallbacks* allocation_callbacks = nullptr;
};

/// The entry points the adapter and the convenience helpers call.
///
/// The first group is required (every Vulkan 1.0 implementation has them); the
/// `2` queries are optional and null when neither Vulkan 1.1 nor their KHR
/// extension is available, in which case the adapter falls back to the 1.0
/// queries and goes without budget, maintenance3 limits and dedicated hints.
/// Each member is the Vulkan function of the same name (see the file comment).
struct VulkanFunctions {
    /// The loader entry points the table was filled from (informational once filled).
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
    PFN_vkGetDeviceProcAddr vkGetDeviceProcAddr = nullptr;
    // Physical-device queries (instance level).
    PFN_vkGetPhysicalDeviceProperties vkGetPhysicalDeviceProperties = nullptr;
    PFN_vkGetPhysicalDeviceMemoryProperties vkGetPhysicalDeviceMemoryProperties = nullptr;
    // Device memory (device level).
    PFN_vkAllocateMemory vkAllocateMemory = nullptr;
    PFN_vkFreeMemory vkFreeMemory = nullptr;
    PFN_vkMapMemory vkMapMemory = nullptr;
    PFN_vkUnmapMemory vkUnmapMemory = nullptr;
    PFN_vkFlushMappedMemoryRanges vkFlushMappedMemoryRanges = nullptr;
    PFN_vkInvalidateMappedMemoryRanges vkInvalidateMappedMemoryRanges = nullptr;
    // Resources, for the convenience helpers (device level).
    PFN_vkCreateBuffer vkCreateBuffer = nullptr;
    PFN_vkDestroyBuffer vkDestroyBuffer = nullptr;
    PFN_vkCreateImage vkCreateImage = nullptr;
    PFN_vkDestroyImage vkDestroyImage = nullptr;
    PFN_vkBindBufferMemory vkBindBufferMemory = nullptr;
    PFN_vkBindImageMemory vkBindImageMemory = nullptr;
    PFN_vkGetBufferMemoryRequirements vkGetBufferMemoryRequirements = nullptr;
    PFN_vkGetImageMemoryRequirements vkGetImageMemoryRequirements = nullptr;
    // Commands, for the defragmentation helper (gpu_alloc/vulkan/defragmentation.hpp).
    PFN_vkCmdPipelineBarrier vkCmdPipelineBarrier = nullptr;
    PFN_vkCmdCopyBuffer vkCmdCopyBuffer = nullptr;

    // Optional: Vulkan 1.1 core or VK_KHR_get_physical_device_properties2 /
    // VK_KHR_get_memory_requirements2.
    PFN_vkGetPhysicalDeviceProperties2 vkGetPhysicalDeviceProperties2 = nullptr;
    PFN_vkGetPhysicalDeviceMemoryProperties2 vkGetPhysicalDeviceMemoryProperties2 = nullptr;
    PFN_vkGetBufferMemoryRequirements2 vkGetBufferMemoryRequirements2 = nullptr;
    PFN_vkGetImageMemoryRequirements2 vkGetImageMemoryRequirements2 = nullptr;
};

/// A required entry point came back null.
struct MissingFunction {
    /// Its Vulkan name, e.g. "vkMapMemory" (a string literal).
    const char* name = nullptr;
};

/// The name of the first required entry point of `functions` that is null, or
/// null when the table is complete. Use it to check a table filled by hand.
const char* find_missing_function(const VulkanFunctions& functions) noexcept;

/// Fills the table through `get_instance_proc_addr` (instance-level entry
/// points) and `get_device_proc_addr` (device-level ones; looked up through
/// the former when null).
///
/// Requires: info.instance and info.device valid; info.api_version and the
/// extension flags as the application created them. The optional `2` queries
/// are loaded under their core names at Vulkan 1.1 and later, and under their
/// KHR names when the matching extension flag is set.
/// Returns: the table, or the first required entry point that came back null.
Result<VulkanFunctions, MissingFunction> load_functions(const VulkanDeviceInfo& info,
                                                        PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                                        PFN_vkGetDeviceProcAddr get_device_proc_addr = nullptr) noexcept;

#if !defined(VK_NO_PROTOTYPES)
/// Fills the table through the linked loader's vkGetInstanceProcAddr and
/// vkGetDeviceProcAddr. Only declared where the Vulkan prototypes are (not
/// under VK_NO_PROTOTYPES); the caller's target links the loader
/// (Vulkan::Vulkan), the adapter library never does.
inline Result<VulkanFunctions, MissingFunction> load_functions(const VulkanDeviceInfo& info) noexcept {
    return load_functions(info, &::vkGetInstanceProcAddr, &::vkGetDeviceProcAddr);
}
#endif

/// The API version the adapter works at: the lower of info.api_version and the
/// physical device's, with the patch and variant bits cleared.
/// Requires: functions.vkGetPhysicalDeviceProperties and info.physical_device valid.
std::uint32_t effective_api_version(const VulkanFunctions& functions, const VulkanDeviceInfo& info) noexcept;

}  // namespace gpu_alloc::vulkan
