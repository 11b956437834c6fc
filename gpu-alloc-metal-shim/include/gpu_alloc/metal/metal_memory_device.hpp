// MetalMemoryDevice: gpu-alloc's MemoryDevice over Metal heaps, reached only
// through a MetalFunctions table.
//
// The memory handle is the table's MetalHeap. What each MemoryDevice operation
// becomes in Metal:
//   allocate_memory    create_heap: a placement MTLHeap (private; shared on Apple
//                      GPUs) with a covering MTLBuffer when host-visible, or one
//                      MTLBuffer (managed; shared on other Macs), or a token
//                      (memoryless). Sizes are rounded as Metal needs (see
//                      memory_object_size).
//   deallocate_memory  destroy_heap.
//   map_memory         Metal heaps cannot be mapped: the contents pointer of the
//                      covering (or backing) MTLBuffer is the mapping, valid for
//                      the object's whole life. unmap only ends the bookkeeping.
//   flush              managed: didModifyRange: per range; shared: nothing (coherent).
//   invalidate         managed: a blit of each range from the GPU copy into a
//                      staging buffer, waited for, copied into the CPU copy
//                      (synchronizeResource: would overwrite the whole buffer,
//                      losing unflushed CPU writes elsewhere in it); shared: nothing.
//   query_budget       recommendedMaxWorkingSetSize and currentAllocatedSize.
// Beyond the contract it answers what a resource needs (buffer_requirements,
// texture_requirements, from heapBufferSizeAndAlign / heapTextureSizeAndAlign)
// and which memory objects are alive (live_memory, for useHeaps: or an
// MTLResidencySet).
//
// Thread safety: every operation may be called from any thread; the object
// records sit behind one mutex, held for bookkeeping only, never across
// create_heap or destroy_heap. Device memory objects are created rarely (per
// chunk), so one lock does not limit the allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <gpu_alloc/metal/metal_functions.hpp>
#include <gpu_alloc/metal/metal_memory_model.hpp>
#include <gpu_alloc/types/device.hpp>
#include <gpu_alloc/types/errors.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// What a resource needs from the allocator: the fields of a gpu-alloc Request
/// (size, alignment, memory type mask), like VkMemoryRequirements.
struct MetalResourceRequirements {
    std::uint64_t size = 0;          ///< bytes
    std::uint64_t alignment = 1;     ///< bytes, a power of two
    std::uint32_t memory_types = 0;  ///< bit i: memory type i can hold it; 0: none can
};

namespace detail {
struct MetalDeviceState;
}

/// A MemoryDevice (with budget) over a MetalFunctions table. Move-only.
class MetalMemoryDevice {
public:
    using Memory = MetalHeap;

    /// Builds the device from a table and options.
    /// Requires: the table outlives the device.
    /// Errors: incomplete_functions when a function pointer is null; the errors
    /// of build_metal_memory_model.
    static Result<MetalMemoryDevice, MetalInitError> create(const MetalFunctions& functions,
                                                            const MetalDeviceOptions& options = {});
    /// The device keeps a pointer to the table: a temporary one would dangle.
    static Result<MetalMemoryDevice, MetalInitError> create(const MetalFunctions&& functions,
                                                            const MetalDeviceOptions& options = {}) = delete;

    MetalMemoryDevice(MetalMemoryDevice&&) noexcept;
    MetalMemoryDevice& operator=(MetalMemoryDevice&&) noexcept;
    MetalMemoryDevice(const MetalMemoryDevice&) = delete;
    MetalMemoryDevice& operator=(const MetalMemoryDevice&) = delete;
    /// Does not free live memory objects: deallocate them first (see live_memory_count).
    ~MetalMemoryDevice();

    /// The memory types and heaps to give GpuAllocator.
    const DeviceProperties& properties() const noexcept;
    /// The whole model: properties plus each memory type's Metal meaning.
    const MetalMemoryModel& model() const noexcept;
    /// The Metal meaning of memory type `memory_type`. Requires: memory_type < properties().memory_types.size().
    const MetalMemoryType& metal_type(std::uint32_t memory_type) const noexcept;
    /// The options resources placed in memory type `memory_type` must be created
    /// with (storage mode, CPU cache mode, the device's hazard tracking).
    /// Requires: memory_type < properties().memory_types.size().
    MetalResourceOptions resource_options(std::uint32_t memory_type) const noexcept;

