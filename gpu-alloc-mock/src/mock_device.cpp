// The strict mock device (mock_device.hpp): contract checks, counters, host
// backing for mapped memory, and fault injection.
//
// Every public call takes the one mutex, does its checks and bookkeeping, and
// collects the misuse it found; the reports are handed to the user's handler
// only after the lock is released, so a handler may call back into the device.
// Map, unmap, flush and invalidate also mark each object they touch "in call"
// while they hold the lock, and drop the mark only when they return (flush and
// invalidate after the optional in_call_delay_us sleep, outside the lock): a
// second call that marks an object already marked overlaps the first one,
// which the MemoryDevice contract forbids, and is reported.
// Host backing is reserved with mmap (VirtualAlloc on Windows) rather than
// calloc: it is zero-filled and committed page by page as it is touched, and a
// huge reservation fails cleanly instead of tripping a sanitizer's allocator.
#include <gpu_alloc/mock/mock_device.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <sys/mman.h>
#endif

namespace gpu_alloc::mock {

std::string_view to_string(MisuseKind kind) noexcept {
    switch (kind) {
        case MisuseKind::zero_size: return "zero_size";
        case MisuseKind::size_over_max: return "size_over_max";
        case MisuseKind::memory_type_out_of_range: return "memory_type_out_of_range";
        case MisuseKind::device_address_not_enabled: return "device_address_not_enabled";
        case MisuseKind::too_many_objects: return "too_many_objects";
        case MisuseKind::unknown_memory: return "unknown_memory";
        case MisuseKind::foreign_memory: return "foreign_memory";
        case MisuseKind::double_free: return "double_free";
        case MisuseKind::use_after_free: return "use_after_free";
        case MisuseKind::deallocate_while_mapped: return "deallocate_while_mapped";
        case MisuseKind::map_not_host_visible: return "map_not_host_visible";
        case MisuseKind::map_while_mapped: return "map_while_mapped";
        case MisuseKind::map_out_of_range: return "map_out_of_range";
        case MisuseKind::unmap_not_mapped: return "unmap_not_mapped";
        case MisuseKind::range_not_mapped: return "range_not_mapped";
        case MisuseKind::range_out_of_range: return "range_out_of_range";
        case MisuseKind::range_misaligned: return "range_misaligned";
        case MisuseKind::leak: return "leak";
        case MisuseKind::concurrent_calls_on_object: return "concurrent_calls_on_object";
    }
    return "unknown MisuseKind";
}

std::ostream& operator<<(std::ostream& os, MisuseKind kind) { return os << to_string(kind); }

namespace detail {
namespace {

constexpr unsigned serial_shift = 40;
constexpr std::uint64_t number_mask = (std::uint64_t{1} << serial_shift) - 1;
constexpr std::uint64_t max_serial = (std::uint64_t{1} << (64 - serial_shift)) - 1;

// Serials of the devices created so far: 1, 2, ... (wrapping after 2^24 - 1 devices).
std::atomic<std::uint64_t> next_device_serial{0};

std::uint64_t new_device_serial() noexcept { return next_device_serial.fetch_add(1) % max_serial + 1; }

std::byte* reserve_host_memory(std::uint64_t size) noexcept {
#if defined(_WIN32)
    void* p = VirtualAlloc(nullptr, static_cast<SIZE_T>(size), MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    return static_cast<std::byte*>(p);
#else
    if (size > static_cast<std::uint64_t>(SIZE_MAX)) return nullptr;
    void* p = mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
#endif
}

void release_host_memory(std::byte* p, std::uint64_t size) noexcept {
    if (p == nullptr) return;
#if defined(_WIN32)
    (void)size;
    VirtualFree(p, 0, MEM_RELEASE);
#else
    munmap(p, static_cast<std::size_t>(size));
#endif
}

void print_misuse(const MisuseReport& report) {
    std::fprintf(stderr, "gpu_alloc MockDevice misuse: %.*s: %s\n", static_cast<int>(to_string(report.kind).size()),
                 to_string(report.kind).data(), report.detail.c_str());
}

}  // namespace

// How many calls are working on one object right now (0 or 1 when the contract
// is kept). Shared: a call drops its mark after the lock is released, when the
// object may already be gone (deallocated by an overlapping call, itself misuse).
using InCallCount = std::atomic<std::uint32_t>;

struct MockObject {
    std::shared_ptr<InCallCount> in_call = std::make_shared<InCallCount>(0);
    std::uint64_t size = 0;
    std::uint32_t memory_type = 0;
    std::uint32_t heap = 0;
    AllocationFlags flags = AllocationFlags::none;
    bool dedicated = false;
    float priority = 0.5f;
    bool mapped = false;
    std::uint64_t map_offset = 0;
    std::uint64_t map_size = 0;
    std::byte* backing = nullptr;  // reserved on the first map, kept until deallocation
};

// Misuse found during one call, delivered after the lock is released.
struct PendingReports {
    std::vector<MisuseReport> reports;
    std::function<void(const MisuseReport&)> handler;
    bool abort_after = false;

