// MockDevice: a strict MemoryDevice with no GPU behind it, for the project's
// tests and benchmarks and for users' own unit tests.
//
// It checks every precondition of the MemoryDevice contract (device.hpp) and
// reports each violation as a MisuseReport instead of crashing or silently
// working like a lenient driver would: double free, memory from another device,
// zero or oversized allocations, too many live objects, mapping memory that is
// not host-visible or already mapped, flushing unmapped memory or ranges that
// break the non-coherent atom rule, deallocating while mapped, two calls on
// the same memory object at once, and leaks at destruction. Shortages are not
// misuse: an allocation that does not fit in its heap fails with
// OutOfMemory::out_of_device_memory, as on a real device.
//
// Misuse is recorded (misuse_reports()) and passed to a handler (stderr by
// default; a test sets one that calls ADD_FAILURE). Misuse a real driver would
// reject also fails the call (allocate -> out_of_device_memory, map ->
// DeviceMapError::map_failed); misuse that is undefined behaviour in Vulkan
// (double free, unmap of unmapped memory, flush of unmapped memory) is only
// reported, and the call does nothing.
//
// Mapped memory is real host memory, reserved on the first map of an object
// (zero-filled, committed by the OS page by page as it is touched, so a 1 GiB
// object costs nothing until written) and kept until the object is deallocated,
// so data survives unmap/map. Fault injection (the n-th allocation, map or any
// fallible call fails; random failures with a seed; budget and heap size changed
// at run time) lets a test drive every error path. A CostModel from a device
// profile gives modeled driver time per allocation (modeled_device_us()).
//
// Thread safety: every member function may be called from any thread. One mutex
// guards the bookkeeping (objects, counters, reports), held only while a call
// does its checks and updates, not for the whole call: map, unmap, flush and
// invalidate keep each object they touch marked "in call" (an atomic count per
// object) from their bookkeeping until they return, and a call that finds an
// object already marked reports MisuseKind::concurrent_calls_on_object (the
// contract allows one operation per memory object at a time; calls on
// different objects may overlap freely). MockDeviceOptions::in_call_delay_us
// widens that window of flush and invalidate for tests. The misuse handler runs outside the lock, on
// the calling thread.
//
// Example:
//   gpu_alloc::mock::MockDevice device(props);
//   device.set_misuse_handler([](const auto& r) { ADD_FAILURE() << to_string(r.kind) << ": " << r.detail; });
//   ... code under test ...
//   EXPECT_EQ(device.live_object_count(), 0u);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/types/device.hpp>
#include <gpu_alloc/types/errors.hpp>
#include <gpu_alloc/types/flags.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::mock {

/// The MockDevice's memory handle. Ids are never reused and are unique across
/// all MockDevice instances of the process (bits 40..63: the device's serial,
/// bits 0..39: the object's number on that device), so a handle that was freed,
/// never created, or created by another MockDevice is recognized. Id 0 is never
/// a live object.
struct MockMemory {
    std::uint64_t id = 0;
    friend bool operator==(const MockMemory&, const MockMemory&) = default;
};

/// A violation of the MemoryDevice contract.
enum class MisuseKind : std::uint8_t {
    zero_size,                   ///< allocate_memory with size 0
    size_over_max,               ///< size > max_memory_allocation_size
    memory_type_out_of_range,    ///< memory_type >= memory_types.size()
    device_address_not_enabled,  ///< AllocationFlags::device_address without buffer_device_address
    too_many_objects,            ///< already max_memory_allocation_count live objects
    unknown_memory,              ///< a handle no MockDevice created (or a null range.memory)
    foreign_memory,              ///< a handle created by another MockDevice
    double_free,                 ///< deallocate_memory of an object already deallocated
    use_after_free,              ///< map/unmap/flush/invalidate of a deallocated object
    deallocate_while_mapped,     ///< deallocate_memory of a mapped object
    map_not_host_visible,        ///< map_memory of a type without host_visible
    map_while_mapped,            ///< map_memory of an object already mapped
    map_out_of_range,            ///< map range size 0 or not inside the object
    unmap_not_mapped,            ///< unmap_memory of an object that is not mapped
    range_not_mapped,            ///< flush/invalidate of an object that is not mapped
    range_out_of_range,          ///< flush/invalidate range not inside the mapped range
    range_misaligned,            ///< non-coherent range offset/size not multiples of the atom
    leak,                        ///< an object still alive when the device is destroyed
    /// map/unmap/flush/invalidate/deallocate of an object while another of these
    /// calls on the same object is still in progress (on another thread)
    concurrent_calls_on_object,
};

/// "double_free", "leak", ... (the enumerator's name).
std::string_view to_string(MisuseKind kind) noexcept;
/// Writes to_string(kind).
std::ostream& operator<<(std::ostream& os, MisuseKind kind);

/// One detected misuse: its kind and a sentence naming the call, the object and
/// the numbers involved.
struct MisuseReport {
    MisuseKind kind = MisuseKind::unknown_memory;
    std::string detail;
};

