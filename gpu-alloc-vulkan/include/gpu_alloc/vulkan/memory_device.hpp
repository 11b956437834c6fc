// VulkanMemoryDevice: the MemoryDevice contract (gpu_alloc/types/device.hpp)
// over a VkDevice, with VkDeviceMemory as the memory handle.
//
// Each contract operation is one Vulkan call: vkAllocateMemory (with
// VkMemoryAllocateFlagsInfo for device addresses, VkMemoryDedicatedAllocateInfo
// when the request names its buffer or image, VkMemoryPriorityAllocateInfoEXT
// when VK_EXT_memory_priority is enabled), vkFreeMemory, vkMapMemory,
// vkUnmapMemory, vkFlushMappedMemoryRanges and vkInvalidateMappedMemoryRanges.
// The heap budget comes from VK_EXT_memory_budget when it is enabled.
//
// Thread safety: as the contract asks, calls on different memory objects may
// run at once (Vulkan synchronizes only per VkDeviceMemory); the live-object
// counters are atomic. Nothing here allocates host memory.
//
// This header depends on gpu_alloc::types and the Vulkan headers only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <vulkan/vulkan_core.h>

#include <gpu_alloc/types/device.hpp>
#include <gpu_alloc/types/errors.hpp>
#include <gpu_alloc/types/result.hpp>
#include <gpu_alloc/vulkan/functions.hpp>

namespace gpu_alloc::vulkan {

/// The bits of a Vulkan non-dispatchable handle (a pointer on 64-bit targets,
/// a uint64_t on 32-bit ones), for DedicatedResource::handle.
template <class Handle>
std::uint64_t handle_bits(Handle handle) noexcept {
    if constexpr (std::is_pointer_v<Handle>) return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(handle));
    else return static_cast<std::uint64_t>(handle);
}

/// The handle whose bits handle_bits returned.
template <class Handle>
Handle handle_from_bits(std::uint64_t bits) noexcept {
    if constexpr (std::is_pointer_v<Handle>) return reinterpret_cast<Handle>(static_cast<std::uintptr_t>(bits));
    else return static_cast<Handle>(bits);
}

/// The DedicatedResource naming `buffer`, for MemoryAllocateInfo::dedicated.
inline DedicatedResource dedicated_buffer(VkBuffer buffer) noexcept {
    return {DedicatedResourceKind::buffer, handle_bits(buffer)};
}

/// The DedicatedResource naming `image`, for MemoryAllocateInfo::dedicated.
inline DedicatedResource dedicated_image(VkImage image) noexcept {
    return {DedicatedResourceKind::image, handle_bits(image)};
}

/// OutOfMemory for a failed vkAllocateMemory: VK_ERROR_OUT_OF_HOST_MEMORY maps
/// to out_of_host_memory, every other failure to out_of_device_memory.
OutOfMemory to_out_of_memory(VkResult result) noexcept;

/// DeviceMapError for a failed vkMapMemory: VK_ERROR_MEMORY_MAP_FAILED maps to
/// map_failed, VK_ERROR_OUT_OF_HOST_MEMORY to out_of_host_memory, the rest to
/// out_of_device_memory.
DeviceMapError to_map_error(VkResult result) noexcept;

/// MemoryDevice over a VkDevice. Holds no Vulkan object of its own; the
/// VkDevice must outlive it and every memory object it created.
class VulkanMemoryDevice {
public:
    /// The contract's memory handle: a VkDeviceMemory.
    using Memory = VkDeviceMemory;

    /// Wraps `info.device`.
    /// Requires: find_missing_function(functions) == nullptr; `info` describes
    /// the instance and device as created (see VulkanDeviceInfo).
    VulkanMemoryDevice(const VulkanFunctions& functions, const VulkanDeviceInfo& info) noexcept;

    VulkanMemoryDevice(const VulkanMemoryDevice&) = delete;
    VulkanMemoryDevice& operator=(const VulkanMemoryDevice&) = delete;

