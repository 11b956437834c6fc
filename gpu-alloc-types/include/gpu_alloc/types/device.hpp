// MemoryDevice: the one interface between the allocator and a graphics API.
//
// A backend (Vulkan, D3D12, Metal, a mock, your own) implements it as a plain
// class; the allocator is generic over it and calls it only to create, destroy,
// map and flush device memory objects. The allocator never calls two of these
// operations on the same memory object at the same time; calls on different
// objects may come from different threads at once, so an implementation must be
// safe for that (Vulkan, D3D12 and Metal are).
//
// The operations, each with its preconditions (like the `# Safety` sections of
// the Rust gpu-alloc's MemoryDevice trait):
//
//   using Memory = ...;   // the memory object handle (VkDeviceMemory, ID3D12Heap*):
//                         // copyable, cheap, compared with ==.
//
//   Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info);
//       Creates a memory object of info.size bytes from memory type info.memory_type.
//       Requires: info.size > 0 and <= max_memory_allocation_size;
//       info.memory_type < memory_types.size(); fewer than
//       max_memory_allocation_count objects alive; device_address only if the
//       device has buffer_device_address. Errors: out of device / host memory.
//
//   void deallocate_memory(Memory memory);
//       Destroys an object this device created. Requires: not mapped, not used by
//       the device any more, not already deallocated.
//
//   Result<std::byte*, DeviceMapError> map_memory(const Memory& memory,
//                                                 std::uint64_t offset, std::uint64_t size);
//       Maps [offset, offset + size) for host access; returns the host address of
//       `offset`. Requires: the type is host_visible; the object is not mapped;
//       size > 0 and offset + size <= object size. Errors: out of memory, map failed.
//
//   void unmap_memory(const Memory& memory);
//       Requires: the object is mapped.
//
//   Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>>);
//   Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>>);
//       Make host writes visible to the device / device writes visible to the host
//       on non-coherent memory. Requires: each object mapped; each range inside
//       the mapped range of its object; offset a multiple of non_coherent_atom_size and size a
//       multiple of it or reaching the end of the object.
//
// Optional: a device that can report the budget of its heaps (VK_EXT_memory_budget,
// DXGI QueryVideoMemoryInfo, Metal's recommendedMaxWorkingSetSize) also provides
//
//   bool query_budget(std::span<HeapBudget> heaps);
//       Fills one entry per heap and returns true, or returns false when the
//       budget is unknown right now. The allocator detects it at compile time
//       (MemoryDeviceWithBudget) and otherwise uses a fraction of the heap size.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "errors.hpp"
#include "flags.hpp"
#include "result.hpp"

namespace gpu_alloc {

/// A range of a mapped memory object, for flush and invalidate.
template <class Memory>
struct MappedMemoryRange {
    const Memory* memory = nullptr;
    std::uint64_t offset = 0;  ///< bytes from the start of the memory object
    std::uint64_t size = 0;    ///< bytes
};

/// What a dedicated allocation is for (VkMemoryDedicatedAllocateInfo). Backends
/// that have no such notion ignore it.
enum class DedicatedResourceKind : std::uint8_t { none, buffer, image };

/// A backend resource handle (VkBuffer, VkImage, ...) passed through as bits.
struct DedicatedResource {
    DedicatedResourceKind kind = DedicatedResourceKind::none;
    std::uint64_t handle = 0;
};

/// Everything MemoryDevice::allocate_memory needs. A struct rather than a list of
/// arguments so that the contract can grow without breaking implementations.
struct MemoryAllocateInfo {
    std::uint64_t size = 0;         ///< bytes, > 0
    std::uint32_t memory_type = 0;  ///< index into DeviceProperties::memory_types
    AllocationFlags flags = AllocationFlags::none;
    /// The one resource this object will hold, for a dedicated allocation.
    DedicatedResource dedicated{};
    /// 0.0 (lowest) to 1.0 (highest), for VK_EXT_memory_priority; 0.5 is normal.
    float priority = 0.5f;
};

/// Budget and usage of one heap, bytes, as the backend reports them.
struct HeapBudget {
    std::uint64_t budget = 0;  ///< how much this process may use before trouble
    std::uint64_t usage = 0;   ///< how much this process uses now (all allocators)
};

/// The interface a backend implements; see the comment at the top of this file.
template <class D>
concept MemoryDevice =
    std::copyable<typename D::Memory> && std::equality_comparable<typename D::Memory> &&
    requires(D& device, typename D::Memory memory, const typename D::Memory& cmemory,
             const MemoryAllocateInfo& info, std::uint64_t offset, std::uint64_t size,
             std::span<const MappedMemoryRange<typename D::Memory>> ranges) {
        { device.allocate_memory(info) } -> std::same_as<Result<typename D::Memory, OutOfMemory>>;
        { device.deallocate_memory(memory) } -> std::same_as<void>;
        { device.map_memory(cmemory, offset, size) } -> std::same_as<Result<std::byte*, DeviceMapError>>;
        { device.unmap_memory(cmemory) } -> std::same_as<void>;
        { device.flush_memory_ranges(ranges) } -> std::same_as<Result<void, OutOfMemory>>;
        { device.invalidate_memory_ranges(ranges) } -> std::same_as<Result<void, OutOfMemory>>;
    };

/// A MemoryDevice that can also report heap budgets.
template <class D>
concept MemoryDeviceWithBudget = MemoryDevice<D> && requires(D& device, std::span<HeapBudget> heaps) {
    { device.query_budget(heaps) } -> std::same_as<bool>;
};

}  // namespace gpu_alloc
