// What a caller asks the allocator for: size, alignment, the memory types the
// resource accepts, and how the memory will be used. Part of the contract, so
// that adapters and their helpers build requests without the core.
#pragma once

#include <cstdint>
#include <string_view>

#include "device.hpp"
#include "flags.hpp"

namespace gpu_alloc {

/// How the memory will be used; picks the memory type (see memory_type_selector.hpp).
/// The same meaning as the Rust gpu-alloc's UsageFlags.
enum class UsageFlags : std::uint32_t {
    none = 0,
    /// Accessed often by the device: prefer device-local memory.
    fast_device_access = 1u << 0,
    /// The host maps it: requires host-visible memory.
    host_access = 1u << 1,
    /// Host writes, device reads (staging, per-frame constants): implies host_access.
    upload = 1u << 2,
    /// Device writes, host reads (read-back): implies host_access, prefers cached memory.
    download = 1u << 3,
    /// Lives briefly (a frame): may use lazily allocated memory and the linear strategy.
    transient = 1u << 4,
    /// Its device address will be taken: the memory object needs AllocationFlags::device_address.
    device_address = 1u << 5,
};
template <>
struct EnableBitmaskOperators<UsageFlags> : std::true_type {};

/// Number of distinct UsageFlags combinations (the type selector caches one list per combination).
inline constexpr std::uint32_t usage_flag_combinations = 1u << 6;

/// True when the usage needs the host to map the memory.
constexpr bool needs_host_access(UsageFlags usage) noexcept {
    return intersects(usage, UsageFlags::host_access | UsageFlags::upload | UsageFlags::download);
}

inline std::string to_string(UsageFlags usage) {
    static constexpr const char* names[] = {"fast_device_access", "host_access", "upload",
                                            "download",           "transient",   "device_address"};
    return detail::flags_to_string(usage, names);
}

/// What kind of resource the memory is for. Linear resources (buffers, linear
/// images) and optimal-tiling images must not share a page of
/// DeviceProperties::buffer_image_granularity; the allocator keeps them apart.
enum class ResourceKind : std::uint8_t {
    linear,   ///< buffers and linear-tiling images
    optimal,  ///< optimal-tiling images
    unknown,  ///< treated like an image: given whole granularity pages
};

/// Whether the resource should get a device memory object of its own.
enum class DedicatedHint : std::uint8_t {
    none,       ///< the allocator decides (by size)
    preferred,  ///< the driver prefers it (VkMemoryDedicatedRequirements::prefersDedicatedAllocation)
    required,   ///< the driver requires it (requiresDedicatedAllocation, external memory)
};

/// One allocation request.
struct Request {
    /// Bytes, > 0 (VkMemoryRequirements::size).
    std::uint64_t size = 0;
    /// Bytes, a power of two (VkMemoryRequirements::alignment).
    std::uint64_t alignment = 1;
    /// Bit i set: memory type i is acceptable (VkMemoryRequirements::memoryTypeBits).
    std::uint32_t memory_types = ~0u;
    UsageFlags usage = UsageFlags::none;
    ResourceKind kind = ResourceKind::unknown;
    DedicatedHint dedicated = DedicatedHint::none;
    /// For a dedicated allocation, the resource it is for (passed to the device as
    /// VkMemoryDedicatedAllocateInfo); ignored for sub-allocations.
    DedicatedResource dedicated_resource{};
    /// 0.0 to 1.0, passed to the device for new memory objects (VK_EXT_memory_priority).
    float priority = 0.5f;
    /// Shown in statistics dumps when block tracking is on; not copied otherwise.
    std::string_view name{};
};

}  // namespace gpu_alloc
