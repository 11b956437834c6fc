// How the compiled core reaches a MemoryDevice it was never compiled for: a
// table of plain function pointers, one table per device type, filled by the
// thin typed layer (GpuAllocator<Memory>, MemoryBlock<Memory>) at the call.
//
// Why a table and not a template: the core is ordinary compiled code, built
// once into the library, so that a file using the allocator compiles in a
// fraction of a second. One indirect call per device operation is nothing next
// to the driver call behind it (vkAllocateMemory costs 100-300 us).
//
// Memory handles travel as 64 bits. A handle that is trivially copyable and
// fits (VkDeviceMemory, ID3D12Heap*, an index) is its own bits; any other
// handle is boxed: a heap copy whose address is the bits, created when the
// device object is created and deleted when it is destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

#include <gpu_alloc/types/device.hpp>

namespace gpu_alloc::detail {

/// Converts a backend's memory handle to and from the core's 64 bits.
template <class Memory>
struct MemoryCodec {
    static constexpr bool inline_bits =
        std::is_trivially_copyable_v<Memory> && sizeof(Memory) <= sizeof(std::uint64_t);

    /// The bits for a new handle; 0 when a box could not be allocated.
    static std::uint64_t encode(const Memory& memory) noexcept {
        if constexpr (inline_bits) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &memory, sizeof(Memory));
            return bits;
        } else {
            return reinterpret_cast<std::uintptr_t>(new (std::nothrow) Memory(memory));
        }
    }
    static Memory decode(std::uint64_t bits) noexcept {
        if constexpr (inline_bits) {
            Memory memory;
            std::memcpy(static_cast<void*>(&memory), &bits, sizeof(Memory));
            return memory;
        } else {
            return *reinterpret_cast<const Memory*>(static_cast<std::uintptr_t>(bits));
        }
    }
    /// Frees the box of a handle whose object is gone.
    static void release(std::uint64_t bits) noexcept {
        if constexpr (!inline_bits) delete reinterpret_cast<Memory*>(static_cast<std::uintptr_t>(bits));
    }
    static bool same(std::uint64_t a, std::uint64_t b) noexcept {
        if constexpr (inline_bits) return a == b;
        else return decode(a) == decode(b);
    }
};

/// What the core needs to know of a handle type without a device.
struct HandleOps {
    bool (*same)(std::uint64_t a, std::uint64_t b) noexcept;
    void (*release)(std::uint64_t bits) noexcept;
};

template <class Memory>
inline constexpr HandleOps handle_ops_for{&MemoryCodec<Memory>::same, &MemoryCodec<Memory>::release};

/// A device call's outcome, without templates.
enum class DeviceStatus : std::uint8_t { ok, out_of_device_memory, out_of_host_memory, map_failed };

/// One range of a flush or invalidate, with the handle as bits.
struct ErasedRange {
    std::uint64_t memory = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

/// The MemoryDevice operations as plain functions over `void* device`.
struct DeviceTable {
    DeviceStatus (*allocate_memory)(void* device, const MemoryAllocateInfo& info, std::uint64_t* memory);
    /// Destroys the object and frees the handle's box.
    void (*deallocate_memory)(void* device, std::uint64_t memory);
    DeviceStatus (*map_memory)(void* device, std::uint64_t memory, std::uint64_t offset, std::uint64_t size,
                               std::byte** pointer);
    void (*unmap_memory)(void* device, std::uint64_t memory);
    DeviceStatus (*flush_memory_ranges)(void* device, const ErasedRange* ranges, std::size_t count);
    DeviceStatus (*invalidate_memory_ranges)(void* device, const ErasedRange* ranges, std::size_t count);
    /// Null when the device cannot report budgets.
    bool (*query_budget)(void* device, HeapBudget* heaps, std::size_t count);
};

/// A device as the core sees it for one call.
struct DeviceRef {
    void* device = nullptr;
    const DeviceTable* table = nullptr;
};

template <MemoryDevice D>
struct DeviceThunks {
    using Memory = typename D::Memory;
    using Codec = MemoryCodec<Memory>;

    static DeviceStatus status(OutOfMemory e) noexcept {
        return e == OutOfMemory::out_of_device_memory ? DeviceStatus::out_of_device_memory
                                                      : DeviceStatus::out_of_host_memory;
    }
    static DeviceStatus allocate_memory(void* device, const MemoryAllocateInfo& info, std::uint64_t* bits) {
        D& d = *static_cast<D*>(device);
        auto r = d.allocate_memory(info);
        if (!r) return status(r.error());
        *bits = Codec::encode(*r);
        if (*bits == 0 && !Codec::inline_bits) {  // no host memory for the box: give the object back
            d.deallocate_memory(*r);
            return DeviceStatus::out_of_host_memory;
        }
        return DeviceStatus::ok;
    }
    static void deallocate_memory(void* device, std::uint64_t bits) {
        static_cast<D*>(device)->deallocate_memory(Codec::decode(bits));
        Codec::release(bits);
    }
    static DeviceStatus map_memory(void* device, std::uint64_t bits, std::uint64_t offset, std::uint64_t size,
                                   std::byte** pointer) {
        auto r = static_cast<D*>(device)->map_memory(Codec::decode(bits), offset, size);
        if (!r) {
            switch (r.error()) {
                case DeviceMapError::out_of_device_memory: return DeviceStatus::out_of_device_memory;
                case DeviceMapError::out_of_host_memory: return DeviceStatus::out_of_host_memory;
                case DeviceMapError::map_failed: return DeviceStatus::map_failed;
            }
            return DeviceStatus::map_failed;
        }
        *pointer = *r;
        return DeviceStatus::ok;
    }
    static void unmap_memory(void* device, std::uint64_t bits) {
        static_cast<D*>(device)->unmap_memory(Codec::decode(bits));
    }
    template <bool Flush>
    static DeviceStatus sync(void* device, const ErasedRange* ranges, std::size_t count) {
        // In batches of 16, translated on the stack.
        constexpr std::size_t batch = 16;
        Memory handles[batch];
        MappedMemoryRange<Memory> inner[batch];
        for (std::size_t first = 0; first < count; first += batch) {
            const std::size_t n = count - first < batch ? count - first : batch;
            for (std::size_t i = 0; i < n; ++i) {
                handles[i] = Codec::decode(ranges[first + i].memory);
                inner[i] = {&handles[i], ranges[first + i].offset, ranges[first + i].size};
            }
            const std::span<const MappedMemoryRange<Memory>> span(inner, n);
            auto r = Flush ? static_cast<D*>(device)->flush_memory_ranges(span)
                           : static_cast<D*>(device)->invalidate_memory_ranges(span);
            if (!r) return status(r.error());
        }
        return DeviceStatus::ok;
    }
    static bool query_budget(void* device, HeapBudget* heaps, std::size_t count) {
        if constexpr (MemoryDeviceWithBudget<D>) return static_cast<D*>(device)->query_budget(std::span<HeapBudget>(heaps, count));
        else return false;
    }

    static constexpr DeviceTable table{&allocate_memory,
                                       &deallocate_memory,
                                       &map_memory,
                                       &unmap_memory,
                                       &sync<true>,
                                       &sync<false>,
                                       MemoryDeviceWithBudget<D> ? &query_budget : nullptr};
};

template <MemoryDevice D>
DeviceRef device_ref(D& device) noexcept {
    return DeviceRef{static_cast<void*>(&device), &DeviceThunks<D>::table};
}

}  // namespace gpu_alloc::detail
