// D3D12MemoryDevice: the MemoryDevice contract over an ID3D12Device, where a
// device memory object is an ID3D12Heap.
//
// Mapping. D3D12 maps resources, not heaps. A host-visible heap (UPLOAD,
// READBACK, CUSTOM on UMA) therefore gets, when it is created, one placed buffer
// covering all of it (offset 0, width = heap size), kept with the heap and
// released with it; map_memory maps that buffer and returns its address plus
// the offset. Resources the caller places in the same heap alias the same
// memory, so bytes written through the mapping are the bytes those resources
// hold: buffers in D3D12 have no hidden layout, and UPLOAD/READBACK heaps hold
// only buffers (see memory_layout.hpp). This works from the first D3D12
// release on, needs no ID3D12Device3/OpenExistingHeapFromAddress and no
// committed resources, and keeps one host pointer per heap, which is what the
// allocator's "map a chunk once, share it between its blocks" expects.
// The read range passed to Map is empty for UPLOAD (the host only writes), the
// written range passed to Unmap is empty for READBACK (the host only reads).
//
// Coherence. Every host-visible D3D12 heap is coherent: flush and invalidate
// do nothing but check their arguments against the contract.
//
// Residency. Heaps are created resident (no D3D12_HEAP_FLAG_CREATE_NOT_RESIDENT),
// so no MakeResident call is needed. MemoryAllocateInfo::priority and
// ::dedicated are not used: vkd3d has no ID3D12Device1 (SetResidencyPriority),
// and a dedicated object is simply a heap sized for one resource.
//
// Contract violations (mapping twice, freeing a mapped heap, a range outside
// the heap, an unknown memory type) print what was wrong and abort, in every
// build type: the checks are a few compares next to a driver call.
//
// Thread safety: each heap's state lives in its own record, so calls on
// different heaps may run at once, as the contract requires.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <gpu_alloc/d3d12/d3d12_api.hpp>
#include <gpu_alloc/d3d12/memory_layout.hpp>
#include <gpu_alloc/types/device.hpp>

namespace gpu_alloc::d3d12 {

class D3D12MemoryDevice;

namespace detail {
/// What the adapter keeps per heap. Owned by D3D12MemoryDevice.
struct HeapRecord {
    ID3D12Device* owner = nullptr;             ///< the device that created it
    ID3D12Heap* heap = nullptr;
    ID3D12Resource* mapping_buffer = nullptr;  ///< covers the heap; null when not mappable
    std::uint64_t size = 0;                    ///< bytes
    std::uint32_t memory_type = 0;
    std::byte* mapped = nullptr;               ///< host address of offset 0 while mapped
};
}  // namespace detail

/// The memory handle of D3D12MemoryDevice: one ID3D12Heap and what the adapter
/// keeps with it. A pointer-sized value: copyable, compared with ==, usable with
/// DynMemoryDeviceAdapter. A default-constructed handle is null.
class D3D12Memory {
public:
    D3D12Memory() noexcept = default;

    /// The heap, for CreatePlacedResource. Requires: not null.
    ID3D12Heap* heap() const noexcept { return record_->heap; }
    /// The placed buffer covering the whole heap, or null when the heap's type is not host-visible.
    /// Requires: not null.
    ID3D12Resource* mapping_buffer() const noexcept { return record_->mapping_buffer; }
    /// Heap size, bytes. Requires: not null.
    std::uint64_t size() const noexcept { return record_->size; }
    /// The memory type index this heap was created from. Requires: not null.
    std::uint32_t memory_type() const noexcept { return record_->memory_type; }
    /// Whether the handle names no heap.
    bool is_null() const noexcept { return record_ == nullptr; }

    friend bool operator==(const D3D12Memory&, const D3D12Memory&) = default;

private:
    friend class D3D12MemoryDevice;
    explicit D3D12Memory(detail::HeapRecord* record) noexcept : record_(record) {}
    detail::HeapRecord* record_ = nullptr;
};

/// MemoryDevice over an ID3D12Device (see the top of this file).
///
/// Example:
/// ```
/// auto device = gpu_alloc::d3d12::D3D12MemoryDevice::create(d3d12_device);
/// if (!device) return device.error();  // an HRESULT
/// gpu_alloc::GpuAllocator<D3D12Memory> allocator(device->properties(),
///                                                gpu_alloc::Config::for_device(device->properties()));
/// ```
class D3D12MemoryDevice {
public:
    using Memory = D3D12Memory;

