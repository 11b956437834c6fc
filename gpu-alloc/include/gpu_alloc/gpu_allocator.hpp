// GpuAllocator: what a graphics engine or safe-API wrapper calls for the memory
// of every buffer and image.
//
// It picks a memory type for the request's usage and type mask (best first,
// falling back to the next suitable type when one is full or over budget),
// sub-allocates from large device memory objects ("chunks") it creates and
// grows as needed, gives large or driver-preferred resources a dedicated
// object, keeps each heap within its budget and the device's object-count and
// object-size limits, maps chunks once for all their blocks, and counts
// everything.
//
// The device is passed to every call that may touch it, as in the Rust
// gpu-alloc: the allocator holds no reference to it, so its lifetime and
// thread-safety stay with the caller (the adapter that owns the VkDevice), and
// one type works with any MemoryDevice whose handle is `Memory`.
//
// This class is a thin typed layer: the implementation is compiled once into
// the core library (detail/allocator_core.hpp; docs/architecture.md).
//
// Thread safety: every member function may be called from any thread at once.
// Each (memory type, strategy) pool has its own lock, made on first use, and
// Config::pool_shards copies of it, one per thread (modulo the count);
// device memory objects are counted under one small lock taken only when one is
// created or destroyed. A MemoryBlock itself is used by one thread at a time.
//
// Lifetime: give back every block with deallocate(), call cleanup(device) to
// destroy the chunks kept for reuse, then destroy the allocator. Whatever is
// still alive then is reported as misuse (its device memory cannot be freed
// without the device).
#pragma once

#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <utility>

#include <gpu_alloc/allocation_error.hpp>
#include <gpu_alloc/config.hpp>
#include <gpu_alloc/detail/allocator_core.hpp>
#include <gpu_alloc/memory_block.hpp>
#include <gpu_alloc/misuse.hpp>
#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/statistics.hpp>
#include <gpu_alloc/types/device.hpp>
#include <gpu_alloc/types/request.hpp>

namespace gpu_alloc {

/// A MemoryDevice whose memory handle is `Memory`.
template <class D, class Memory>
concept MemoryDeviceFor = MemoryDevice<D> && std::same_as<typename D::Memory, Memory>;

template <class Memory>
class GpuAllocator {
public:
    using Block = MemoryBlock<Memory>;

    /// Precondition: is_valid(props). Invalid properties yield an allocator with
    /// no memory types, which refuses every request with invalid_request (see
    /// docs/errors.md for which reason). `config` is checked and adjusted as
    /// Config documents; config() returns what is in effect.
    GpuAllocator(const DeviceProperties& props, const Config& config)
        : core_(props, config, detail::handle_ops_for<Memory>) {}
    GpuAllocator(const GpuAllocator&) = delete;
    GpuAllocator& operator=(const GpuAllocator&) = delete;
    /// Reports misuse when device memory objects or blocks are still alive.
    ~GpuAllocator() = default;

    /// Allocates memory for `request`.
    /// Errors: invalid_request (with the reason), no_compatible_memory_types,
    /// out_of_device_memory / out_of_host_memory, too_many_objects, over_budget.
    /// On error nothing changed.
    template <MemoryDeviceFor<Memory> D>
    Result<Block, AllocationError> allocate(D& device, const Request& request) {
        detail::BlockData out;
        AllocationError error{};
        if (!core_.allocate(detail::device_ref(device), request, out, error)) return unexpected(error);
        return Block(std::move(out));
    }

    /// Gives a block back. Its chunk is destroyed when it becomes empty and the
    /// pool already keeps Config::spare_chunks empty chunks (none while over
    /// budget). A block that is empty or belongs to another allocator is
    /// reported as misuse and left untouched.
    template <MemoryDeviceFor<Memory> D>
    void deallocate(D& device, Block&& block) {
        core_.deallocate(detail::device_ref(device), block.data());
    }

    /// Destroys every empty chunk kept for reuse. Call before destroying the
    /// allocator, and when memory is tight.
    template <MemoryDeviceFor<Memory> D>
    void cleanup(D& device) {
        core_.cleanup(detail::device_ref(device));
    }

    /// Queries the device's heap budgets now (when it can report them).
    template <MemoryDeviceFor<Memory> D>
    void refresh_budget(D& device) {
        core_.refresh_budget(detail::device_ref(device));
    }

    /// Takes ownership of a device memory object created elsewhere (external
    /// memory, an imported handle): it counts against its heap and the object
    /// count, and deallocate() destroys it through the device.
    /// Errors: invalid_request (zero size, type out of range, a handle this
    /// allocator already owns: InvalidRequest::memory_already_owned),
    /// too_many_objects, out_of_host_memory.
    Result<Block, AllocationError> import_memory(Memory memory, std::uint32_t memory_type, std::uint64_t size) {
        const std::uint64_t bits = detail::MemoryCodec<Memory>::encode(memory);
        if (bits == 0 && !detail::MemoryCodec<Memory>::inline_bits)
            return unexpected(AllocationError{AllocationErrorKind::out_of_host_memory});
        detail::BlockData out;
        AllocationError error{};
        if (!core_.import_memory(bits, memory_type, size, out, error)) {
            detail::MemoryCodec<Memory>::release(bits);
            return unexpected(error);
        }
        return Block(std::move(out));
    }

    /// How many more device memory objects may be created (max_memory_allocation_count - live).
    std::uint64_t remaining_allocations() const noexcept { return core_.remaining_allocations(); }
    /// Running totals: O(pools), no pool locks.
    TotalCounters totals() const noexcept { return core_.totals(); }
    /// Full statistics per memory type, per heap and in total: one short lock
    /// per pool, O(pools) (no walk over blocks or free ranges).
    Statistics statistics() const { return core_.statistics(); }
    /// Every chunk (and, with Config::track_blocks, every block) right now.
    AllocatorSnapshot snapshot() const { return core_.snapshot(); }
    /// Writes statistics and the snapshot as JSON (schema in docs/json-schema.md).
    /// Numbers are written in the "C" locale whatever the stream's settings.
    void dump_json(std::ostream& out) const { core_.dump_json(out); }

    const DeviceProperties& properties() const noexcept { return core_.properties(); }
    /// The configuration in effect (after the adjustments Config documents).
    const Config& config() const noexcept { return core_.config(); }
    /// The budget of `heap` and what others use of it, as last known.
    HeapBudget heap_budget(std::uint32_t heap) const noexcept { return core_.heap_budget(heap); }
    /// How many contract violations (foreign or empty blocks) were reported.
    std::uint64_t misuse_count() const noexcept { return core_.misuse_count(); }

private:
    friend class Defragmentation<Memory>;
    detail::AllocatorCore core_;
};

}  // namespace gpu_alloc