    /// vkAllocateMemory of info.size bytes from type info.memory_type.
    /// Chains VkMemoryAllocateFlagsInfo (DEVICE_ADDRESS_BIT) when info.flags has
    /// device_address, VkMemoryDedicatedAllocateInfo when info.dedicated names a
    /// buffer or image and dedicated allocation is available (ignored
    /// otherwise), VkMemoryPriorityAllocateInfoEXT with info.priority when
    /// VK_EXT_memory_priority is enabled.
    /// Requires: the MemoryDevice preconditions (device.hpp); device_address
    /// only with VulkanDeviceInfo::buffer_device_address.
    /// Errors: out_of_host_memory / out_of_device_memory from the driver.
    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info) noexcept;

    /// vkFreeMemory. Requires: created here, unmapped, no longer used by the device.
    void deallocate_memory(Memory memory) noexcept;

    /// vkMapMemory of [offset, offset + size); returns the host address of `offset`.
    /// Requires: a host-visible type, not mapped yet, offset + size <= the object's size.
    /// Errors: map_failed, out_of_host_memory, out_of_device_memory.
    Result<std::byte*, DeviceMapError> map_memory(const Memory& memory, std::uint64_t offset,
                                                  std::uint64_t size) noexcept;

    /// vkUnmapMemory. Requires: mapped.
    void unmap_memory(const Memory& memory) noexcept;

    /// vkFlushMappedMemoryRanges over `ranges` (in batches of 32, no host allocation).
    /// Requires: the contract's range rules (atom-aligned, inside the mapping).
    /// Errors: out of host / device memory as the driver reports it.
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) noexcept;

    /// vkInvalidateMappedMemoryRanges over `ranges`; as flush_memory_ranges.
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) noexcept;

    /// Fills heaps[i] with VK_EXT_memory_budget's heapBudget and heapUsage for
    /// each heap i < min(heaps.size(), heap count) and returns true; returns
    /// false when the extension is not enabled (the allocator then uses a
    /// fraction of each heap's size).
    bool query_budget(std::span<HeapBudget> heaps) noexcept;

    /// Mask of the memory types the allocator may use here: every type, less
    /// those that need a feature that is not enabled (DEVICE_COHERENT_BIT_AMD
    /// without deviceCoherentMemory, PROTECTED_BIT without protectedMemory).
    /// AND it into Request::memory_types (the convenience helpers do).
    std::uint32_t usable_memory_types() const noexcept { return usable_memory_types_; }

    /// Memory objects this device created and has not freed yet.
    std::uint64_t live_memory_objects() const noexcept { return live_objects_.load(std::memory_order_relaxed); }
    /// vkAllocateMemory calls that succeeded over this device's lifetime.
    std::uint64_t total_memory_objects() const noexcept { return total_objects_.load(std::memory_order_relaxed); }

    /// The wrapped device (VulkanDeviceInfo::device).
    VkDevice device() const noexcept { return info_.device; }
    /// Its physical device (VulkanDeviceInfo::physical_device).
    VkPhysicalDevice physical_device() const noexcept { return info_.physical_device; }
    /// The entry points every call goes through (the helpers use them too).
    const VulkanFunctions& functions() const noexcept { return functions_; }
    /// What the application reported at construction.
    const VulkanDeviceInfo& info() const noexcept { return info_; }
    /// The version the adapter works at (effective_api_version).
    std::uint32_t api_version() const noexcept { return api_version_; }
    /// Whether VkMemoryDedicatedAllocateInfo and vkGet*MemoryRequirements2 are
    /// used (Vulkan 1.1, or VK_KHR_dedicated_allocation with the functions loaded).
    bool dedicated_allocation() const noexcept { return dedicated_allocation_; }
    /// Whether the heap budget comes from VK_EXT_memory_budget.
    bool memory_budget() const noexcept { return memory_budget_; }

private:
    Result<void, OutOfMemory> apply_ranges(PFN_vkFlushMappedMemoryRanges call,
                                           std::span<const MappedMemoryRange<Memory>> ranges) noexcept;

    VulkanFunctions functions_;
    VulkanDeviceInfo info_;
    std::uint32_t api_version_ = VK_API_VERSION_1_0;
    std::uint32_t usable_memory_types_ = 0;
    bool dedicated_allocation_ = false;
    bool memory_budget_ = false;
    std::atomic<std::uint64_t> live_objects_{0};
    std::atomic<std::uint64_t> total_objects_{0};
};

static_assert(MemoryDeviceWithBudget<VulkanMemoryDevice>);

}  // namespace gpu_alloc::vulkan