    void deliver() const {
        for (const MisuseReport& r : reports)
            if (handler) handler(r);
        if (abort_after && !reports.empty()) {
            std::fprintf(stderr, "gpu_alloc MockDevice: aborting on misuse (MockDeviceOptions::abort_on_misuse)\n");
            std::abort();
        }
    }
};

// The objects one call keeps marked in call; release() (or the destructor)
// drops the marks, outside the lock.
struct CallMarks {
    std::vector<std::shared_ptr<InCallCount>> held;

    CallMarks() = default;
    CallMarks(const CallMarks&) = delete;
    CallMarks& operator=(const CallMarks&) = delete;
    ~CallMarks() { release(); }
    void release() noexcept {
        for (const auto& count : held) count->fetch_sub(1);
        held.clear();
    }
};

// Whether a handle names a live object of this device, and if not, why not.
enum class HandleState : std::uint8_t { live, freed, foreign, unknown };

struct MockDeviceState {
    DeviceProperties props;
    MockDeviceOptions options;
    CostModel cost;
    std::uint64_t serial = 0;

    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, MockObject> objects;
    std::uint64_t next_number = 1;
    std::vector<std::uint64_t> live_bytes;
    std::vector<std::uint64_t> peak_bytes;
    std::vector<std::uint64_t> budget;
    std::vector<std::uint64_t> size_limit;
    std::uint64_t peak_objects = 0;
    MockCallCounts counts;
    double modeled_us = 0.0;

    std::vector<MisuseReport> reports;
    std::function<void(const MisuseReport&)> handler = print_misuse;

    // Fault injection: countdowns (0 = disarmed) and random failures.
    std::uint64_t fail_allocation_in = 0;
    std::uint64_t fail_map_in = 0;
    std::uint64_t fail_call_in = 0;
    bool fail_every_allocation = false;
    double failure_probability = 0.0;
    std::mt19937_64 rng;

    void reset_heap_faults() {
        budget.resize(props.memory_heaps.size());
        size_limit.resize(props.memory_heaps.size());
        for (std::size_t h = 0; h < props.memory_heaps.size(); ++h) {
            budget[h] = props.memory_heaps[h].size;
            size_limit[h] = props.memory_heaps[h].size;
        }
    }

    void report(PendingReports& pending, MisuseKind kind, std::string detail) {
        MisuseReport r{kind, std::move(detail)};
        reports.push_back(r);
        pending.reports.push_back(std::move(r));
        pending.handler = handler;
        pending.abort_after = options.abort_on_misuse;
    }

    std::string name(MockMemory memory) const {
        return "memory " + std::to_string(memory.id & number_mask) + " of device " +
               std::to_string(memory.id >> serial_shift);
    }