    // --- MemoryDevice (see gpu_alloc/types/device.hpp for the contract) ---

    /// Creates a memory object of at least info.size bytes of type info.memory_type.
    /// info.dedicated and info.priority are ignored (Metal has neither notion);
    /// AllocationFlags::device_address needs nothing (every MTLBuffer has a gpuAddress).
    /// Errors: out_of_device_memory when Metal returns nil; out_of_host_memory
    /// when the table runs out of host memory.
    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info);
    /// Destroys a memory object. Requires: created here, not mapped, not in use by the GPU.
    void deallocate_memory(Memory memory);
    /// Host address of byte `offset` of a host-visible memory object.
    /// Requires: the type is host_visible, not mapped, offset + size <= the size allocated.
    /// Errors: map_failed when the table has no contents pointer (or, in release
    /// builds, when a requirement does not hold).
    Result<std::byte*, DeviceMapError> map_memory(const Memory& memory, std::uint64_t offset, std::uint64_t size);
    /// Requires: mapped.
    void unmap_memory(const Memory& memory);
    /// didModifyRange: for each range of managed memory; nothing for coherent memory.
    /// Requires: each object mapped, each range inside it, offsets multiples of 4.
    /// Never fails.
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges);
    /// Copies the GPU's bytes of each managed range into the CPU copy (one blit,
    /// waited for); nothing for coherent memory. Requires: as flush, and the GPU
    /// work that wrote the ranges has completed. Errors: out_of_device_memory /
    /// out_of_host_memory when the staging buffer or command buffer cannot be made.
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges);

    /// Budget per heap: unified memory: {recommendedMaxWorkingSetSize,
    /// currentAllocatedSize}; discrete: VRAM {recommendedMaxWorkingSetSize,
    /// currentAllocatedSize minus this device's system-heap bytes}, system
    /// {physical memory, this device's system-heap bytes}. Returns false (and
    /// fills nothing) when Metal reports no working-set size or `heaps` has
    /// fewer entries than the device has heaps.
    bool query_budget(std::span<HeapBudget> heaps);

    // --- Resources ---

    /// What a buffer of `length` bytes needs, over every memory type that can
    /// hold buffers (all but memoryless): the largest size and alignment the
    /// device reports for them (heapBufferSizeAndAlign for heap-backed types;
    /// length rounded to buffer_offset_alignment for buffer-backed ones).
    /// Types whose query fails are left out of the mask.
    MetalResourceRequirements buffer_requirements(std::uint64_t length) const;
    /// What a texture needs, over the heap-backed memory types (textures cannot
    /// be placed in an MTLBuffer) plus memoryless types when
    /// description.transient_render_target: heapTextureSizeAndAlign per type,
    /// the largest of each. description.options is ignored (set per type).
    MetalResourceRequirements texture_requirements(const MetalTextureDescription& description) const;
    /// Bytes create_heap is asked for when `size` bytes of `memory_type` are
    /// allocated: host-visible heaps grow to heapBufferSizeAndAlign(size).size so
    /// that the covering buffer fits; buffers grow to a multiple of 4 so that
    /// blits of ranges reaching the end stay inside; 0 when Metal rejects the size.
    /// Requires: memory_type < properties().memory_types.size().
    std::uint64_t memory_object_size(std::uint64_t size, std::uint32_t memory_type) const;

    // --- Residency and bookkeeping ---

    /// Every live memory object (for useHeaps:count: or an MTLResidencySet).
    std::vector<Memory> live_memory() const;
    /// Number of live memory objects.
    std::uint32_t live_memory_count() const;
    /// Changes whenever a memory object is created or destroyed, so a residency
    /// set is rebuilt only when needed.
    std::uint64_t memory_generation() const;
    /// Bytes of memory objects this device holds in heap `heap` (0 for an unknown heap).
    std::uint64_t allocated_bytes(std::uint32_t heap) const;

private:
    explicit MetalMemoryDevice(std::unique_ptr<detail::MetalDeviceState> state) noexcept;

    std::unique_ptr<detail::MetalDeviceState> state_;
};

static_assert(MemoryDeviceWithBudget<MetalMemoryDevice>);

}  // namespace gpu_alloc
