// gpu-alloc-replay's command line: what it accepts, and the usage text.
//
//   gpu-alloc-replay [--profile PATH] [--policy default|buddy|free-list|slab|dedicated]
//                    [--runs N] [--json PATH] [--svg PATH] TRACE...
//   gpu-alloc-replay --generate DIR [--scale F] [--seed N] [--only NAME[,NAME...]]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::replay {

/// Parsed command line.
struct Options {
    bool help = false;
    // Replay.
    std::string profile;  ///< empty: the default H100 profile
    StrategyPolicy policy = StrategyPolicy::automatic;
    unsigned runs = 5;
    std::string json_path;
    std::string svg_path;
    bool vulkan = false;
    /// > 0: also replay each trace with defragmentation every this many operations (mock only).
    std::uint64_t defrag_every = 0;
    std::vector<std::string> traces;
    // Generation.
    std::string generate_dir;  ///< non-empty: generate instead of replaying
    double scale = 1.0;
    std::int64_t seed = 1;
    std::vector<std::string> only;  ///< workloads to generate (all when empty)
};

/// Whether this build has --vulkan.
bool vulkan_available() noexcept;

/// Parses argv[1..argc). Errors: a message for an unknown option, a missing or
/// malformed value, no traces to replay, or generation options mixed with
/// replay options.
Result<Options, std::string> parse_options(int argc, const char* const* argv);

/// The usage text.
std::string usage_text();

}  // namespace gpu_alloc::replay