    /// Reads the adapter (query_adapter_info), builds its layout and wraps `device`.
    /// Requires: device is a live ID3D12Device (AddRef'd here, released by the destructor).
    /// Errors: the HRESULT of the failing query.
    static Result<D3D12MemoryDevice, HRESULT> create(ID3D12Device* device);

    /// Wraps `device` with a given layout, e.g. a simulated tier 1 layout on a tier 2
    /// device (a tier 2 device accepts every heap a tier 1 layout creates).
    /// Requires: device is live; is_valid(layout.properties); one HeapKind per memory type;
    /// heap kinds the device supports. AddRefs `device`.
    D3D12MemoryDevice(ID3D12Device* device, MemoryLayout layout) noexcept;

    D3D12MemoryDevice(D3D12MemoryDevice&& other) noexcept;
    D3D12MemoryDevice& operator=(D3D12MemoryDevice&& other) noexcept;
    D3D12MemoryDevice(const D3D12MemoryDevice&) = delete;
    D3D12MemoryDevice& operator=(const D3D12MemoryDevice&) = delete;
    /// Releases the device. Requires: every heap it created is deallocated
    /// (live heaps are reported on stderr and leaked, never freed behind the allocator's back).
    ~D3D12MemoryDevice();

    /// The ID3D12Device (not AddRef'd).
    ID3D12Device* device() const noexcept { return device_; }
    /// The properties to build the allocator with.
    const DeviceProperties& properties() const noexcept { return layout_.properties; }
    /// The whole layout: properties plus the D3D12 heap each memory type stands for.
    const MemoryLayout& layout() const noexcept { return layout_; }
    /// Heaps created and not yet deallocated.
    std::uint32_t live_heap_count() const noexcept { return live_heaps_.load(std::memory_order_relaxed); }
    /// The HRESULT of the latest failed CreateHeap / CreatePlacedResource / Map (S_OK if none):
    /// the detail behind an OutOfMemory or DeviceMapError.
    HRESULT last_failure() const noexcept { return last_failure_.load(std::memory_order_relaxed); }

    /// Creates a heap of info.size bytes of memory type info.memory_type, and for
    /// host-visible types the placed buffer covering it.
    /// Requires (aborts otherwise): info.memory_type < memory type count; 0 < info.size
    /// <= max_memory_allocation_size.
    /// Errors: out_of_device_memory when D3D12 refuses the heap or the buffer
    /// (see last_failure()); out_of_host_memory when the record cannot be allocated.
    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info);

    /// Releases the heap and its covering buffer.
    /// Requires (aborts otherwise): created by this device, not null, not mapped.
    /// The device must be done with it (the caller's fences).
    void deallocate_memory(Memory memory);

    /// Maps the heap's covering buffer; returns the host address of `offset`.
    /// Requires (aborts otherwise): host-visible type, not mapped, size > 0 and
    /// offset + size <= heap size. Errors: map_failed (see last_failure()).
    Result<std::byte*, DeviceMapError> map_memory(const Memory& memory, std::uint64_t offset, std::uint64_t size);

    /// Unmaps. Requires (aborts otherwise): mapped.
    void unmap_memory(const Memory& memory);

    /// No-op (coherent memory) after checking each range: memory mapped, range inside it.
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges);
    /// No-op (coherent memory) after the same checks as flush_memory_ranges.
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges);

#if GPU_ALLOC_D3D12_HAS_DXGI
    /// Windows only: budget and usage of each heap from IDXGIAdapter3::QueryVideoMemoryInfo
    /// (heap 0: LOCAL segment group, heap 1: NON_LOCAL). Returns false when the adapter
    /// cannot be found or queried, or heaps.size() != number of heaps.
    bool query_budget(std::span<HeapBudget> heaps);
#endif

private:
    void check_ranges(std::span<const MappedMemoryRange<Memory>> ranges, const char* operation) const;
    void release() noexcept;

    ID3D12Device* device_ = nullptr;
    MemoryLayout layout_;
    std::atomic<std::uint32_t> live_heaps_{0};
    std::atomic<HRESULT> last_failure_{S_OK};
#if GPU_ALLOC_D3D12_HAS_DXGI
    IDXGIAdapter3* adapter_ = nullptr;
#endif
};

static_assert(MemoryDevice<D3D12MemoryDevice>);

namespace detail {
/// Prints "gpu_alloc::d3d12: <what>" to stderr and aborts.
[[noreturn]] void contract_violation(const char* what) noexcept;
}  // namespace detail

}  // namespace gpu_alloc::d3d12
