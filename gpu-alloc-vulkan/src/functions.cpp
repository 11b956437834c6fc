// Filling the VulkanFunctions table from vkGetInstanceProcAddr /
// vkGetDeviceProcAddr, choosing core or KHR names for the `2` queries by the
// API version and extensions the application reports.
#include <gpu_alloc/vulkan/functions.hpp>

namespace gpu_alloc::vulkan {

namespace {

// Strips patch and variant: the adapter compares major.minor only.
std::uint32_t major_minor(std::uint32_t version) noexcept {
    return VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version), 0);
}

template <class Pfn>
void load_instance(Pfn& out, PFN_vkGetInstanceProcAddr gipa, VkInstance instance, const char* name) noexcept {
    out = reinterpret_cast<Pfn>(gipa(instance, name));
}

template <class Pfn>
void load_device(Pfn& out, PFN_vkGetDeviceProcAddr gdpa, VkDevice device, const char* name) noexcept {
    out = reinterpret_cast<Pfn>(gdpa(device, name));
}

}  // namespace

const char* find_missing_function(const VulkanFunctions& f) noexcept {
#define GPU_ALLOC_VK_REQUIRE(name) \
    if (f.name == nullptr) return #name
    GPU_ALLOC_VK_REQUIRE(vkGetPhysicalDeviceProperties);
    GPU_ALLOC_VK_REQUIRE(vkGetPhysicalDeviceMemoryProperties);
    GPU_ALLOC_VK_REQUIRE(vkAllocateMemory);
    GPU_ALLOC_VK_REQUIRE(vkFreeMemory);
    GPU_ALLOC_VK_REQUIRE(vkMapMemory);
    GPU_ALLOC_VK_REQUIRE(vkUnmapMemory);
    GPU_ALLOC_VK_REQUIRE(vkFlushMappedMemoryRanges);
    GPU_ALLOC_VK_REQUIRE(vkInvalidateMappedMemoryRanges);
    GPU_ALLOC_VK_REQUIRE(vkCreateBuffer);
    GPU_ALLOC_VK_REQUIRE(vkDestroyBuffer);
    GPU_ALLOC_VK_REQUIRE(vkCreateImage);
    GPU_ALLOC_VK_REQUIRE(vkDestroyImage);
    GPU_ALLOC_VK_REQUIRE(vkBindBufferMemory);
    GPU_ALLOC_VK_REQUIRE(vkBindImageMemory);
    GPU_ALLOC_VK_REQUIRE(vkGetBufferMemoryRequirements);
    GPU_ALLOC_VK_REQUIRE(vkGetImageMemoryRequirements);
    GPU_ALLOC_VK_REQUIRE(vkCmdPipelineBarrier);
    GPU_ALLOC_VK_REQUIRE(vkCmdCopyBuffer);
#undef GPU_ALLOC_VK_REQUIRE
    return nullptr;
}

std::uint32_t effective_api_version(const VulkanFunctions& functions, const VulkanDeviceInfo& info) noexcept {
    VkPhysicalDeviceProperties props{};
    functions.vkGetPhysicalDeviceProperties(info.physical_device, &props);
    std::uint32_t instance = major_minor(info.api_version);
    std::uint32_t device = major_minor(props.apiVersion);
    return instance < device ? instance : device;
}

Result<VulkanFunctions, MissingFunction> load_functions(const VulkanDeviceInfo& info,
                                                        PFN_vkGetInstanceProcAddr gipa,
                                                        PFN_vkGetDeviceProcAddr gdpa) noexcept {
    if (gipa == nullptr) return unexpected(MissingFunction{"vkGetInstanceProcAddr"});
    VulkanFunctions f;
    f.vkGetInstanceProcAddr = gipa;
    if (gdpa == nullptr) load_instance(gdpa, gipa, info.instance, "vkGetDeviceProcAddr");
    if (gdpa == nullptr) return unexpected(MissingFunction{"vkGetDeviceProcAddr"});
    f.vkGetDeviceProcAddr = gdpa;

    VkInstance instance = info.instance;
    load_instance(f.vkGetPhysicalDeviceProperties, gipa, instance, "vkGetPhysicalDeviceProperties");
    load_instance(f.vkGetPhysicalDeviceMemoryProperties, gipa, instance, "vkGetPhysicalDeviceMemoryProperties");

    VkDevice device = info.device;
    load_device(f.vkAllocateMemory, gdpa, device, "vkAllocateMemory");
    load_device(f.vkFreeMemory, gdpa, device, "vkFreeMemory");
    load_device(f.vkMapMemory, gdpa, device, "vkMapMemory");
    load_device(f.vkUnmapMemory, gdpa, device, "vkUnmapMemory");
    load_device(f.vkFlushMappedMemoryRanges, gdpa, device, "vkFlushMappedMemoryRanges");
    load_device(f.vkInvalidateMappedMemoryRanges, gdpa, device, "vkInvalidateMappedMemoryRanges");
    load_device(f.vkCreateBuffer, gdpa, device, "vkCreateBuffer");
    load_device(f.vkDestroyBuffer, gdpa, device, "vkDestroyBuffer");
    load_device(f.vkCreateImage, gdpa, device, "vkCreateImage");
    load_device(f.vkDestroyImage, gdpa, device, "vkDestroyImage");
    load_device(f.vkBindBufferMemory, gdpa, device, "vkBindBufferMemory");
    load_device(f.vkBindImageMemory, gdpa, device, "vkBindImageMemory");
    load_device(f.vkGetBufferMemoryRequirements, gdpa, device, "vkGetBufferMemoryRequirements");
    load_device(f.vkGetImageMemoryRequirements, gdpa, device, "vkGetImageMemoryRequirements");
    load_device(f.vkCmdPipelineBarrier, gdpa, device, "vkCmdPipelineBarrier");
    load_device(f.vkCmdCopyBuffer, gdpa, device, "vkCmdCopyBuffer");

    if (const char* missing = find_missing_function(f)) return unexpected(MissingFunction{missing});

    // The `2` queries: core names from 1.1, KHR names where the extension is on.
    bool core11 = effective_api_version(f, info) >= VK_API_VERSION_1_1;
    if (core11) {
        load_instance(f.vkGetPhysicalDeviceProperties2, gipa, instance, "vkGetPhysicalDeviceProperties2");
        load_instance(f.vkGetPhysicalDeviceMemoryProperties2, gipa, instance, "vkGetPhysicalDeviceMemoryProperties2");
        load_device(f.vkGetBufferMemoryRequirements2, gdpa, device, "vkGetBufferMemoryRequirements2");
        load_device(f.vkGetImageMemoryRequirements2, gdpa, device, "vkGetImageMemoryRequirements2");
    } else {
        if (info.get_physical_device_properties2) {
            load_instance(f.vkGetPhysicalDeviceProperties2, gipa, instance, "vkGetPhysicalDeviceProperties2KHR");
            load_instance(f.vkGetPhysicalDeviceMemoryProperties2, gipa, instance,
                          "vkGetPhysicalDeviceMemoryProperties2KHR");
        }
        if (info.dedicated_allocation) {
            load_device(f.vkGetBufferMemoryRequirements2, gdpa, device, "vkGetBufferMemoryRequirements2KHR");
            load_device(f.vkGetImageMemoryRequirements2, gdpa, device, "vkGetImageMemoryRequirements2KHR");
        }
    }
    return f;
}

}  // namespace gpu_alloc::vulkan
