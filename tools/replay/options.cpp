// Command-line parsing for gpu-alloc-replay: no exceptions, every error a message.
#include "options.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include "replay.hpp"
#include "workloads.hpp"

namespace gpu_alloc::replay {

namespace {

template <class T>
bool parse_integer(std::string_view text, T& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size();
}

bool parse_double(std::string_view text, double& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

bool vulkan_available() noexcept {
#ifdef GPU_ALLOC_REPLAY_VULKAN
    return true;
#else
    return false;
#endif
}

std::string usage_text() {
    std::string text =
        "usage: gpu-alloc-replay [--profile PATH] [--policy default|buddy|free-list|slab|dedicated]\n"
        "                        [--runs N] [--json PATH] [--svg PATH] [--defrag-every N]";
    if (vulkan_available()) text += " [--vulkan]";
    text +=
        " TRACE...\n"
        "       gpu-alloc-replay --generate DIR [--scale F] [--seed N] [--only NAME[,NAME...]]\n"
        "\n"
        "Replays allocation traces (format v1, see docs/replay.md) through GpuAllocator on the\n"
        "strict mock device of a device profile, checks invariants on every step, and reports\n"
        "per trace: ops, ns_per_op, baseline_ns_per_op, peak_requested_bytes, peak_reserved_bytes,\n"
        "overhead, device_allocations, peak_device_objects, failures, invariant_violations,\n"
        "modeled_device_ms.\n"
        "\n"
        "  --profile PATH  device profile JSON (default: nvidia-h100-vulkan.json of the project)\n"
        "  --policy P      strategy policy: default (by size and usage) or one strategy for all\n"
        "  --runs N        timed runs per trace, the median is reported (default 5, 0: checked run only)\n"
        "  --json PATH     also write the report as JSON\n"
        "  --svg PATH      draw the memory map at peak reservation (one section per trace)\n"
        "  --defrag-every N  also replay each trace defragmenting every N operations and report\n"
        "                  device objects and overhead before and after (mock device only)\n";
    if (vulkan_available())
        text += "  --vulkan        replay on a real Vulkan device (GPU_ALLOC_VK_DEVICE=<name part> picks one)\n";
    text +=
        "  --generate DIR  write the standard workloads (churn, frames, streaming, small) to DIR,\n"
        "                  byte for byte what the reference Python generator writes\n"
        "  --scale F       workload scale (default 1.0; 0.01 takes a second)\n"
        "  --seed N        workload seed (default 1)\n"
        "  --only NAMES    comma-separated subset of the workloads\n"
        "\n"
        "Exit status: 0 success, 1 invariant violations, 2 bad command line, profile or trace.\n";
    return text;
}

Result<Options, std::string> parse_options(int argc, const char* const* argv) {
    Options o;
    bool replay_option = false;
    bool generate_option = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view& out) -> bool {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        std::string_view v;
        if (arg == "-h" || arg == "--help") {
            o.help = true;
        } else if (arg == "--profile") {
            if (!value(v)) return unexpected(std::string("--profile needs a path"));
            o.profile = v;
            replay_option = true;
        } else if (arg == "--policy") {
            if (!value(v) || !parse_policy(v, o.policy))
                return unexpected(std::string("--policy needs one of default, buddy, free-list, slab, dedicated"));
            replay_option = true;
        } else if (arg == "--defrag-every") {
            if (!value(v) || !parse_integer(v, o.defrag_every) || o.defrag_every == 0)
                return unexpected(std::string("--defrag-every needs a number of operations above 0"));
            replay_option = true;
        } else if (arg == "--runs") {
            if (!value(v) || !parse_integer(v, o.runs) || o.runs > 1000)
                return unexpected(std::string("--runs needs a number from 0 to 1000"));
            replay_option = true;
        } else if (arg == "--json") {
            if (!value(v)) return unexpected(std::string("--json needs a path"));
            o.json_path = v;
            replay_option = true;
        } else if (arg == "--svg") {
            if (!value(v)) return unexpected(std::string("--svg needs a path"));
            o.svg_path = v;
            replay_option = true;
        } else if (arg == "--vulkan" && vulkan_available()) {
            o.vulkan = true;
            replay_option = true;
        } else if (arg == "--generate") {
            if (!value(v) || v.empty()) return unexpected(std::string("--generate needs a directory"));
            o.generate_dir = v;
        } else if (arg == "--scale") {
            if (!value(v) || !parse_double(v, o.scale) || !std::isfinite(o.scale) || o.scale <= 0 || o.scale > 1000)
                return unexpected(std::string("--scale needs a number above 0 (at most 1000)"));
            generate_option = true;
        } else if (arg == "--seed") {
            if (!value(v) || !parse_integer(v, o.seed)) return unexpected(std::string("--seed needs an integer"));
            generate_option = true;
        } else if (arg == "--only") {
            if (!value(v)) return unexpected(std::string("--only needs workload names"));
            while (!v.empty()) {
                const std::size_t comma = v.find(',');
                const std::string_view name = v.substr(0, comma);
                if (!name.empty()) {
                    if (!is_workload(name))
                        return unexpected("unknown workload '" + std::string(name) +
                                          "' (churn, frames, streaming, small)");
                    o.only.emplace_back(name);
                }
                if (comma == std::string_view::npos) break;
                v.remove_prefix(comma + 1);
            }
            generate_option = true;
        } else if (arg.size() > 1 && arg.front() == '-') {
            return unexpected("unknown option '" + std::string(arg) + "'");
        } else {
            o.traces.emplace_back(arg);
        }
    }
    if (o.help) return o;
    if (!o.generate_dir.empty()) {
        if (replay_option || !o.traces.empty())
            return unexpected(std::string("--generate takes only --scale, --seed and --only"));
        if (o.only.empty())
            for (std::string_view w : workload_names) o.only.emplace_back(w);
        return o;
    }
    if (generate_option) return unexpected(std::string("--scale, --seed and --only go with --generate"));
    if (o.vulkan && !o.profile.empty()) return unexpected(std::string("--vulkan replays on a real device: no --profile"));
    if (o.vulkan && o.defrag_every != 0) return unexpected(std::string("--defrag-every runs on the mock device: no --vulkan"));
    if (o.traces.empty()) return unexpected(std::string("no trace given"));
    return o;
}

}  // namespace gpu_alloc::replay