/// Options of a MockDevice.
struct MockDeviceOptions {
    /// Whether query_budget answers (true) or returns false like a device
    /// without VK_EXT_memory_budget.
    bool report_budget = true;
    /// Abort the process after a misuse is reported (and the handler has run).
    bool abort_on_misuse = false;
    /// Injected allocation failures return out_of_host_memory instead of
    /// out_of_device_memory.
    bool inject_host_oom = false;
    /// Microseconds that flush_memory_ranges and invalidate_memory_ranges sleep
    /// after their bookkeeping, with the lock released and their objects still
    /// marked in call: a test that wants to see overlapping calls on one object
    /// (MisuseKind::concurrent_calls_on_object) sets a few hundred or more.
    /// 0 (the default): no sleep; overlaps are still detected, but only the rare
    /// ones that hit the short window after the lock.
    std::uint32_t in_call_delay_us = 0;
};

/// How often each operation was called. Every call counts, including calls
/// that failed or were misuse.
struct MockCallCounts {
    std::uint64_t allocate = 0;           ///< allocate_memory calls
    std::uint64_t allocate_failed = 0;    ///< ... that returned an error (any reason)
    std::uint64_t out_of_heap = 0;        ///< ... that failed because the heap was full
    std::uint64_t deallocate = 0;         ///< deallocate_memory calls
    std::uint64_t map = 0;                ///< map_memory calls
    std::uint64_t map_failed = 0;         ///< ... that returned an error
    std::uint64_t unmap = 0;              ///< unmap_memory calls
    std::uint64_t flush = 0;              ///< flush_memory_ranges calls
    std::uint64_t invalidate = 0;         ///< invalidate_memory_ranges calls
    std::uint64_t injected_failures = 0;  ///< calls failed by fault injection
};

/// What the device knows of a live object.
struct MockObjectInfo {
    std::uint64_t size = 0;  ///< bytes
    std::uint32_t memory_type = 0;
    std::uint32_t heap = 0;
    AllocationFlags flags = AllocationFlags::none;
    bool mapped = false;
    std::uint64_t map_offset = 0;  ///< when mapped: the mapped range, bytes
    std::uint64_t map_size = 0;
    bool dedicated = false;  ///< allocated with MemoryAllocateInfo::dedicated.kind != none
    float priority = 0.5f;
};

namespace detail {
struct MockDeviceState;
}

/// A strict, thread-safe MemoryDevice (with budget) over host memory; see the
/// top of this file. Neither copyable nor movable: the handles it gave out name
/// it. Create it in place, or get one by value from from_profile (guaranteed
/// copy elision: `MockDevice device = MockDevice::from_profile(p);`), or with
/// std::make_unique<MockDevice>(props) where it must live on the heap.
class MockDevice {
public:
    using Memory = MockMemory;

    /// A device with the given memory properties and no cost model.
    /// Requires: is_valid(props) (aborts with a message otherwise: a test with an
    /// invalid device cannot mean anything).
    explicit MockDevice(DeviceProperties props, MockDeviceOptions options = {});
    /// A device with the profile's properties and cost model.
    static MockDevice from_profile(const DeviceProfile& profile, MockDeviceOptions options = {});
    /// Reports every live object as MisuseKind::leak, then frees all host memory.
    ~MockDevice();

    MockDevice(const MockDevice&) = delete;
    MockDevice& operator=(const MockDevice&) = delete;

    // -- MemoryDevice ----------------------------------------------------------

