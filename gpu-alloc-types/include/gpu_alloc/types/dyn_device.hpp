// A type-erased MemoryDevice, for backends chosen at run time.
//
// DynMemoryDevice is an abstract class that itself satisfies MemoryDevice, with
// the memory handle erased to 64 bits (DynMemory). DynMemoryDeviceAdapter<D>
// wraps any MemoryDevice whose handle fits in 64 bits and is trivially copyable
// (VkDeviceMemory, ID3D12Heap*, an id<MTLHeap>, an index). One virtual call per
// device operation costs nothing next to the driver call behind it.
//
// A flush/invalidate range whose `memory` is null names no memory object: it
// breaks the contract of device.hpp ("each object mapped"), and there is
// nothing to flush in it. DynMemoryDeviceAdapter skips such ranges (it never
// dereferences them) and forwards the others; when every range is null it
// does not call the wrapped device at all and succeeds. The call's error values stay
// those of the wrapped device (OutOfMemory has no "bad range"), like a
// driver's, for which such a range is undefined behaviour.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "device.hpp"

namespace gpu_alloc {

/// A memory handle with its type erased: the handle's bits.
struct DynMemory {
    std::uint64_t bits = 0;
    friend bool operator==(const DynMemory&, const DynMemory&) = default;
};

/// The MemoryDevice operations as virtual functions; see device.hpp for the contract.
class DynMemoryDevice {
public:
    using Memory = DynMemory;

    virtual ~DynMemoryDevice() = default;
    virtual Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info) = 0;
    virtual void deallocate_memory(Memory memory) = 0;
    virtual Result<std::byte*, DeviceMapError> map_memory(const Memory& memory, std::uint64_t offset,
                                                          std::uint64_t size) = 0;
    virtual void unmap_memory(const Memory& memory) = 0;
    virtual Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) = 0;
    virtual Result<void, OutOfMemory> invalidate_memory_ranges(
        std::span<const MappedMemoryRange<Memory>> ranges) = 0;
    /// Returns false when the wrapped device has no budget query.
    virtual bool query_budget(std::span<HeapBudget> heaps) = 0;
};

/// Wraps a concrete MemoryDevice (held by reference) as a DynMemoryDevice.
template <MemoryDevice D>
class DynMemoryDeviceAdapter final : public DynMemoryDevice {
    using Inner = typename D::Memory;
    static_assert(std::is_trivially_copyable_v<Inner> && sizeof(Inner) <= sizeof(std::uint64_t),
                  "DynMemoryDeviceAdapter needs a trivially copyable handle of at most 64 bits");

public:
    explicit DynMemoryDeviceAdapter(D& device) noexcept : device_(device) {}

    static DynMemory erase(const Inner& memory) noexcept {
        DynMemory out;
        std::memcpy(&out.bits, &memory, sizeof(Inner));
        return out;
    }
    static Inner restore(const DynMemory& memory) noexcept {
        Inner out;
        std::memcpy(static_cast<void*>(&out), &memory.bits, sizeof(Inner));
        return out;
    }

    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info) override {
        auto r = device_.allocate_memory(info);
        if (!r) return unexpected(r.error());
        return erase(*r);
    }
    void deallocate_memory(Memory memory) override { device_.deallocate_memory(restore(memory)); }
    Result<std::byte*, DeviceMapError> map_memory(const Memory& memory, std::uint64_t offset,
                                                  std::uint64_t size) override {
        return device_.map_memory(restore(memory), offset, size);
    }
    void unmap_memory(const Memory& memory) override { device_.unmap_memory(restore(memory)); }
    /// Forwards the ranges whose memory is not null (see the top of this file).
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) override {
        return forward_ranges(ranges, [this](auto inner) { return device_.flush_memory_ranges(inner); });
    }
    /// Forwards the ranges whose memory is not null (see the top of this file).
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) override {
        return forward_ranges(ranges, [this](auto inner) { return device_.invalidate_memory_ranges(inner); });
    }
    bool query_budget(std::span<HeapBudget> heaps) override {
        if constexpr (MemoryDeviceWithBudget<D>) return device_.query_budget(heaps);
        else return false;
    }

private:
    // Translates the ranges into the wrapped device's handle type, leaving out
    // those without memory. Small batches stay on the stack; larger ones need a
    // vector.
    template <class Call>
    Result<void, OutOfMemory> forward_ranges(std::span<const MappedMemoryRange<Memory>> ranges, Call call) {
        constexpr std::size_t inline_count = 8;
        Inner handles_inline[inline_count];
        MappedMemoryRange<Inner> ranges_inline[inline_count];
        std::vector<Inner> handles_heap;
        std::vector<MappedMemoryRange<Inner>> ranges_heap;
        Inner* handles = handles_inline;
        MappedMemoryRange<Inner>* inner = ranges_inline;
        if (ranges.size() > inline_count) {
            handles_heap.resize(ranges.size());
            ranges_heap.resize(ranges.size());
            handles = handles_heap.data();
            inner = ranges_heap.data();
        }
        std::size_t count = 0;
        for (const MappedMemoryRange<Memory>& range : ranges) {
            if (range.memory == nullptr) continue;
            handles[count] = restore(*range.memory);
            inner[count] = {&handles[count], range.offset, range.size};
            ++count;
        }
        if (count == 0 && !ranges.empty()) return {};  // every range was null
        return call(std::span<const MappedMemoryRange<Inner>>(inner, count));
    }

    D& device_;
};

}  // namespace gpu_alloc
