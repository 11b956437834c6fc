// The trace replays of gpu-alloc-replay as Google Benchmarks, so that benches/
// has one harness style: replay/<workload>/<policy> times one full replay of a
// standard workload through GpuAllocator on the H100 mock device (the same
// replay_timed loop the tool times), baseline/<workload> the ID-table-only loop.
//
// Traces: GPU_ALLOC_REPLAY_TRACES=DIR replays DIR/<workload>.trace (e.g. the
// full-scale output of gen_traces.py or gpu-alloc-replay --generate);
// otherwise the workloads are generated in memory at GPU_ALLOC_REPLAY_SCALE
// (default 0.1, a tenth of the standard size, so a run takes seconds).
//
// Each iteration is one whole trace, timed manually around the loop only
// (allocator construction and the final cleanup are outside). Counters:
// ns_per_op (time per operation), overhead, device_allocations and
// peak_device_objects (from one checked run before timing, which must report
// no invariant violations).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include "replay.hpp"
#include "trace.hpp"
#include "workloads.hpp"

namespace {

using namespace gpu_alloc::replay;

const gpu_alloc::mock::DeviceProfile& profile() {
    static const gpu_alloc::mock::DeviceProfile p = [] {
        auto loaded = gpu_alloc::mock::load_profile(std::string(GPU_ALLOC_PROFILE_DIR) + "/nvidia-h100-vulkan.json");
        return loaded ? std::move(*loaded) : gpu_alloc::mock::DeviceProfile{};
    }();
    return p;
}

// The trace of `workload`, loaded or generated once, or null with `error` set.
const Trace* trace_for(const std::string& workload, std::string& error) {
    static std::map<std::string, std::unique_ptr<Trace>> cache;
    auto it = cache.find(workload);
    if (it != cache.end()) return it->second.get();
    std::unique_ptr<Trace> trace;
    if (const char* dir = std::getenv("GPU_ALLOC_REPLAY_TRACES")) {
        const std::string path = std::string(dir) + "/" + workload + ".trace";
        auto loaded = load_trace(path);
        if (!loaded) {
            error = to_string(loaded.error(), path);
            return nullptr;
        }
        trace = std::make_unique<Trace>(std::move(*loaded));
    } else {
        const char* scale_text = std::getenv("GPU_ALLOC_REPLAY_SCALE");
        const double scale = scale_text ? std::atof(scale_text) : 0.1;
        if (!(scale > 0)) {
            error = "GPU_ALLOC_REPLAY_SCALE must be a positive number";
            return nullptr;
        }
        std::string text;
        generate_workload(workload, 1, scale, text);
        auto parsed = parse_trace(text, workload);
        if (!parsed) {
            error = parsed.error().message;
            return nullptr;
        }
        trace = std::make_unique<Trace>(std::move(*parsed));
    }
    return cache.emplace(workload, std::move(trace)).first->second.get();
}

void replay(benchmark::State& state, const std::string& workload, gpu_alloc::StrategyPolicy policy) {
    std::string error;
    const Trace* trace = trace_for(workload, error);
    if (trace == nullptr || profile().properties.memory_types.empty()) {
        state.SkipWithError(trace == nullptr ? error.c_str() : "cannot load the H100 profile");
        return;
    }
    const auto& props = profile().properties;
    const gpu_alloc::Config config = config_for(props, policy);
    gpu_alloc::mock::MockDevice device(props);
    device.set_cost_model(profile().cost);
    device.set_misuse_handler({});
    const CheckedRun checked = replay_checked(device, *trace, props, config);
    if (checked.invariant_violations != 0) {
        state.SkipWithError(("invariant violations: " + checked.violation_messages.front()).c_str());
        return;
    }
    double total_ns = 0;
    for (auto _ : state) {
        const double ns = replay_timed(device, *trace, props, config);
        state.SetIterationTime(ns * 1e-9);
        total_ns += ns;
    }
    const double ops = static_cast<double>(trace->ops.size());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(trace->ops.size()));
    state.counters["ns_per_op"] = total_ns / (static_cast<double>(state.iterations()) * ops);
    state.counters["overhead"] = checked.peak_requested_bytes == 0
                                     ? 0.0
                                     : static_cast<double>(checked.peak_reserved_bytes) /
                                           static_cast<double>(checked.peak_requested_bytes);
    state.counters["device_allocations"] = static_cast<double>(checked.device_allocations);
    state.counters["peak_device_objects"] = static_cast<double>(checked.peak_device_objects);
    state.counters["failures"] = static_cast<double>(checked.failures);
}

void baseline(benchmark::State& state, const std::string& workload) {
    std::string error;
    const Trace* trace = trace_for(workload, error);
    if (trace == nullptr) {
        state.SkipWithError(error.c_str());
        return;
    }
    double total_ns = 0;
    for (auto _ : state) {
        const double ns = baseline_timed<gpu_alloc::mock::MockMemory>(*trace);
        state.SetIterationTime(ns * 1e-9);
        total_ns += ns;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(trace->ops.size()));
    state.counters["ns_per_op"] = total_ns / (static_cast<double>(state.iterations()) * static_cast<double>(trace->ops.size()));
}

const bool registered = [] {
    constexpr gpu_alloc::StrategyPolicy policies[] = {
        gpu_alloc::StrategyPolicy::automatic, gpu_alloc::StrategyPolicy::free_list, gpu_alloc::StrategyPolicy::buddy,
        gpu_alloc::StrategyPolicy::slab, gpu_alloc::StrategyPolicy::dedicated};
    for (std::string_view w : workload_names) {
        const std::string workload(w);
        benchmark::RegisterBenchmark(("baseline/" + workload).c_str(),
                                     [workload](benchmark::State& s) { baseline(s, workload); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
        for (gpu_alloc::StrategyPolicy policy : policies) {
            benchmark::RegisterBenchmark(("replay/" + workload + "/" + std::string(policy_name(policy))).c_str(),
                                         [workload, policy](benchmark::State& s) { replay(s, workload, policy); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
        }
    }
    return true;
}();

}  // namespace
