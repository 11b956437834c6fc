// VulkanContext: a VkInstance, VkPhysicalDevice and VkDevice set up for the
// adapter's tests and the buffer benchmark, on whatever Vulkan device the
// machine has (lavapipe in CI, a real GPU such as an NVIDIA H100 elsewhere).
//
// It enables the Khronos validation layer (with synchronization validation)
// when it is installed, and a VK_EXT_debug_utils messenger that prints every
// warning and error and counts validation errors; a test fails when the count
// is not zero after the device and instance are destroyed (the layer reports
// leaked VkDeviceMemory at vkDestroyDevice). It turns on what the device
// offers of what the adapter can use: Vulkan up to 1.3, bufferDeviceAddress,
// VK_EXT_memory_budget, VK_EXT_memory_priority.
//
// Environment:
//   GPU_ALLOC_VK_REQUIRE_VALIDATION=1  fail when the validation layer is missing
//                                      (the ctest registrations set it)
//   GPU_ALLOC_VK_DEVICE=<text>         use the first device whose name contains it;
//                                      otherwise discrete > integrated > virtual > CPU
//
// The tests link the system loader (Vulkan::Vulkan) and call Vulkan through
// its prototypes; the adapter gets its entry points through
// gpu_alloc::vulkan::load_functions with the loader's vkGetInstanceProcAddr.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include <gpu_alloc/vulkan/adapter.hpp>

namespace gpu_alloc::vulkan_testing {

/// What to ask of the instance and device. Features the device lacks are left off.
struct ContextOptions {
    /// Enable VK_LAYER_KHRONOS_validation when installed (required when
    /// require_validation or GPU_ALLOC_VK_REQUIRE_VALIDATION=1).
    bool validation = true;
    bool require_validation = false;
    /// Synchronization validation as well (slower; catches missing barriers).
    bool synchronization_validation = true;
    /// Highest API version to ask for (lowered to what the loader and device offer).
    std::uint32_t api_version = VK_API_VERSION_1_3;
    bool buffer_device_address = true;
    bool memory_budget = true;
    bool memory_priority = true;
    /// Below Vulkan 1.1: enable VK_KHR_get_physical_device_properties2,
    /// VK_KHR_get_memory_requirements2 + VK_KHR_dedicated_allocation and
    /// VK_KHR_maintenance3 where offered (false: a bare 1.0 instance and device).
    bool khr_fallbacks = true;
};

/// Counts the validation errors of one context; outlives it so that the
/// errors reported while destroying the device and instance are counted too.
struct ValidationCounter {
    std::uint32_t errors = 0;
    std::uint32_t warnings = 0;
    std::vector<std::string> messages;  ///< the first 20 error messages
};

class VulkanContext {
public:
    /// Creates instance, debug messenger, device and one compute queue.
    /// Returns null and sets `error` when any step fails.
    static std::unique_ptr<VulkanContext> create(const ContextOptions& options, std::string& error);

    VulkanContext(const VulkanContext&) = delete;
    VulkanContext& operator=(const VulkanContext&) = delete;
    /// Destroys the device, the messenger and the instance (in that order).
    ~VulkanContext();

    /// What the adapter needs to know about the instance and device.
    const gpu_alloc::vulkan::VulkanDeviceInfo& info() const noexcept { return info_; }
    /// The adapter's entry points, loaded through the linked loader.
    const gpu_alloc::vulkan::VulkanFunctions& functions() const noexcept { return functions_; }

    VkInstance instance() const noexcept { return info_.instance; }
    VkPhysicalDevice physical_device() const noexcept { return info_.physical_device; }
    VkDevice device() const noexcept { return info_.device; }
    VkQueue queue() const noexcept { return queue_; }
    std::uint32_t queue_family() const noexcept { return queue_family_; }
    const std::string& device_name() const noexcept { return device_name_; }
    /// The API version of the instance and device (lower of asked, loader and device).
    std::uint32_t api_version() const noexcept { return api_version_; }
    bool validation_enabled() const noexcept { return validation_enabled_; }
    /// Shared with the messenger; read it after destroying the context.
    std::shared_ptr<const ValidationCounter> validation() const noexcept { return counter_; }

    /// Index of the first memory type in `type_bits` having all of `required`, or UINT32_MAX.
    std::uint32_t find_memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required) const noexcept;

private:
    VulkanContext() = default;

    gpu_alloc::vulkan::VulkanDeviceInfo info_{};
    gpu_alloc::vulkan::VulkanFunctions functions_{};
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    std::uint32_t queue_family_ = 0;
    std::uint32_t api_version_ = VK_API_VERSION_1_0;
    std::string device_name_;
    bool validation_enabled_ = false;
    std::shared_ptr<ValidationCounter> counter_ = std::make_shared<ValidationCounter>();
};

/// Text for a VkResult ("VK_ERROR_OUT_OF_DEVICE_MEMORY", or the number).
std::string to_string(VkResult result);

}  // namespace gpu_alloc::vulkan_testing
