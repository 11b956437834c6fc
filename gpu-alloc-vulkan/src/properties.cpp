// DeviceProperties from vkGetPhysicalDevice(Memory)Properties(2); see properties.hpp.
#include <gpu_alloc/vulkan/properties.hpp>

namespace gpu_alloc::vulkan {

namespace {

VkPhysicalDeviceMemoryProperties read_memory_properties(const VulkanFunctions& f, VkPhysicalDevice physical) noexcept {
    if (f.vkGetPhysicalDeviceMemoryProperties2 != nullptr) {
        VkPhysicalDeviceMemoryProperties2 props2{};
        props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
        f.vkGetPhysicalDeviceMemoryProperties2(physical, &props2);
        return props2.memoryProperties;
    }
    VkPhysicalDeviceMemoryProperties props{};
    f.vkGetPhysicalDeviceMemoryProperties(physical, &props);
    return props;
}

}  // namespace

DeviceProperties device_properties(const VulkanFunctions& f, const VulkanDeviceInfo& info) noexcept {
    VkPhysicalDeviceMemoryProperties memory = read_memory_properties(f, info.physical_device);

    DeviceProperties out;
    out.memory_heaps.reserve(memory.memoryHeapCount);
    for (std::uint32_t i = 0; i < memory.memoryHeapCount; ++i)
        out.memory_heaps.push_back({memory.memoryHeaps[i].size, to_memory_heap_flags(memory.memoryHeaps[i].flags)});
    out.memory_types.reserve(memory.memoryTypeCount);
    for (std::uint32_t i = 0; i < memory.memoryTypeCount; ++i)
        out.memory_types.push_back(
            {memory.memoryTypes[i].heapIndex, to_memory_property_flags(memory.memoryTypes[i].propertyFlags)});

    VkPhysicalDeviceProperties props{};
    bool has_maintenance3 = f.vkGetPhysicalDeviceProperties2 != nullptr &&
                            (effective_api_version(f, info) >= VK_API_VERSION_1_1 || info.maintenance3);
    VkPhysicalDeviceMaintenance3Properties maintenance3{};
    maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
    if (has_maintenance3) {
        VkPhysicalDeviceProperties2 props2{};
        props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        props2.pNext = &maintenance3;
        f.vkGetPhysicalDeviceProperties2(info.physical_device, &props2);
        props = props2.properties;
    } else {
        f.vkGetPhysicalDeviceProperties(info.physical_device, &props);
    }

    out.max_memory_allocation_count = props.limits.maxMemoryAllocationCount;
    out.non_coherent_atom_size = props.limits.nonCoherentAtomSize;
    out.buffer_image_granularity = props.limits.bufferImageGranularity;
    if (has_maintenance3 && maintenance3.maxMemoryAllocationSize > 0) {
        out.max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;
    } else {
        std::uint64_t largest = 0;
        for (const MemoryHeap& heap : out.memory_heaps) largest = heap.size > largest ? heap.size : largest;
        out.max_memory_allocation_size = largest;
    }
    out.buffer_device_address = info.buffer_device_address;
    return out;
}

std::uint32_t usable_memory_types(const VulkanFunctions& f, const VulkanDeviceInfo& info) noexcept {
    VkPhysicalDeviceMemoryProperties memory = read_memory_properties(f, info.physical_device);
    VkMemoryPropertyFlags needs_feature = 0;
    if (!info.device_coherent_memory)
        needs_feature |= VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD;
    if (!info.protected_memory) needs_feature |= VK_MEMORY_PROPERTY_PROTECTED_BIT;
    std::uint32_t mask = 0;
    for (std::uint32_t i = 0; i < memory.memoryTypeCount; ++i)
        if ((memory.memoryTypes[i].propertyFlags & needs_feature) == 0) mask |= 1u << i;
    return mask;
}

}  // namespace gpu_alloc::vulkan