    /// Creates an object. Misuse (reported, returns out_of_device_memory): size 0,
    /// size > max_memory_allocation_size, type out of range, device_address
    /// without buffer_device_address, max_memory_allocation_count objects alive.
    /// Errors: out_of_device_memory when the heap (or its limit, see
    /// set_heap_size_limit) cannot hold it; injected failures.
    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo& info);
    /// Destroys an object. Misuse (reported, nothing else happens): unknown,
    /// foreign or already deallocated memory. Deallocating a mapped object is
    /// reported and then unmaps and destroys it; so is deallocating an object
    /// while another call on it is in progress (concurrent_calls_on_object).
    void deallocate_memory(Memory memory);
    /// Maps [offset, offset + size); returns the host address of `offset`. The
    /// bytes are zero until written and persist until the object is deallocated.
    /// Misuse (reported, returns map_failed): bad handle, type not host_visible,
    /// already mapped, size 0 or range not inside the object.
    /// Errors: map_failed when injected; out_of_host_memory when the host
    /// memory cannot be reserved.
    /// Map, unmap, flush and invalidate also report (only) a call on an object
    /// that another of these calls is still working on: concurrent_calls_on_object.
    Result<std::byte*, DeviceMapError> map_memory(const Memory& memory, std::uint64_t offset, std::uint64_t size);
    /// Unmaps. Misuse (reported only): bad handle, not mapped.
    void unmap_memory(const Memory& memory);
    /// Checks each range; does nothing else (host memory is coherent).
    /// Misuse (reported only): bad handle, not mapped, range not inside the mapped
    /// range, and on memory without host_coherent an offset that is not a multiple
    /// of non_coherent_atom_size or a size that is neither a multiple of it nor
    /// reaches the end of the object.
    /// Errors: out_of_host_memory when injected.
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges);
    /// Same checks and errors as flush_memory_ranges.
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges);

    // -- MemoryDeviceWithBudget -------------------------------------------------

    /// Returns false when options.report_budget is false or heaps.size() is not
    /// the heap count; else fills each heap's budget (set_heap_budget, default
    /// the heap size) and usage (live bytes of that heap) and returns true.
    bool query_budget(std::span<HeapBudget> heaps);

    // -- Inspection ---------------------------------------------------------------

    /// The properties the device was created with.
    const DeviceProperties& properties() const noexcept;
    /// Every misuse reported so far, oldest first.
    std::vector<MisuseReport> misuse_reports() const;
    /// How many misuses were reported so far.
    std::size_t misuse_count() const;
    /// Forgets the recorded reports (the count starts again at 0).
    void clear_misuse_reports();
    /// Replaces the handler called on each misuse (after it is recorded). An empty
    /// function means: record only. Default: print "gpu_alloc MockDevice misuse:
    /// <kind>: <detail>" to stderr. It must not outlive what it captures.
    void set_misuse_handler(std::function<void(const MisuseReport&)> handler);

    /// Live objects now, and the most ever alive at once.
    std::uint64_t live_object_count() const;
    std::uint64_t peak_live_object_count() const;
    /// Bytes of live objects in `heap` now / at most so far; 0 for a heap out of range.
    std::uint64_t live_bytes(std::uint32_t heap) const;
    std::uint64_t peak_live_bytes(std::uint32_t heap) const;
    /// Call counters.
    MockCallCounts calls() const;
    /// The live object `memory`, or nullopt when it is not a live object of this device.
    std::optional<MockObjectInfo> object_info(Memory memory) const;
    /// Sum of cost.allocate_us over successful allocations plus cost.free_us over
    /// deallocations of live objects, microseconds; 0 without a cost model.
    double modeled_device_us() const;
    /// Replaces the cost model (from_profile sets the profile's).
    void set_cost_model(CostModel cost);

    // -- Fault injection ------------------------------------------------------------
    // Counts start at the call that arms them; each armed fault fires once
    // (fail_every_allocation: until turned off). An injected failure counts in
    // calls().injected_failures and is not misuse. A call counts even when it
    // is misuse.

    /// The n-th allocate_memory call from now (1 = the next one) fails with
    /// out_of_device_memory (out_of_host_memory with options.inject_host_oom).
    /// n = 0 disarms.
    void fail_nth_allocation(std::uint64_t n);
    /// From now on (on = true) every allocate_memory call fails with
    /// out_of_device_memory (out_of_host_memory with options.inject_host_oom),
    /// until fail_every_allocation(false) or clear_faults(). Unlike
    /// fail_nth_allocation, this makes GpuAllocator::allocate itself fail: one
    /// failed device allocation never does, because the allocator retries with
    /// smaller chunks, a dedicated object and the other suitable memory types.
    /// Each failed call counts as an injected failure.
    void fail_every_allocation(bool on);
    /// The n-th map_memory call from now fails with DeviceMapError::map_failed. n = 0 disarms.
    void fail_nth_map(std::uint64_t n);
    /// The n-th fallible call from now (allocate, map, flush, invalidate) fails,
    /// with that call's injected error. n = 0 disarms.
    void fail_nth_call(std::uint64_t n);
    /// From now on, each fallible call fails with probability p (0 to 1), drawn
    /// from a generator seeded with `seed`: the same calls fail on every run.
    /// p = 0 turns it off.
    void set_failure_probability(double p, std::uint64_t seed);
    /// What query_budget reports as the budget of `heap` from now on. Ignored for a
    /// heap out of range.
    void set_heap_budget(std::uint32_t heap, std::uint64_t bytes);
    /// Shrinks (or restores, up to the real size) the usable size of `heap`:
    /// later allocations that would take the heap's live bytes beyond `bytes`
    /// fail with out_of_device_memory. Live objects stay. Ignored for a heap out
    /// of range.
    void set_heap_size_limit(std::uint32_t heap, std::uint64_t bytes);
    /// Disarms every injected fault (fail_every_allocation included), turns random
    /// failures off, and restores the heap budgets and sizes.
    void clear_faults();

private:
    MockDevice(DeviceProperties props, MockDeviceOptions options, CostModel cost);

    std::unique_ptr<detail::MockDeviceState> state_;
};

static_assert(MemoryDevice<MockDevice>);
static_assert(MemoryDeviceWithBudget<MockDevice>);

}  // namespace gpu_alloc::mock
