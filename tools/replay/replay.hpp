// The replay loops: a parsed trace driven through GpuAllocator on any
// MemoryDevice (the strict mock, or a real device through an adapter).
//
// Three loops over the same pre-parsed operations:
//   - replay_checked: every step checked (InvariantChecker), the peaks read
//     from GpuAllocator::totals() after every operation, failures counted by
//     kind; not timed. It also finds the operation at which reserved bytes peak
//     (the fullest moment among those at the peak), for the memory map.
//   - replay_timed: allocate / deallocate and the ID map, nothing else,
//     between two clock reads. On the mock the clock is the thread's CPU
//     time (Clock::thread_cpu): on a shared machine wall time also counts the
//     time other processes held the core; on a quiet one the two agree. On a
//     real device it is wall time (Clock::wall), since a driver call may
//     wait, and that waiting is part of what the replay measures.
//   - baseline_timed: the same loop with only the ID table: insert on "a",
//     take on "f", in the same IdTable holding a trivially copyable value of
//     a MemoryBlock's size instead of the block. Storing and fetching block-sized
//     values at random slots is most of what a replay loop costs besides the
//     allocator (cache misses on a table of 100,000 live blocks), so
//     ns_per_op - baseline_ns_per_op is the allocator's own cost (and the
//     device's: for the mock, its bookkeeping per memory object).
// A free whose allocation failed is skipped in every loop (the trace parser
// already refused frees of IDs that were never allocated). Allocations still
// live at the end of a trace are given back after the clock stops.
//
// Every request accepts any memory type the device can use (the trace format
// has no type mask), with the trace's size, alignment, usage and kind.
#pragma once

#include <array>
#include <ctime>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>

#include "id_map.hpp"
#include "invariant_checker.hpp"
#include "trace.hpp"

