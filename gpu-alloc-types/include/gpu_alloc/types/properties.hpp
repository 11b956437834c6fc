// What the allocator needs to know about a device's memory: the memory types,
// the heaps they draw from, and the limits that shape sub-allocation.
#pragma once

#include <cstdint>
#include <vector>

#include "flags.hpp"

namespace gpu_alloc {

/// Vulkan allows at most 32 memory types and 16 heaps; so does this contract.
inline constexpr std::uint32_t max_memory_types = 32;
inline constexpr std::uint32_t max_memory_heaps = 16;

/// A memory type: which heap it draws from and what its memory can do.
struct MemoryType {
    std::uint32_t heap = 0;  ///< index into DeviceProperties::memory_heaps
    MemoryPropertyFlags props = MemoryPropertyFlags::none;

    friend bool operator==(const MemoryType&, const MemoryType&) = default;
};

/// A memory heap: a pool of memory, e.g. VRAM or system RAM visible to the device.
struct MemoryHeap {
    std::uint64_t size = 0;  ///< bytes
    MemoryHeapFlags flags = MemoryHeapFlags::none;

    friend bool operator==(const MemoryHeap&, const MemoryHeap&) = default;
};

/// Memory-related properties of a device, filled by a backend adapter
/// (VkPhysicalDeviceMemoryProperties and limits, D3D12 heap tiers, Metal storage
/// modes) or by hand for tests.
struct DeviceProperties {
    /// At most max_memory_types; memory type i is bit i of a request's type mask.
    std::vector<MemoryType> memory_types;
    /// At most max_memory_heaps.
    std::vector<MemoryHeap> memory_heaps;
    /// How many device memory objects may be alive at once (maxMemoryAllocationCount).
    std::uint32_t max_memory_allocation_count = 4096;
    /// Largest single device memory object, bytes (maxMemoryAllocationSize).
    std::uint64_t max_memory_allocation_size = UINT64_MAX;
    /// Flushes and invalidates of non-coherent memory must be aligned to this, bytes.
    std::uint64_t non_coherent_atom_size = 64;
    /// Linear and optimal-tiling resources must not share a page of this size, bytes.
    std::uint64_t buffer_image_granularity = 1;
    /// Whether the device address feature is enabled (AllocationFlags::device_address is allowed).
    bool buffer_device_address = false;

    friend bool operator==(const DeviceProperties&, const DeviceProperties&) = default;
};

/// Whether `props` describes a device the allocator can work with: at least one
/// type and heap, within the limits above, every type's heap in range, the atom
/// size and granularity powers of two, non-zero counts.
inline bool is_valid(const DeviceProperties& props) noexcept {
    auto pow2 = [](std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
    if (props.memory_types.empty() || props.memory_types.size() > max_memory_types) return false;
    if (props.memory_heaps.empty() || props.memory_heaps.size() > max_memory_heaps) return false;
    for (const MemoryType& t : props.memory_types)
        if (t.heap >= props.memory_heaps.size()) return false;
    return props.max_memory_allocation_count > 0 && props.max_memory_allocation_size > 0 &&
           pow2(props.non_coherent_atom_size) && pow2(props.buffer_image_granularity);
}

}  // namespace gpu_alloc
