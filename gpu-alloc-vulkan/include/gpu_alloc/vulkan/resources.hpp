// Buffers and images in one call: create the Vulkan object, read its memory
// requirements (vkGet*MemoryRequirements2 with VkMemoryDedicatedRequirements,
// so that the driver's prefersDedicated / requiresDedicated are honoured),
// allocate from a GpuAllocator, and bind; and destroy + free in one call, in
// that order (the object before its memory).
//
// THE ONE ADAPTER FILE THAT INCLUDES THE ALLOCATOR CORE. It belongs to the
// header-only target gpu_alloc::vulkan_helpers (gpu_alloc::vulkan +
// gpu_alloc::core), not to gpu_alloc::vulkan, whose headers and sources include
// gpu_alloc/types and gpu_alloc/vulkan only (the design's adapter rule; a ctest
// check, vulkan_adapter_includes_types_only, keeps it so). It lives under
// include/gpu_alloc/vulkan/ so that users find it beside the adapter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <vulkan/vulkan_core.h>

#include <gpu_alloc/allocation_error.hpp>
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/memory_block.hpp>
#include <gpu_alloc/request.hpp>
#include <gpu_alloc/vulkan/memory_device.hpp>

namespace gpu_alloc::vulkan {

/// The allocator over Vulkan memory objects.
using VulkanAllocator = GpuAllocator<VkDeviceMemory>;
/// A block of Vulkan memory handed out by VulkanAllocator.
using VulkanBlock = MemoryBlock<VkDeviceMemory>;

/// What the caller wants of a resource's memory; the rest of the Request
/// (size, alignment, type mask, dedicated hints) comes from the driver.
struct ResourceMemoryInfo {
    /// How the memory will be used; picks the memory type.
    UsageFlags usage = UsageFlags::fast_device_access;
    /// At least this; the driver's prefersDedicated / requiresDedicated raise it.
    DedicatedHint dedicated = DedicatedHint::none;
    /// Further restricts the driver's memoryTypeBits (bit i: memory type i).
    std::uint32_t memory_types = ~0u;
    /// 0.0 to 1.0, for VK_EXT_memory_priority.
    float priority = 0.5f;
    /// Shown in the allocator's dumps when block tracking is on.
    std::string_view name{};
};

/// The step of create_buffer / create_image that failed.
enum class ResourceStep : std::uint8_t {
    create,    ///< vkCreateBuffer / vkCreateImage
    allocate,  ///< GpuAllocator::allocate
    bind,      ///< vkBindBufferMemory / vkBindImageMemory
};

/// Why create_buffer / create_image failed. Nothing is left behind.
struct ResourceError {
    ResourceStep step = ResourceStep::create;
    /// The VkResult of vkCreate* or vkBind*Memory (VK_SUCCESS for allocate).
    VkResult result = VK_SUCCESS;
    /// Why the allocator refused (meaningful for ResourceStep::allocate).
    AllocationError allocation{};
};

/// "allocate: out of device memory", "create: VkResult -2", ...
inline std::string to_string(const ResourceError& e) {
    switch (e.step) {
        case ResourceStep::create: return "create: VkResult " + std::to_string(static_cast<int>(e.result));
        case ResourceStep::allocate: return std::string("allocate: ").append(gpu_alloc::to_string(e.allocation));
        case ResourceStep::bind: return "bind: VkResult " + std::to_string(static_cast<int>(e.result));
    }
    return "unknown ResourceError";
}

/// A buffer and the block bound to it. Give it back with destroy_buffer.
struct BufferAllocation {
    VkBuffer buffer = VK_NULL_HANDLE;  ///< bound to block.memory() at block.offset()
    VulkanBlock block;                 ///< the memory; give it back only through destroy_buffer
};

/// An image and the block bound to it. Give it back with destroy_image.
struct ImageAllocation {
    VkImage image = VK_NULL_HANDLE;  ///< bound to block.memory() at block.offset()
    VulkanBlock block;               ///< the memory; give it back only through destroy_image
};

namespace detail {

inline DedicatedHint stronger(DedicatedHint a, DedicatedHint b) noexcept {
    return static_cast<std::uint8_t>(a) > static_cast<std::uint8_t>(b) ? a : b;
}

// Fills the request from VkMemoryRequirements (+ dedicated requirements when
// read), limited to the `usable` memory types.
inline Request request_from(std::uint32_t usable, const VkMemoryRequirements& reqs,
                            const VkMemoryDedicatedRequirements* dedicated, const ResourceMemoryInfo& info) {
    Request r;
    r.size = reqs.size;
    r.alignment = reqs.alignment;
    r.memory_types = reqs.memoryTypeBits & usable & info.memory_types;
    r.usage = info.usage;
    r.dedicated = info.dedicated;
    if (dedicated != nullptr) {
        if (dedicated->requiresDedicatedAllocation) r.dedicated = DedicatedHint::required;
        else if (dedicated->prefersDedicatedAllocation) r.dedicated = stronger(r.dedicated, DedicatedHint::preferred);
    }
    r.priority = info.priority;
    r.name = info.name;
    return r;
}

}  // namespace detail

/// The Request for an existing buffer created with `usage`: its requirements
/// (through vkGetBufferMemoryRequirements2 when the device has dedicated
/// allocation), UsageFlags::device_address added when `usage` has
/// SHADER_DEVICE_ADDRESS_BIT, the type mask limited to usable types, and the
/// buffer named for a dedicated allocation.
/// Requires: `buffer` created on device.device() and not bound yet.
inline Request buffer_request(const VulkanMemoryDevice& device, VkBuffer buffer, VkBufferUsageFlags usage,
                              const ResourceMemoryInfo& info = {}) {
    const VulkanFunctions& f = device.functions();
    Request r;
    if (device.dedicated_allocation() && f.vkGetBufferMemoryRequirements2 != nullptr) {
        VkBufferMemoryRequirementsInfo2 query{};
        query.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2;
        query.buffer = buffer;
        VkMemoryDedicatedRequirements dedicated{};
        dedicated.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS;
        VkMemoryRequirements2 reqs{};
        reqs.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
        reqs.pNext = &dedicated;
        f.vkGetBufferMemoryRequirements2(device.device(), &query, &reqs);
        r = detail::request_from(device.usable_memory_types(), reqs.memoryRequirements, &dedicated, info);
        r.dedicated_resource = dedicated_buffer(buffer);
    } else {
        VkMemoryRequirements reqs{};
        f.vkGetBufferMemoryRequirements(device.device(), buffer, &reqs);
        r = detail::request_from(device.usable_memory_types(), reqs, nullptr, info);
    }
    if ((usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT) != 0) r.usage |= UsageFlags::device_address;
    r.kind = ResourceKind::linear;
    return r;
}

/// The Request for an existing image of `tiling`: as buffer_request, with
/// ResourceKind::optimal for optimal tiling, linear for linear tiling and
/// unknown otherwise (DRM format modifiers).
/// Requires: `image` created on device.device() and not bound yet.
inline Request image_request(const VulkanMemoryDevice& device, VkImage image, VkImageTiling tiling,
                             const ResourceMemoryInfo& info = {}) {
    const VulkanFunctions& f = device.functions();
    Request r;
    if (device.dedicated_allocation() && f.vkGetImageMemoryRequirements2 != nullptr) {
        VkImageMemoryRequirementsInfo2 query{};
        query.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
        query.image = image;
        VkMemoryDedicatedRequirements dedicated{};
        dedicated.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS;
        VkMemoryRequirements2 reqs{};
        reqs.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
        reqs.pNext = &dedicated;
        f.vkGetImageMemoryRequirements2(device.device(), &query, &reqs);
        r = detail::request_from(device.usable_memory_types(), reqs.memoryRequirements, &dedicated, info);
        r.dedicated_resource = dedicated_image(image);
    } else {
        VkMemoryRequirements reqs{};
        f.vkGetImageMemoryRequirements(device.device(), image, &reqs);
        r = detail::request_from(device.usable_memory_types(), reqs, nullptr, info);
    }
    r.kind = tiling == VK_IMAGE_TILING_OPTIMAL  ? ResourceKind::optimal
             : tiling == VK_IMAGE_TILING_LINEAR ? ResourceKind::linear
                                                : ResourceKind::unknown;
    return r;
}

/// Creates a buffer, allocates its memory from `allocator` and binds it.
/// Requires: `allocator` built from device_properties() of the same device.
/// Returns: the buffer and its block (bound at block.offset()).
/// Errors: the failing step with its VkResult or AllocationError; nothing is left behind.
inline Result<BufferAllocation, ResourceError> create_buffer(VulkanAllocator& allocator, VulkanMemoryDevice& device,
                                                             const VkBufferCreateInfo& create_info,
                                                             const ResourceMemoryInfo& info = {}) {
    const VulkanFunctions& f = device.functions();
    const VkAllocationCallbacks* callbacks = device.info().allocation_callbacks;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkResult result = f.vkCreateBuffer(device.device(), &create_info, callbacks, &buffer);
    if (result != VK_SUCCESS) return unexpected(ResourceError{ResourceStep::create, result, {}});

    auto block = allocator.allocate(device, buffer_request(device, buffer, create_info.usage, info));
    if (!block) {
        f.vkDestroyBuffer(device.device(), buffer, callbacks);
        return unexpected(ResourceError{ResourceStep::allocate, VK_SUCCESS, block.error()});
    }
    result = f.vkBindBufferMemory(device.device(), buffer, block->memory(), block->offset());
    if (result != VK_SUCCESS) {
        f.vkDestroyBuffer(device.device(), buffer, callbacks);
        allocator.deallocate(device, std::move(*block));
        return unexpected(ResourceError{ResourceStep::bind, result, {}});
    }
    return BufferAllocation{buffer, std::move(*block)};
}

/// Destroys the buffer, then gives its block back. Leaves `buffer` empty.
/// Requires: created by create_buffer with this allocator and device; no
/// longer in use by the device.
inline void destroy_buffer(VulkanAllocator& allocator, VulkanMemoryDevice& device, BufferAllocation&& buffer) {
    if (buffer.buffer != VK_NULL_HANDLE)
        device.functions().vkDestroyBuffer(device.device(), buffer.buffer, device.info().allocation_callbacks);
    buffer.buffer = VK_NULL_HANDLE;
    if (buffer.block) allocator.deallocate(device, std::move(buffer.block));
}

/// Creates an image, allocates its memory from `allocator` and binds it; as create_buffer.
inline Result<ImageAllocation, ResourceError> create_image(VulkanAllocator& allocator, VulkanMemoryDevice& device,
                                                           const VkImageCreateInfo& create_info,
                                                           const ResourceMemoryInfo& info = {}) {
    const VulkanFunctions& f = device.functions();
    const VkAllocationCallbacks* callbacks = device.info().allocation_callbacks;
    VkImage image = VK_NULL_HANDLE;
    VkResult result = f.vkCreateImage(device.device(), &create_info, callbacks, &image);
    if (result != VK_SUCCESS) return unexpected(ResourceError{ResourceStep::create, result, {}});

    auto block = allocator.allocate(device, image_request(device, image, create_info.tiling, info));
    if (!block) {
        f.vkDestroyImage(device.device(), image, callbacks);
        return unexpected(ResourceError{ResourceStep::allocate, VK_SUCCESS, block.error()});
    }
    result = f.vkBindImageMemory(device.device(), image, block->memory(), block->offset());
    if (result != VK_SUCCESS) {
        f.vkDestroyImage(device.device(), image, callbacks);
        allocator.deallocate(device, std::move(*block));
        return unexpected(ResourceError{ResourceStep::bind, result, {}});
    }
    return ImageAllocation{image, std::move(*block)};
}

/// Destroys the image, then gives its block back; as destroy_buffer.
inline void destroy_image(VulkanAllocator& allocator, VulkanMemoryDevice& device, ImageAllocation&& image) {
    if (image.image != VK_NULL_HANDLE)
        device.functions().vkDestroyImage(device.device(), image.image, device.info().allocation_callbacks);
    image.image = VK_NULL_HANDLE;
    if (image.block) allocator.deallocate(device, std::move(image.block));
}

}  // namespace gpu_alloc::vulkan
