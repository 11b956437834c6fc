// VulkanMemoryDevice: the MemoryDevice operations as Vulkan calls; see memory_device.hpp.
#include <gpu_alloc/vulkan/memory_device.hpp>

#include <algorithm>
#include <cassert>

#include <gpu_alloc/vulkan/properties.hpp>

namespace gpu_alloc::vulkan {

OutOfMemory to_out_of_memory(VkResult result) noexcept {
    return result == VK_ERROR_OUT_OF_HOST_MEMORY ? OutOfMemory::out_of_host_memory : OutOfMemory::out_of_device_memory;
}

DeviceMapError to_map_error(VkResult result) noexcept {
    switch (result) {
        case VK_ERROR_MEMORY_MAP_FAILED: return DeviceMapError::map_failed;
        case VK_ERROR_OUT_OF_HOST_MEMORY: return DeviceMapError::out_of_host_memory;
        default: return DeviceMapError::out_of_device_memory;
    }
}

VulkanMemoryDevice::VulkanMemoryDevice(const VulkanFunctions& functions, const VulkanDeviceInfo& info) noexcept
    : functions_(functions), info_(info) {
    assert(find_missing_function(functions) == nullptr);
    api_version_ = effective_api_version(functions_, info_);
    usable_memory_types_ = vulkan::usable_memory_types(functions_, info_);
    dedicated_allocation_ = api_version_ >= VK_API_VERSION_1_1 || info_.dedicated_allocation;
    memory_budget_ = info_.memory_budget && functions_.vkGetPhysicalDeviceMemoryProperties2 != nullptr;
}

Result<VkDeviceMemory, OutOfMemory> VulkanMemoryDevice::allocate_memory(const MemoryAllocateInfo& info) noexcept {
    assert(info.size > 0);
    assert(info.memory_type < VK_MAX_MEMORY_TYPES);
    assert(!contains(info.flags, AllocationFlags::device_address) || info_.buffer_device_address);

    VkMemoryAllocateInfo allocate{};
    allocate.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    allocate.allocationSize = info.size;
    allocate.memoryTypeIndex = info.memory_type;
    const void** next = &allocate.pNext;

    VkMemoryAllocateFlagsInfo flags{};
    if (contains(info.flags, AllocationFlags::device_address)) {
        flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
        flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
        *next = &flags;
        next = &flags.pNext;
    }
    VkMemoryDedicatedAllocateInfo dedicated{};
    if (info.dedicated.kind != DedicatedResourceKind::none && dedicated_allocation_) {
        dedicated.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO;
        if (info.dedicated.kind == DedicatedResourceKind::buffer)
            dedicated.buffer = handle_from_bits<VkBuffer>(info.dedicated.handle);
        else
            dedicated.image = handle_from_bits<VkImage>(info.dedicated.handle);
        *next = &dedicated;
        next = &dedicated.pNext;
    }
    VkMemoryPriorityAllocateInfoEXT priority{};
    if (info_.memory_priority) {
        priority.sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT;
        priority.priority = std::clamp(info.priority, 0.0f, 1.0f);
        *next = &priority;
        next = &priority.pNext;
    }

    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkResult result = functions_.vkAllocateMemory(info_.device, &allocate, info_.allocation_callbacks, &memory);
    if (result != VK_SUCCESS) return unexpected(to_out_of_memory(result));
    live_objects_.fetch_add(1, std::memory_order_relaxed);
    total_objects_.fetch_add(1, std::memory_order_relaxed);
    return memory;
}

void VulkanMemoryDevice::deallocate_memory(VkDeviceMemory memory) noexcept {
    assert(memory != VK_NULL_HANDLE);
    functions_.vkFreeMemory(info_.device, memory, info_.allocation_callbacks);
    live_objects_.fetch_sub(1, std::memory_order_relaxed);
}

Result<std::byte*, DeviceMapError> VulkanMemoryDevice::map_memory(const VkDeviceMemory& memory, std::uint64_t offset,
                                                                  std::uint64_t size) noexcept {
    void* data = nullptr;
    VkResult result = functions_.vkMapMemory(info_.device, memory, offset, size, 0, &data);
    if (result != VK_SUCCESS) return unexpected(to_map_error(result));
    return static_cast<std::byte*>(data);
}

void VulkanMemoryDevice::unmap_memory(const VkDeviceMemory& memory) noexcept {
    functions_.vkUnmapMemory(info_.device, memory);
}

Result<void, OutOfMemory> VulkanMemoryDevice::flush_memory_ranges(
    std::span<const MappedMemoryRange<VkDeviceMemory>> ranges) noexcept {
    return apply_ranges(functions_.vkFlushMappedMemoryRanges, ranges);
}

Result<void, OutOfMemory> VulkanMemoryDevice::invalidate_memory_ranges(
    std::span<const MappedMemoryRange<VkDeviceMemory>> ranges) noexcept {
    return apply_ranges(functions_.vkInvalidateMappedMemoryRanges, ranges);
}

Result<void, OutOfMemory> VulkanMemoryDevice::apply_ranges(
    PFN_vkFlushMappedMemoryRanges call, std::span<const MappedMemoryRange<VkDeviceMemory>> ranges) noexcept {
    // Batches on the stack: flushes are on the per-frame path, so no host allocation.
    constexpr std::size_t batch = 32;
    VkMappedMemoryRange vk_ranges[batch];
    for (std::size_t start = 0; start < ranges.size(); start += batch) {
        std::size_t count = std::min(batch, ranges.size() - start);
        for (std::size_t i = 0; i < count; ++i) {
            const MappedMemoryRange<VkDeviceMemory>& range = ranges[start + i];
            vk_ranges[i] = {};
            vk_ranges[i].sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
            vk_ranges[i].memory = *range.memory;
            vk_ranges[i].offset = range.offset;
            vk_ranges[i].size = range.size;
        }
        VkResult result = call(info_.device, static_cast<std::uint32_t>(count), vk_ranges);
        if (result != VK_SUCCESS) return unexpected(to_out_of_memory(result));
    }
    return {};
}

bool VulkanMemoryDevice::query_budget(std::span<HeapBudget> heaps) noexcept {
    if (!memory_budget_) return false;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
    budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
    VkPhysicalDeviceMemoryProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
    props.pNext = &budget;
    functions_.vkGetPhysicalDeviceMemoryProperties2(info_.physical_device, &props);
    std::size_t count = std::min<std::size_t>(heaps.size(), props.memoryProperties.memoryHeapCount);
    for (std::size_t i = 0; i < count; ++i) heaps[i] = {budget.heapBudget[i], budget.heapUsage[i]};
    return true;
}

}  // namespace gpu_alloc::vulkan
