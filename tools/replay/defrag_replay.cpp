#include "defrag_replay.hpp"

#include <cstdio>
#include <unordered_map>
#include <vector>

#include <gpu_alloc/defragmentation.hpp>
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include "replay.hpp"

namespace gpu_alloc::replay {

DefragReplay replay_with_defragmentation(const Trace& trace, const mock::DeviceProfile& profile,
                                         StrategyPolicy policy, std::uint64_t every) {
    using Memory = mock::MockMemory;
    DefragReplay out;
    out.every = every;
    mock::MockDevice device(profile.properties);
    GpuAllocator<Memory> allocator(profile.properties, config_for(profile.properties, policy));
    const std::uint32_t types = all_memory_types(profile.properties);
    std::unordered_map<std::uint64_t, MemoryBlock<Memory>> live;
    live.reserve(static_cast<std::size_t>(trace.summary.peak_live) + 1);
    std::vector<MemoryBlock<Memory>*> movable;

    for (std::uint64_t i = 0; i < trace.ops.size(); ++i) {
        const TraceOp& op = trace.ops[i];
        if (op.code == OpCode::allocate) {
            auto block = allocator.allocate(device, make_request(op, types));
            if (block) live.emplace(op.id, std::move(*block));
            else ++out.failures;
        } else if (auto it = live.find(op.id); it != live.end()) {
            allocator.deallocate(device, std::move(it->second));
            live.erase(it);
        }
        const TotalCounters before = allocator.totals();
        if (before.reserved_bytes > out.peak_reserved) out.peak_reserved = before.reserved_bytes;
        if (before.requested_bytes > out.peak_requested) out.peak_requested = before.requested_bytes;
        if ((i + 1) % every != 0 || live.empty()) continue;

        movable.clear();
        for (auto& [id, block] : live) movable.push_back(&block);
        DefragmentationOptions options;
        options.goal = DefragmentationGoal::full_compaction;
        Defragmentation<Memory> defrag(allocator, movable, options);
        while (!defrag.begin_pass(device).empty()) defrag.end_pass(device);  // the mock needs no copies
        const DefragmentationStats s = defrag.stats();
        const TotalCounters after = allocator.totals();
        ++out.points;
        out.passes += s.passes;
        out.moves += s.moves;
        out.bytes_moved += s.bytes_moved;
        out.objects_freed += s.device_objects_freed;
        if (before.reserved_bytes >= out.reserved_before) {
            out.op = i;
            out.requested = before.requested_bytes;
            out.reserved_before = before.reserved_bytes;
            out.reserved_after = after.reserved_bytes;
            out.objects_before = before.device_objects;
            out.objects_after = after.device_objects;
        }
    }
    for (auto& [id, block] : live) allocator.deallocate(device, std::move(block));
    allocator.cleanup(device);
    return out;
}

std::string format_defrag_row(const std::string& trace, const DefragReplay& d, bool header) {
    auto ratio = [](std::uint64_t a, std::uint64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); };
    char line[512];
    std::string out;
    if (header)
        out += "trace       every  points   moves  moved_GiB  objects_before  objects_after  overhead_before  "
               "overhead_after  peak_overhead  failures\n";
    std::snprintf(line, sizeof line, "%-10s %6llu %7llu %7llu %10.2f %15llu %14llu %16.3f %15.3f %14.3f %9llu\n",
                  trace.c_str(), static_cast<unsigned long long>(d.every), static_cast<unsigned long long>(d.points),
                  static_cast<unsigned long long>(d.moves), static_cast<double>(d.bytes_moved) / (1ull << 30),
                  static_cast<unsigned long long>(d.objects_before), static_cast<unsigned long long>(d.objects_after),
                  ratio(d.reserved_before, d.requested), ratio(d.reserved_after, d.requested),
                  ratio(d.peak_reserved, d.peak_requested), static_cast<unsigned long long>(d.failures));
    out += line;
    return out;
}

}  // namespace gpu_alloc::replay
