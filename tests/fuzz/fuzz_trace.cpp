// libFuzzer target: the trace parser of gpu-alloc-replay
// (gpu_alloc::replay::parse_trace, tools/replay/trace.hpp).
//
// Whatever the bytes, parse_trace returns, and an error names a line and a
// problem. A trace it accepts is self-consistent: its summary counts exactly
// its operations (allocs, frees, live at the end, peak live, bytes), every free
// names a live id, every allocation has a size > 0 and a power-of-two
// alignment; and printing its operations back in the trace format and parsing
// that again gives the same operations and counts (frames aside).
#include <string>
#include <string_view>
#include <unordered_map>

#include "fuzz_input.hpp"
#include "trace.hpp"

namespace {

using namespace gpu_alloc::replay;

std::string print(const Trace& trace) {
    std::string out = "gpu-alloc-trace 1\n";
    for (const TraceOp& op : trace.ops) {
        if (op.code == OpCode::free) {
            out += "f " + std::to_string(op.id) + "\n";
        } else {
            out += "a " + std::to_string(op.id) + " " + std::to_string(op.size) + " " + std::to_string(op.alignment) +
                   (op.kind == gpu_alloc::ResourceKind::linear ? " buf " : " img ") + usage_to_trace_token(op.usage) +
                   "\n";
        }
    }
    return out;
}

void check_consistent(const Trace& trace) {
    std::unordered_map<std::uint64_t, std::uint64_t> live;  // id -> size
    TraceSummary counted;
    std::uint64_t live_bytes = 0;
    for (const TraceOp& op : trace.ops) {
        if (op.code == OpCode::allocate) {
            GPU_ALLOC_FUZZ_CHECK(op.size > 0);
            GPU_ALLOC_FUZZ_CHECK(op.alignment != 0 && (op.alignment & (op.alignment - 1)) == 0);
            GPU_ALLOC_FUZZ_CHECK(live.emplace(op.id, op.size).second);
            ++counted.allocs;
            counted.total_alloc_bytes += op.size;
            live_bytes += op.size;
            counted.peak_live = std::max<std::uint64_t>(counted.peak_live, live.size());
            counted.peak_live_bytes = std::max(counted.peak_live_bytes, live_bytes);
        } else {
            auto it = live.find(op.id);
            GPU_ALLOC_FUZZ_CHECK(it != live.end());
            live_bytes -= it->second;
            live.erase(it);
            ++counted.frees;
        }
    }
    counted.live_at_end = live.size();
    counted.frames = trace.summary.frames;
    GPU_ALLOC_FUZZ_CHECK(counted == trace.summary);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto trace = parse_trace(text, "fuzz");
    if (!trace) {
        GPU_ALLOC_FUZZ_CHECK(!trace.error().message.empty());
        GPU_ALLOC_FUZZ_CHECK(trace.error().line >= 1);
        return 0;
    }
    check_consistent(*trace);
    auto again = parse_trace(print(*trace), "fuzz");
    GPU_ALLOC_FUZZ_CHECK(again.has_value());
    GPU_ALLOC_FUZZ_CHECK(again->ops.size() == trace->ops.size());
    for (std::size_t i = 0; i < again->ops.size(); ++i) {
        const TraceOp& a = trace->ops[i];
        const TraceOp& b = again->ops[i];
        GPU_ALLOC_FUZZ_CHECK(a.code == b.code && a.id == b.id);
        if (a.code == OpCode::allocate)
            GPU_ALLOC_FUZZ_CHECK(a.size == b.size && a.alignment == b.alignment && a.kind == b.kind && a.usage == b.usage);
    }
    return 0;
}
