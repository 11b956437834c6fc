// gpu-alloc-replay: replays allocation traces through GpuAllocator and reports
// what it cost, or generates the standard workloads. See options.hpp for the
// command line and docs/replay.md for the format and the numbers.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <gpu_alloc/mock/device_profile.hpp>

#include "defrag_replay.hpp"
#include "mock_replay.hpp"
#include "options.hpp"
#include "replay.hpp"
#include "report.hpp"
#include "svg_map.hpp"
#include "trace.hpp"
#include "workloads.hpp"

#ifdef GPU_ALLOC_REPLAY_VULKAN
#include "vulkan_replay.hpp"
#endif

namespace {

using namespace gpu_alloc::replay;

constexpr int exit_ok = 0;
constexpr int exit_violations = 1;
constexpr int exit_usage = 2;

int generate(const Options& o) {
    auto written = write_workloads(o.generate_dir, o.only, o.seed, o.scale);
    if (!written) {
        std::fprintf(stderr, "gpu-alloc-replay: %s\n", written.error().c_str());
        return exit_usage;
    }
    for (const GeneratedTrace& g : *written)
        std::printf("%s: %llu ops, peak_live=%llu, peak_live_bytes=%llu, %llu bytes\n", g.path.c_str(),
                    static_cast<unsigned long long>(g.summary.ops()),
                    static_cast<unsigned long long>(g.summary.peak_live),
                    static_cast<unsigned long long>(g.summary.peak_live_bytes),
                    static_cast<unsigned long long>(g.bytes));
    return exit_ok;
}

bool write_file(const std::string& path, const std::string& content) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
    return std::fclose(f) == 0 && ok;
}

int replay(const Options& o) {
    // Every trace is parsed (and validated) before anything is replayed.
    std::vector<Trace> traces;
    for (const std::string& path : o.traces) {
        auto trace = load_trace(path);
        if (!trace) {
            std::fprintf(stderr, "gpu-alloc-replay: %s\n", to_string(trace.error(), path).c_str());
            return exit_usage;
        }
        traces.push_back(std::move(*trace));
    }

    ReportHeader header;
    header.policy = std::string(policy_name(o.policy));
    header.runs = o.runs;
    gpu_alloc::mock::DeviceProfile profile;
#ifdef GPU_ALLOC_REPLAY_VULKAN
    std::unique_ptr<VulkanReplayDevice> vulkan;
    if (o.vulkan) {
        auto opened = VulkanReplayDevice::open();
        if (!opened) {
            std::fprintf(stderr, "gpu-alloc-replay: --vulkan: %s\n", opened.error().c_str());
            return exit_usage;
        }
        vulkan = std::move(*opened);
        header.device = vulkan->name();
        header.clock = std::string(to_string(Clock::wall));
        profile.properties = vulkan->properties();
    }
#endif
    if (!o.vulkan) {
        header.profile = o.profile.empty() ? default_profile_path() : o.profile;
        auto loaded = gpu_alloc::mock::load_profile(header.profile);
        if (!loaded) {
            std::fprintf(stderr, "gpu-alloc-replay: %s\n", loaded.error().message.c_str());
            return exit_usage;
        }
        profile = std::move(*loaded);
        header.device = profile.name;
    }
    // The replay on the chosen device: the profile's mock, or --vulkan's device.
    auto measure = [&](const Trace& trace) {
#ifdef GPU_ALLOC_REPLAY_VULKAN
        if (vulkan) return vulkan->measure(trace, o.policy, o.runs);
#endif
        return measure_on_mock(trace, profile, o.policy, o.runs);
    };
    auto snapshot_at = [&](const Trace& trace, std::uint64_t op) {
#ifdef GPU_ALLOC_REPLAY_VULKAN
        if (vulkan) return vulkan->snapshot(trace, o.policy, op);
#endif
        return snapshot_on_mock(trace, profile, o.policy, op);
    };

    std::vector<ReplayReport> reports;
    std::vector<SvgSection> maps;
    bool violations = false;
    for (const Trace& trace : traces) {
        std::fprintf(stderr, "replaying %s: %llu ops, %u timed run(s)\n", trace.name.c_str(),
                     static_cast<unsigned long long>(trace.ops.size()), o.runs);
        const TraceMeasurement m = measure(trace);
        reports.push_back(make_report(trace, m));
        const CheckedRun& c = m.checked;
        if (c.failures != 0) {
            std::fprintf(stderr, "%s: %llu allocation(s) failed:", trace.name.c_str(),
                         static_cast<unsigned long long>(c.failures));
            for (std::size_t k = 0; k < c.failures_by_kind.size(); ++k)
                if (c.failures_by_kind[k] != 0)
                    std::fprintf(stderr, " %llu %s;", static_cast<unsigned long long>(c.failures_by_kind[k]),
                                 std::string(to_string(static_cast<gpu_alloc::AllocationErrorKind>(k))).c_str());
            std::fprintf(stderr, "\n");
        }
        if (c.invariant_violations != 0) {
            violations = true;
            std::fprintf(stderr, "%s: %llu invariant violation(s), the first:\n", trace.name.c_str(),
                         static_cast<unsigned long long>(c.invariant_violations));
            for (const std::string& message : c.violation_messages) std::fprintf(stderr, "  %s\n", message.c_str());
        }
        if (!o.svg_path.empty()) {
            const gpu_alloc::AllocatorSnapshot snapshot = snapshot_at(trace, c.peak_reserved_op);
            SvgMapInfo info;
            info.trace = trace.name;
            info.device = header.device;
            info.policy = header.policy;
            info.op_index = c.peak_reserved_op;
            info.ops = trace.ops.size();
            maps.push_back(render_svg_section(snapshot, profile.properties, info));
        }
    }
    if (!o.svg_path.empty()) {
        if (!write_file(o.svg_path, assemble_svg(maps))) {
            std::fprintf(stderr, "gpu-alloc-replay: cannot write %s\n", o.svg_path.c_str());
            return exit_usage;
        }
        std::fprintf(stderr, "memory map at peak reservation written to %s\n", o.svg_path.c_str());
    }

    write_table(std::cout, header, reports);
    if (o.defrag_every != 0) {
        // Defragmentation figures: at the defragmentation point with the most
        // memory reserved before it; peak_overhead over the whole replay.
        std::cout << "\ndefragmentation every " << o.defrag_every << " operations (mock device):\n";
        for (std::size_t t = 0; t < traces.size(); ++t) {
            std::fprintf(stderr, "replaying %s with defragmentation\n", traces[t].name.c_str());
            const DefragReplay d = replay_with_defragmentation(traces[t], profile, o.policy, o.defrag_every);
            std::cout << format_defrag_row(traces[t].name, d, t == 0);
        }
    }
    std::cout.flush();
    if (!o.json_path.empty()) {
        std::ofstream json(o.json_path);
        write_json(json, header, reports);
        json.close();
        if (!json) {
            std::fprintf(stderr, "gpu-alloc-replay: cannot write %s\n", o.json_path.c_str());
            return exit_usage;
        }
    }
    return violations ? exit_violations : exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    auto options = parse_options(argc, argv);
    if (!options) {
        std::fprintf(stderr, "gpu-alloc-replay: %s\n\n%s", options.error().c_str(), usage_text().c_str());
        return exit_usage;
    }
    if (options->help) {
        std::printf("%s", usage_text().c_str());
        return exit_ok;
    }
    if (!options->generate_dir.empty()) return generate(*options);
    return replay(*options);
}