    HandleState classify(MockMemory memory) const {
        if (objects.count(memory.id) != 0) return HandleState::live;
        const std::uint64_t owner = memory.id >> serial_shift;
        const std::uint64_t number = memory.id & number_mask;
        if (owner == serial) return number >= 1 && number < next_number ? HandleState::freed : HandleState::unknown;
        if (owner != 0 && owner <= std::min(next_device_serial.load(), max_serial)) return HandleState::foreign;
        return HandleState::unknown;
    }

    // The live object `memory`, or nullptr after reporting why it is not one.
    // `op` names the call; `freed_kind` is the misuse of a deallocated handle.
    MockObject* find(PendingReports& pending, MockMemory memory, const std::string& op, MisuseKind freed_kind) {
        switch (classify(memory)) {
            case HandleState::live: return &objects.find(memory.id)->second;
            case HandleState::freed:
                report(pending, freed_kind, op + ": " + name(memory) + " was already deallocated");
                return nullptr;
            case HandleState::foreign:
                report(pending, MisuseKind::foreign_memory,
                       op + ": " + name(memory) + " belongs to another MockDevice (this is device " +
                           std::to_string(serial) + ")");
                return nullptr;
            case HandleState::unknown: break;
        }
        report(pending, MisuseKind::unknown_memory,
               op + ": id " + std::to_string(memory.id) + " was never created by a MockDevice");
        return nullptr;
    }

    // Marks `object` in call for the call `op` (once per call, however many of
    // its ranges name it); reports when another call has it marked.
    void mark(PendingReports& pending, CallMarks& marks, MockMemory memory, const MockObject& object,
              const std::string& op) {
        for (const auto& held : marks.held)
            if (held == object.in_call) return;
        if (object.in_call->fetch_add(1) != 0)
            report(pending, MisuseKind::concurrent_calls_on_object,
                   op + ": " + name(memory) +
                       " is in another call (map, unmap, flush or invalidate) at the same time; the "
                       "MemoryDevice contract allows one call per memory object at a time");
        marks.held.push_back(object.in_call);
    }

    // The optional sleep of flush/invalidate with their objects marked (outside the lock).
    void in_call_delay() const {
        if (options.in_call_delay_us != 0)
            std::this_thread::sleep_for(std::chrono::microseconds(options.in_call_delay_us));
    }

    static bool tick(std::uint64_t& countdown) {
        if (countdown == 0) return false;
        return --countdown == 0;
    }

    // Advances every fault counter that applies to this call; true when one fires.
    bool inject(std::uint64_t* specific) {
        bool fail = false;
        if (specific != nullptr && tick(*specific)) fail = true;
        if (tick(fail_call_in)) fail = true;
        if (failure_probability > 0.0) {
            // 53 random bits -> [0, 1): the same on every platform, unlike the std distributions.
            const double draw = static_cast<double>(rng() >> 11) * 0x1.0p-53;
            if (draw < failure_probability) fail = true;
        }
        return fail;
    }

