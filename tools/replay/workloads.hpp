// The project's own generator of the standard workloads (churn, frames,
// streaming, small): the C++ twin of gen_traces.py, the Python generator that
// first defined them (not part of this project).
//
// Why a twin: the replay tool's demo and tests should not need Python, and the
// numbers they print should be the numbers of the standard traces. So this is
// not a look-alike with "the same statistics": it draws its random numbers
// through PythonRandom (CPython's Mersenne Twister with its string seeding) in
// the order gen_traces.py does, with the same float arithmetic, and writes the
// same lines. For the same --seed and --scale, the output equals
// gen_traces.py's byte for byte except the generator name on line 2
// ("generator=gpu-alloc-replay"); tests check this when python3 is installed.
// The workload descriptions are gen_traces.py's docstring.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gpu_alloc/types/result.hpp>

#include "trace.hpp"

namespace gpu_alloc::replay {

/// The standard workloads, in gen_traces.py's order.
inline constexpr std::string_view workload_names[] = {"churn", "frames", "streaming", "small"};

/// True when `name` is one of workload_names.
bool is_workload(std::string_view name) noexcept;

/// Appends workload `name` at (`seed`, `scale`) to `out` as trace v1 text.
/// Requires: is_workload(name); scale > 0 and finite.
/// Returns: the summary it also writes on the trace's "# stats" line (equal to
/// what parse_trace computes from the text).
TraceSummary generate_workload(std::string_view name, std::int64_t seed, double scale, std::string& out);

/// One file written by write_workloads.
struct GeneratedTrace {
    std::string path;  ///< DIR/<name>.trace
    TraceSummary summary;
    std::uint64_t bytes = 0;  ///< file size
};

/// Writes DIR/<name>.trace for each of `names`, creating DIR (one level) if needed.
/// Requires: scale > 0 and finite.
/// Errors: a message naming an unknown workload, or the file or directory that
/// could not be written.
Result<std::vector<GeneratedTrace>, std::string> write_workloads(const std::string& dir,
                                                                 std::span<const std::string> names,
                                                                 std::int64_t seed, double scale);

}  // namespace gpu_alloc::replay