namespace gpu_alloc::replay {

/// Number of AllocationErrorKind values (for failure counts by kind).
inline constexpr std::size_t allocation_error_kind_count = 6;

/// What the checked run measured.
struct CheckedRun {
    std::uint64_t ops = 0;                   ///< allocate + free operations replayed
    std::uint64_t peak_requested_bytes = 0;  ///< most bytes of live blocks, as requested
    std::uint64_t peak_reserved_bytes = 0;   ///< most bytes of live device memory objects
    std::uint64_t device_allocations = 0;    ///< device memory objects created (cleanup included)
    std::uint64_t device_frees = 0;          ///< device memory objects destroyed (cleanup included)
    std::uint64_t peak_device_objects = 0;   ///< most device memory objects live at once
    std::uint64_t failures = 0;              ///< allocations the allocator refused
    std::array<std::uint64_t, allocation_error_kind_count> failures_by_kind{};  ///< by AllocationErrorKind
    std::uint64_t invariant_violations = 0;
    std::vector<std::string> violation_messages;  ///< the first few, "op N: ..."
    double modeled_device_us = 0;                 ///< the device's cost model over this run (0 without one)
    /// Index into Trace::ops of the operation after which reserved bytes were at
    /// their peak (the one with the most requested bytes among those); the
    /// memory map replays up to and including it. 0 for an empty trace.
    std::uint64_t peak_reserved_op = 0;
};

/// Bit mask of every memory type of `props`.
inline std::uint32_t all_memory_types(const DeviceProperties& props) noexcept {
    const auto n = props.memory_types.size();
    return n >= 32 ? ~0u : ((1u << n) - 1u);
}

/// The request for an allocate operation.
inline Request make_request(const TraceOp& op, std::uint32_t memory_types) noexcept {
    Request r;
    r.size = op.size;
    r.alignment = op.alignment;
    r.memory_types = memory_types;
    r.usage = op.usage;
    r.kind = op.kind;
    return r;
}

namespace detail {

/// How many operations ahead the timed loops prefetch: the hash slot of the
/// operation 2 * lookahead ahead, then the value of the one lookahead ahead
/// (whose hash slot is in cache by then). Both loops do the same, so the
/// baseline stays the loop minus the allocator. Without it, a table of 100,000
/// live blocks costs a cache miss or two per operation that the allocator's
/// locks (serializing atomics) keep from overlapping, and that would be
/// counted as allocator cost.
inline constexpr std::size_t lookahead = 8;

template <class V>
inline void prefetch_ahead(IdTable<V>& table, const TraceOp* op, const TraceOp* end) noexcept {
    if (end - op > static_cast<std::ptrdiff_t>(2 * lookahead)) table.prefetch_index(op[2 * lookahead].id);
    if (end - op > static_cast<std::ptrdiff_t>(lookahead) && op[lookahead].code == OpCode::free)
        table.prefetch_value(op[lookahead].id);
}

}  // namespace detail

/// The timed loops' clock.
enum class Clock : std::uint8_t {
    thread_cpu,  ///< CPU time of the replaying thread (CLOCK_THREAD_CPUTIME_ID)
    wall,        ///< monotonic wall time (CLOCK_MONOTONIC)
};

/// "thread_cpu" or "wall".
constexpr std::string_view to_string(Clock clock) noexcept { return clock == Clock::wall ? "wall" : "thread_cpu"; }

namespace detail {

/// Reads `clock`, nanoseconds.
inline double now_ns(Clock clock) noexcept {
    timespec t{};
    clock_gettime(clock == Clock::wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

template <class Memory>
std::uint64_t object_key(const Memory& memory) noexcept {
    if constexpr (requires { { memory.id } -> std::convertible_to<std::uint64_t>; }) {
        return memory.id;
    } else {
        static_assert(std::is_trivially_copyable_v<Memory> && sizeof(Memory) <= sizeof(std::uint64_t),
                      "replay needs memory handles that fit in 64 bits");
        std::uint64_t key = 0;
        std::memcpy(&key, &memory, sizeof(Memory));
        return key;
    }
}

template <class Device>
std::uint64_t object_size(const Device& device, const typename Device::Memory& memory) {
    if constexpr (requires { device.object_info(memory); }) {
        const auto info = device.object_info(memory);
        return info ? info->size : 0;
    } else {
        return 0;
    }
}

// The memory types a request may name on this device: all of them, less those
// the device cannot use (VulkanMemoryDevice::usable_memory_types()).
template <class Device>
std::uint32_t request_types(const Device& device, const DeviceProperties& props) noexcept {
    if constexpr (requires { { device.usable_memory_types() } -> std::convertible_to<std::uint32_t>; })
        return all_memory_types(props) & device.usable_memory_types();
    else
        return all_memory_types(props);
}

template <class Device>
double modeled_us(const Device& device) {
    if constexpr (requires { { device.modeled_device_us() } -> std::convertible_to<double>; })
        return device.modeled_device_us();
    else
        return 0.0;
}

template <class Device>
std::size_t device_misuse_count(const Device& device) {
    if constexpr (requires { device.misuse_count(); })
        return device.misuse_count();
    else
        return 0;
}

template <class Device>
void report_device_misuse(const Device& device, std::size_t first, std::uint64_t op_index, InvariantChecker& checker) {
    if constexpr (requires { device.misuse_reports(); }) {
        const auto reports = device.misuse_reports();
        for (std::size_t i = first; i < reports.size(); ++i)
            checker.report(op_index, "device misuse: " + reports[i].detail);
    }
}

// Gives back what a trace left live, then the chunks kept for reuse.
template <class Device, class Memory>
void release_all(Device& device, GpuAllocator<Memory>& allocator, IdTable<MemoryBlock<Memory>>& blocks) {
    blocks.for_each([&](std::uint64_t, MemoryBlock<Memory>& block) { allocator.deallocate(device, std::move(block)); });
    blocks.clear();
    allocator.cleanup(device);
}

}  // namespace detail

/// Replays `trace` on `device` with every invariant checked after each step.
/// Requires: `config` valid for props; the device holds no objects of this
/// allocator (a fresh allocator is made here and cleaned up at the end).
template <class Device>
CheckedRun replay_checked(Device& device, const Trace& trace, const DeviceProperties& props, const Config& config) {
    using Memory = typename Device::Memory;
    CheckedRun run;
    run.ops = trace.ops.size();
    GpuAllocator<Memory> allocator(props, config);
    InvariantChecker checker(props);
    IdTable<MemoryBlock<Memory>> blocks(trace.summary.peak_live);
    const std::uint32_t types = detail::request_types(device, props);
    const std::size_t device_misuse_before = detail::device_misuse_count(device);
    const double modeled_before = detail::modeled_us(device);
    std::vector<std::uint64_t> heap_reserved(props.memory_heaps.size(), 0);
    std::uint64_t requested_at_peak = 0;
    std::uint64_t last_allocations = 0;
    std::uint64_t last_objects = 0;

    for (std::uint64_t i = 0; i < trace.ops.size(); ++i) {
        const TraceOp& op = trace.ops[i];
        if (op.code == OpCode::allocate) {
            const Request request = make_request(op, types);
            auto block = allocator.allocate(device, request);
            if (!block) {
                ++run.failures;
                const auto kind = static_cast<std::size_t>(block.error().kind);
                if (kind < run.failures_by_kind.size()) ++run.failures_by_kind[kind];
            } else {
                CheckedBlock b;
                b.object = detail::object_key(block->memory());
                b.object_size = detail::object_size(device, block->memory());
                b.memory_type = block->memory_type();
                b.offset = block->offset();
                b.size = block->size();
                checker.on_allocate(i, request, b);
                if (!blocks.try_emplace(op.id, std::move(*block)))
                    checker.report(i, "ID " + std::to_string(op.id) + " allocated twice");
            }
        } else if (auto block = blocks.take(op.id)) {
            checker.on_free(i, detail::object_key(block->memory()), block->offset());
            allocator.deallocate(device, std::move(*block));
        }
        const TotalCounters t = allocator.totals();
        if (t.requested_bytes > run.peak_requested_bytes) run.peak_requested_bytes = t.requested_bytes;
        if (t.device_objects > run.peak_device_objects) run.peak_device_objects = t.device_objects;
        if (t.reserved_bytes > run.peak_reserved_bytes ||
            (t.reserved_bytes == run.peak_reserved_bytes && t.requested_bytes > requested_at_peak)) {
            run.peak_reserved_bytes = t.reserved_bytes;
            requested_at_peak = t.requested_bytes;
            run.peak_reserved_op = i;
        }
        if (t.block_count != checker.live_blocks())
            checker.report(i, "the allocator counts " + std::to_string(t.block_count) + " live blocks, the trace " +
                                  std::to_string(checker.live_blocks()));
        if (t.device_allocations != last_allocations || t.device_objects != last_objects) {
            last_allocations = t.device_allocations;
            last_objects = t.device_objects;
            const Statistics stats = allocator.statistics();
            for (std::size_t h = 0; h < heap_reserved.size() && h < stats.heaps.size(); ++h)
                heap_reserved[h] = stats.heaps[h].reserved_bytes;
            checker.check_heaps(i, heap_reserved, t.device_objects);
        }
    }

    detail::release_all(device, allocator, blocks);
    const TotalCounters end = allocator.totals();
    const Statistics stats = allocator.statistics();
    run.device_allocations = end.device_allocations;
    run.device_frees = stats.total.device_frees;
    const std::uint64_t last = trace.ops.empty() ? 0 : trace.ops.size() - 1;
    if (end.device_objects != 0 || end.block_count != 0 || end.reserved_bytes != 0)
        checker.report(last, "after giving back every block and cleanup, " + std::to_string(end.device_objects) +
                                 " device memory objects and " + std::to_string(end.block_count) +
                                 " blocks are still live");
    if (allocator.misuse_count() != 0)
        checker.report(last, std::to_string(allocator.misuse_count()) + " allocator misuse report(s)");
    detail::report_device_misuse(device, device_misuse_before, last, checker);
    run.modeled_device_us = detail::modeled_us(device) - modeled_before;
    run.invariant_violations = checker.violations();
    run.violation_messages = checker.messages();
    return run;
}

/// Replays `trace` on `device` with nothing but allocate, deallocate and the ID
/// map inside the clock. Returns: nanoseconds of the loop, by `clock`.
template <class Device>
double replay_timed(Device& device, const Trace& trace, const DeviceProperties& props, const Config& config,
                    Clock clock = Clock::thread_cpu) {
    using Memory = typename Device::Memory;
    GpuAllocator<Memory> allocator(props, config);
    IdTable<MemoryBlock<Memory>> blocks(trace.summary.peak_live);
    const std::uint32_t types = detail::request_types(device, props);
    const TraceOp* op = trace.ops.data();
    const TraceOp* const end = op + trace.ops.size();

    const double start = detail::now_ns(clock);
    for (; op != end; ++op) {
        detail::prefetch_ahead(blocks, op, end);
        if (op->code == OpCode::allocate) {
            auto block = allocator.allocate(device, make_request(*op, types));
            if (block) blocks.try_emplace(op->id, std::move(*block));
        } else if (auto block = blocks.take(op->id)) {
            allocator.deallocate(device, std::move(*block));
        }
    }
    const double stop = detail::now_ns(clock);
    detail::release_all(device, allocator, blocks);
    return stop - start;
}

/// The baseline's value: as large as a MemoryBlock<Memory>, trivially copyable.
template <std::size_t Bytes>
struct BaselineValue {
    std::uint64_t words[(Bytes + 7) / 8] = {};
};

namespace detail {
/// The baseline loop over values of `Bytes` bytes.
template <std::size_t Bytes>
double baseline_loop(const Trace& trace, Clock clock) {
    using Value = BaselineValue<Bytes>;
    IdTable<Value> table(trace.summary.peak_live);
    const TraceOp* op = trace.ops.data();
    const TraceOp* const end = op + trace.ops.size();
    std::uint64_t checksum = 0;

    const double start = now_ns(clock);
    for (; op != end; ++op) {
        prefetch_ahead(table, op, end);
        if (op->code == OpCode::allocate) {
            Value v;
            v.words[0] = op->size;
            table.try_emplace(op->id, v);
        } else if (auto v = table.take(op->id)) {
            checksum += v->words[0];
        }
    }
    const double stop = now_ns(clock);
    // Keeps the loop's results observable, so that nothing in it is optimized away.
    volatile std::uint64_t sink = checksum + table.size();
    (void)sink;
    return stop - start;
}
}  // namespace detail

/// The baseline: the replay loop doing only the ID table's insert and take,
/// with values of the size of a MemoryBlock<Memory> (see the file comment).
/// Returns: nanoseconds of the loop, by `clock`.
template <class Memory>
double baseline_timed(const Trace& trace, Clock clock = Clock::thread_cpu) {
    return detail::baseline_loop<sizeof(MemoryBlock<Memory>)>(trace, clock);
}

/// Replays trace.ops[0 .. last_op] with Config::track_blocks on and returns the
/// snapshot at that moment (then gives everything back).
template <class Device>
AllocatorSnapshot snapshot_after(Device& device, const Trace& trace, const DeviceProperties& props, Config config,
                                 std::uint64_t last_op) {
    using Memory = typename Device::Memory;
    config.track_blocks = true;
    GpuAllocator<Memory> allocator(props, config);
    IdTable<MemoryBlock<Memory>> blocks(trace.summary.peak_live);
    const std::uint32_t types = detail::request_types(device, props);
    for (std::uint64_t i = 0; i < trace.ops.size() && i <= last_op; ++i) {
        const TraceOp& op = trace.ops[i];
        if (op.code == OpCode::allocate) {
            auto block = allocator.allocate(device, make_request(op, types));
            if (block) blocks.try_emplace(op.id, std::move(*block));
        } else if (auto block = blocks.take(op.id)) {
            allocator.deallocate(device, std::move(*block));
        }
    }
    AllocatorSnapshot snapshot = allocator.snapshot();
    detail::release_all(device, allocator, blocks);
    return snapshot;
}

/// A trace's checked run and its timed runs.
struct TraceMeasurement {
    CheckedRun checked;
    std::vector<double> replay_ns;    ///< per timed run, the replay loop
    std::vector<double> baseline_ns;  ///< per timed run, the baseline loop
};

/// The checked run, then `runs` pairs of (baseline, timed replay), interleaved
/// so that both loops see the same machine, both timed by `clock`. Each replay uses a fresh allocator
/// on `device`, which must hold none of its objects between runs.
template <class Device>
TraceMeasurement measure_trace(Device& device, const Trace& trace, const DeviceProperties& props, const Config& config,
                               unsigned runs, Clock clock = Clock::thread_cpu) {
    TraceMeasurement m;
    m.checked = replay_checked(device, trace, props, config);
    for (unsigned r = 0; r < runs; ++r) {
        m.baseline_ns.push_back(baseline_timed<typename Device::Memory>(trace, clock));
        m.replay_ns.push_back(replay_timed(device, trace, props, config, clock));
    }
    return m;
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

/// Config::for_device(props) with `policy`.
Config config_for(const DeviceProperties& props, StrategyPolicy policy) noexcept;

/// "default", "buddy", "free-list", "slab", "dedicated" (the --policy values).
std::string_view policy_name(StrategyPolicy policy) noexcept;

/// Parses a --policy value. Returns false for an unknown name.
bool parse_policy(std::string_view name, StrategyPolicy& policy) noexcept;

}  // namespace gpu_alloc::replay