    void check_ranges(PendingReports& pending, CallMarks& marks, std::span<const MappedMemoryRange<MockMemory>> ranges,
                      const char* op_name) {
        const std::uint64_t atom = props.non_coherent_atom_size;
        for (std::size_t i = 0; i < ranges.size(); ++i) {
            const MappedMemoryRange<MockMemory>& range = ranges[i];
            const std::string op = std::string(op_name) + ": ranges[" + std::to_string(i) + "]";
            if (range.memory == nullptr) {
                report(pending, MisuseKind::unknown_memory, op + ".memory is null");
                continue;
            }
            MockObject* object = find(pending, *range.memory, op, MisuseKind::use_after_free);
            if (object == nullptr) continue;
            mark(pending, marks, *range.memory, *object, op_name);
            const std::string what = op + " (" + name(*range.memory) + ", offset " + std::to_string(range.offset) +
                                     ", size " + std::to_string(range.size) + ")";
            if (!object->mapped) {
                report(pending, MisuseKind::range_not_mapped, what + ": the object is not mapped");
                continue;
            }
            const std::uint64_t map_end = object->map_offset + object->map_size;
            if (range.offset < object->map_offset || range.offset > map_end || range.size > map_end - range.offset) {
                report(pending, MisuseKind::range_out_of_range,
                       what + ": not inside the mapped range [" + std::to_string(object->map_offset) + ", " +
                           std::to_string(map_end) + ")");
                continue;
            }
            const MemoryPropertyFlags type_props = props.memory_types[object->memory_type].props;
            if (contains(type_props, MemoryPropertyFlags::host_coherent)) continue;
            if (range.offset % atom != 0)
                report(pending, MisuseKind::range_misaligned,
                       what + ": offset is not a multiple of non_coherent_atom_size " + std::to_string(atom));
            else if (range.size % atom != 0 && range.offset + range.size != object->size)
                report(pending, MisuseKind::range_misaligned,
                       what + ": size is not a multiple of non_coherent_atom_size " + std::to_string(atom) +
                           " and does not reach the end of the object (" + std::to_string(object->size) + " bytes)");
        }
    }
};

}  // namespace detail

// -- Construction -----------------------------------------------------------------

MockDevice::MockDevice(DeviceProperties props, MockDeviceOptions options)
    : MockDevice(std::move(props), options, CostModel{}) {}

MockDevice::MockDevice(DeviceProperties props, MockDeviceOptions options, CostModel cost)
    : state_(std::make_unique<detail::MockDeviceState>()) {
    if (!is_valid(props)) {
        std::fprintf(stderr, "gpu_alloc MockDevice: the DeviceProperties do not satisfy is_valid()\n");
        std::abort();
    }
    detail::MockDeviceState& s = *state_;
    s.props = std::move(props);
    s.options = options;
    s.cost = std::move(cost);
    s.serial = detail::new_device_serial();
    s.live_bytes.assign(s.props.memory_heaps.size(), 0);
    s.peak_bytes.assign(s.props.memory_heaps.size(), 0);
    s.reset_heap_faults();
}

MockDevice MockDevice::from_profile(const DeviceProfile& profile, MockDeviceOptions options) {
    return MockDevice(profile.properties, options, profile.cost);
}

MockDevice::~MockDevice() {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    {
        std::lock_guard lock(s.mutex);
        std::vector<std::pair<std::uint64_t, detail::MockObject>> live(s.objects.begin(), s.objects.end());
        std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [id, object] : live) {
            s.report(pending, MisuseKind::leak,
                     s.name(MockMemory{id}) + ": " + std::to_string(object.size) + " bytes of memory type " +
                         std::to_string(object.memory_type) + " still alive when the device is destroyed" +
                         (object.mapped ? " (and mapped)" : ""));
            detail::release_host_memory(object.backing, object.size);
        }
        s.objects.clear();
    }
    pending.deliver();
}

// -- MemoryDevice ---------------------------------------------------------------------

Result<MockMemory, OutOfMemory> MockDevice::allocate_memory(const MemoryAllocateInfo& info) {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    Result<MockMemory, OutOfMemory> result = unexpected(OutOfMemory::out_of_device_memory);
    {
        std::lock_guard lock(s.mutex);
        ++s.counts.allocate;
        const bool injected = s.inject(&s.fail_allocation_in) || s.fail_every_allocation;
        const std::string op = "allocate_memory(size " + std::to_string(info.size) + ", type " +
                               std::to_string(info.memory_type) + ")";
        const std::size_t misuse_before = pending.reports.size();
        if (info.size == 0) s.report(pending, MisuseKind::zero_size, op + ": size is 0");
        if (info.size > s.props.max_memory_allocation_size)
            s.report(pending, MisuseKind::size_over_max,
                     op + ": size exceeds max_memory_allocation_size " +
                         std::to_string(s.props.max_memory_allocation_size));
        if (info.memory_type >= s.props.memory_types.size())
            s.report(pending, MisuseKind::memory_type_out_of_range,
                     op + ": the device has " + std::to_string(s.props.memory_types.size()) + " memory types");
        if (contains(info.flags, AllocationFlags::device_address) && !s.props.buffer_device_address)
            s.report(pending, MisuseKind::device_address_not_enabled,
                     op + ": AllocationFlags::device_address without buffer_device_address");
        if (s.objects.size() >= s.props.max_memory_allocation_count)
            s.report(pending, MisuseKind::too_many_objects,
                     op + ": already " + std::to_string(s.objects.size()) +
                         " live objects (max_memory_allocation_count)");

        if (pending.reports.size() != misuse_before) {
            ++s.counts.allocate_failed;
        } else if (injected) {
            ++s.counts.allocate_failed;
            ++s.counts.injected_failures;
            result = unexpected(s.options.inject_host_oom ? OutOfMemory::out_of_host_memory
                                                          : OutOfMemory::out_of_device_memory);
        } else {
            const std::uint32_t heap = s.props.memory_types[info.memory_type].heap;
            const std::uint64_t limit = std::min(s.size_limit[heap], s.props.memory_heaps[heap].size);
            const std::uint64_t used = s.live_bytes[heap];
            if (info.size > limit || used > limit - info.size || s.next_number > detail::number_mask) {
                ++s.counts.allocate_failed;
                ++s.counts.out_of_heap;
            } else {
                const MockMemory memory{(s.serial << detail::serial_shift) | s.next_number++};
                detail::MockObject object;
                object.size = info.size;
                object.memory_type = info.memory_type;
                object.heap = heap;
                object.flags = info.flags;
                object.dedicated = info.dedicated.kind != DedicatedResourceKind::none;
                object.priority = info.priority;
                s.objects.emplace(memory.id, object);
                s.live_bytes[heap] += info.size;
                s.peak_bytes[heap] = std::max(s.peak_bytes[heap], s.live_bytes[heap]);
                s.peak_objects = std::max<std::uint64_t>(s.peak_objects, s.objects.size());
                s.modeled_us += s.cost.allocate_us(info.memory_type, info.size);
                result = memory;
            }
        }
    }
    pending.deliver();
    return result;
}

void MockDevice::deallocate_memory(MockMemory memory) {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    {
        std::lock_guard lock(s.mutex);
        ++s.counts.deallocate;
        const std::string op = "deallocate_memory";
        detail::MockObject* object = s.find(pending, memory, op, MisuseKind::double_free);
        if (object != nullptr) {
            if (object->mapped)
                s.report(pending, MisuseKind::deallocate_while_mapped,
                         op + ": " + s.name(memory) + " is still mapped (it is unmapped and destroyed)");
            if (object->in_call->load() != 0)
                s.report(pending, MisuseKind::concurrent_calls_on_object,
                         op + ": " + s.name(memory) +
                             " is in another call (map, unmap, flush or invalidate) at the same time (it is "
                             "destroyed)");
            s.live_bytes[object->heap] -= object->size;
            s.modeled_us += s.cost.free_us(object->memory_type, object->size);
            detail::release_host_memory(object->backing, object->size);
            s.objects.erase(memory.id);
        }
    }
    pending.deliver();
}

Result<std::byte*, DeviceMapError> MockDevice::map_memory(const MockMemory& memory, std::uint64_t offset,
                                                          std::uint64_t size) {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    detail::CallMarks marks;
    Result<std::byte*, DeviceMapError> result = unexpected(DeviceMapError::map_failed);
    {
        std::lock_guard lock(s.mutex);
        ++s.counts.map;
        const bool injected = s.inject(&s.fail_map_in);
        const std::string op = "map_memory(offset " + std::to_string(offset) + ", size " + std::to_string(size) + ")";
        detail::MockObject* object = s.find(pending, memory, op, MisuseKind::use_after_free);
        bool misuse = object == nullptr;
        if (object != nullptr) {
            s.mark(pending, marks, memory, *object, "map_memory");
            const std::string what = op + ": " + s.name(memory);
            if (!contains(s.props.memory_types[object->memory_type].props, MemoryPropertyFlags::host_visible)) {
                s.report(pending, MisuseKind::map_not_host_visible,
                         what + " is of memory type " + std::to_string(object->memory_type) +
                             ", which is not host_visible");
                misuse = true;
            }
            if (object->mapped) {
                s.report(pending, MisuseKind::map_while_mapped, what + " is already mapped");
                misuse = true;
            }
            if (size == 0 || size > object->size || offset > object->size - size) {
                s.report(pending, MisuseKind::map_out_of_range,
                         what + ": the range is empty or not inside the object (" + std::to_string(object->size) +
                             " bytes)");
                misuse = true;
            }
        }
        if (misuse) {
            ++s.counts.map_failed;
        } else if (injected) {
            ++s.counts.map_failed;
            ++s.counts.injected_failures;
        } else {
            if (object->backing == nullptr) object->backing = detail::reserve_host_memory(object->size);
            if (object->backing == nullptr) {
                ++s.counts.map_failed;
                result = unexpected(DeviceMapError::out_of_host_memory);
            } else {
                object->mapped = true;
                object->map_offset = offset;
                object->map_size = size;
                result = object->backing + offset;
            }
        }
    }
    marks.release();
    pending.deliver();
    return result;
}

void MockDevice::unmap_memory(const MockMemory& memory) {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    detail::CallMarks marks;
    {
        std::lock_guard lock(s.mutex);
        ++s.counts.unmap;
        const std::string op = "unmap_memory";
        detail::MockObject* object = s.find(pending, memory, op, MisuseKind::use_after_free);
        if (object != nullptr) {
            s.mark(pending, marks, memory, *object, op);
            if (!object->mapped) s.report(pending, MisuseKind::unmap_not_mapped, op + ": " + s.name(memory) + " is not mapped");
            object->mapped = false;
            object->map_offset = 0;
            object->map_size = 0;
        }
    }
    marks.release();
    pending.deliver();
}

Result<void, OutOfMemory> MockDevice::flush_memory_ranges(std::span<const MappedMemoryRange<MockMemory>> ranges) {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    detail::CallMarks marks;
    bool injected = false;
    {
        std::lock_guard lock(s.mutex);
        ++s.counts.flush;
        injected = s.inject(nullptr);
        if (injected) ++s.counts.injected_failures;
        s.check_ranges(pending, marks, ranges, "flush_memory_ranges");
    }
    s.in_call_delay();
    marks.release();
    pending.deliver();
    if (injected) return unexpected(OutOfMemory::out_of_host_memory);
    return {};
}

Result<void, OutOfMemory> MockDevice::invalidate_memory_ranges(std::span<const MappedMemoryRange<MockMemory>> ranges) {
    detail::MockDeviceState& s = *state_;
    detail::PendingReports pending;
    detail::CallMarks marks;
    bool injected = false;
    {
        std::lock_guard lock(s.mutex);
        ++s.counts.invalidate;
        injected = s.inject(nullptr);
        if (injected) ++s.counts.injected_failures;
        s.check_ranges(pending, marks, ranges, "invalidate_memory_ranges");
    }
    s.in_call_delay();
    marks.release();
    pending.deliver();
    if (injected) return unexpected(OutOfMemory::out_of_host_memory);
    return {};
}

bool MockDevice::query_budget(std::span<HeapBudget> heaps) {
    detail::MockDeviceState& s = *state_;
    std::lock_guard lock(s.mutex);
    if (!s.options.report_budget || heaps.size() != s.props.memory_heaps.size()) return false;
    for (std::size_t h = 0; h < heaps.size(); ++h) heaps[h] = HeapBudget{s.budget[h], s.live_bytes[h]};
    return true;
}

// -- Inspection --------------------------------------------------------------------------

const DeviceProperties& MockDevice::properties() const noexcept { return state_->props; }

std::vector<MisuseReport> MockDevice::misuse_reports() const {
    std::lock_guard lock(state_->mutex);
    return state_->reports;
}

std::size_t MockDevice::misuse_count() const {
    std::lock_guard lock(state_->mutex);
    return state_->reports.size();
}

void MockDevice::clear_misuse_reports() {
    std::lock_guard lock(state_->mutex);
    state_->reports.clear();
}

void MockDevice::set_misuse_handler(std::function<void(const MisuseReport&)> handler) {
    std::lock_guard lock(state_->mutex);
    state_->handler = std::move(handler);
}

std::uint64_t MockDevice::live_object_count() const {
    std::lock_guard lock(state_->mutex);
    return state_->objects.size();
}

std::uint64_t MockDevice::peak_live_object_count() const {
    std::lock_guard lock(state_->mutex);
    return state_->peak_objects;
}

std::uint64_t MockDevice::live_bytes(std::uint32_t heap) const {
    std::lock_guard lock(state_->mutex);
    return heap < state_->live_bytes.size() ? state_->live_bytes[heap] : 0;
}

std::uint64_t MockDevice::peak_live_bytes(std::uint32_t heap) const {
    std::lock_guard lock(state_->mutex);
    return heap < state_->peak_bytes.size() ? state_->peak_bytes[heap] : 0;
}

MockCallCounts MockDevice::calls() const {
    std::lock_guard lock(state_->mutex);
    return state_->counts;
}

std::optional<MockObjectInfo> MockDevice::object_info(MockMemory memory) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->objects.find(memory.id);
    if (it == state_->objects.end()) return std::nullopt;
    const detail::MockObject& o = it->second;
    return MockObjectInfo{o.size,       o.memory_type, o.heap,      o.flags,   o.mapped,
                          o.map_offset, o.map_size,    o.dedicated, o.priority};
}

