// HostMemoryDevice: a complete MemoryDevice over plain host memory, the
// template for writing a backend of your own.
//
// Each "device memory object" is one aligned host allocation; the handle
// carries its address, size and memory type, so mapping is pointer arithmetic
// and flushing has nothing to do (host memory is coherent). A real backend
// replaces the bodies with its API's calls (vkAllocateMemory, ID3D12Device::
// CreateHeap, MTLDevice newHeapWithDescriptor) and keeps the shape: errors are
// returned as values, and operations on different objects may run on different
// threads at once (here only the usage counter is shared, and it is atomic).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

#include <gpu_alloc/types/device.hpp>
#include <gpu_alloc/types/properties.hpp>

/// The handle of one memory object: copyable, cheap, compared with ==.
struct HostMemory {
    std::byte* base = nullptr;
    std::uint64_t size = 0;  ///< bytes
    std::uint32_t memory_type = 0;

    friend bool operator==(const HostMemory&, const HostMemory&) = default;
};

/// A MemoryDevice (with budget) whose memory is host memory. One heap of
/// `heap_size` bytes; memory type 0 is host-visible and coherent; with
/// `with_device_local_type`, memory type 1 is "device-local" (not mappable),
/// standing in for VRAM.
class HostMemoryDevice {
public:
    using Memory = HostMemory;
    /// Every object starts on a boundary of this many bytes, like a device page.
    static constexpr std::size_t object_alignment = 4096;

    /// Requires: heap_size > 0.
    explicit HostMemoryDevice(std::uint64_t heap_size, bool with_device_local_type = false) {
        using gpu_alloc::MemoryPropertyFlags;
        props_.memory_heaps = {{heap_size, gpu_alloc::MemoryHeapFlags::none}};
        props_.memory_types = {{0, MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_coherent}};
        if (with_device_local_type) props_.memory_types.push_back({0, MemoryPropertyFlags::device_local});
        props_.max_memory_allocation_size = heap_size;
        props_.non_coherent_atom_size = 1;
        props_.buffer_image_granularity = 1;
    }

    /// What the allocator needs to know about this device.
    const gpu_alloc::DeviceProperties& properties() const noexcept { return props_; }

    /// Requires (device.hpp): 0 < size <= max_memory_allocation_size, a valid type.
    /// Errors: out_of_device_memory when the heap is full, out_of_host_memory when
    /// the host allocation fails.
    gpu_alloc::Result<HostMemory, gpu_alloc::OutOfMemory> allocate_memory(const gpu_alloc::MemoryAllocateInfo& info) {
        const std::uint64_t heap_size = props_.memory_heaps[0].size;
        std::uint64_t used = used_.load();
        do {
            if (info.size > heap_size - used) return gpu_alloc::unexpected(gpu_alloc::OutOfMemory::out_of_device_memory);
        } while (!used_.compare_exchange_weak(used, used + info.size));

        void* p = ::operator new(static_cast<std::size_t>(info.size), std::align_val_t{object_alignment}, std::nothrow);
        if (p == nullptr) {
            used_ -= info.size;
            return gpu_alloc::unexpected(gpu_alloc::OutOfMemory::out_of_host_memory);
        }
        return HostMemory{static_cast<std::byte*>(p), info.size, info.memory_type};
    }

    /// Requires: not mapped, not deallocated yet.
    void deallocate_memory(HostMemory memory) {
        ::operator delete(memory.base, std::align_val_t{object_alignment});
        used_ -= memory.size;
    }

    /// Requires: a host-visible type (type 0), offset + size <= memory.size.
    gpu_alloc::Result<std::byte*, gpu_alloc::DeviceMapError> map_memory(const HostMemory& memory,
                                                                         std::uint64_t offset, std::uint64_t) {
        return memory.base + offset;
    }

    /// Requires: mapped. Nothing to undo: the memory stays addressable.
    void unmap_memory(const HostMemory&) {}

    /// Host memory is coherent: nothing to flush or invalidate.
    gpu_alloc::Result<void, gpu_alloc::OutOfMemory> flush_memory_ranges(
        std::span<const gpu_alloc::MappedMemoryRange<HostMemory>>) {
        return {};
    }
    /// Nothing to invalidate either.
    gpu_alloc::Result<void, gpu_alloc::OutOfMemory> invalidate_memory_ranges(
        std::span<const gpu_alloc::MappedMemoryRange<HostMemory>>) {
        return {};
    }

    /// Optional: report the heap's budget (all of it) and usage, making this a
    /// MemoryDeviceWithBudget.
    bool query_budget(std::span<gpu_alloc::HeapBudget> heaps) {
        if (heaps.size() != 1) return false;
        heaps[0] = {props_.memory_heaps[0].size, used_.load()};
        return true;
    }

private:
    gpu_alloc::DeviceProperties props_;
    std::atomic<std::uint64_t> used_{0};  // bytes of live objects
};

static_assert(gpu_alloc::MemoryDeviceWithBudget<HostMemoryDevice>);