double MockDevice::modeled_device_us() const {
    std::lock_guard lock(state_->mutex);
    return state_->modeled_us;
}

void MockDevice::set_cost_model(CostModel cost) {
    std::lock_guard lock(state_->mutex);
    state_->cost = std::move(cost);
}

// -- Fault injection -------------------------------------------------------------------------

void MockDevice::fail_nth_allocation(std::uint64_t n) {
    std::lock_guard lock(state_->mutex);
    state_->fail_allocation_in = n;
}

void MockDevice::fail_every_allocation(bool on) {
    std::lock_guard lock(state_->mutex);
    state_->fail_every_allocation = on;
}

void MockDevice::fail_nth_map(std::uint64_t n) {
    std::lock_guard lock(state_->mutex);
    state_->fail_map_in = n;
}

void MockDevice::fail_nth_call(std::uint64_t n) {
    std::lock_guard lock(state_->mutex);
    state_->fail_call_in = n;
}

void MockDevice::set_failure_probability(double p, std::uint64_t seed) {
    std::lock_guard lock(state_->mutex);
    state_->failure_probability = std::clamp(p, 0.0, 1.0);
    state_->rng.seed(seed);
}

void MockDevice::set_heap_budget(std::uint32_t heap, std::uint64_t bytes) {
    std::lock_guard lock(state_->mutex);
    if (heap < state_->budget.size()) state_->budget[heap] = bytes;
}

void MockDevice::set_heap_size_limit(std::uint32_t heap, std::uint64_t bytes) {
    std::lock_guard lock(state_->mutex);
    if (heap < state_->size_limit.size()) state_->size_limit[heap] = bytes;
}

void MockDevice::clear_faults() {
    std::lock_guard lock(state_->mutex);
    state_->fail_allocation_in = 0;
    state_->fail_map_in = 0;
    state_->fail_call_in = 0;
    state_->fail_every_allocation = false;
    state_->failure_probability = 0.0;
    state_->reset_heap_faults();
}

}  // namespace gpu_alloc::mock
