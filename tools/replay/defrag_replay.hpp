// gpu-alloc-replay --defrag-every N: replays a trace on the mock device and,
// every N operations, defragments every live block (goal: free whole chunks),
// recording what that gained: device objects and reserved bytes before and after
// each defragmentation, moves and bytes moved. Not timed: it answers "how much
// memory does defragmentation give back on this workload", not "how fast".
#pragma once

#include <cstdint>
#include <string>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/mock/device_profile.hpp>

#include "trace.hpp"

namespace gpu_alloc::replay {

struct DefragReplay {
    std::uint64_t every = 0;        ///< operations between two defragmentations
    std::uint64_t points = 0;       ///< defragmentations run
    std::uint64_t passes = 0;       ///< passes with at least one move, in all
    std::uint64_t moves = 0;        ///< blocks moved, in all
    std::uint64_t bytes_moved = 0;  ///< bytes moved, in all
    std::uint64_t objects_freed = 0;
    std::uint64_t failures = 0;     ///< allocations the allocator refused
    /// At the defragmentation point where the most memory was reserved before it:
    std::uint64_t op = 0;
    std::uint64_t requested = 0;
    std::uint64_t reserved_before = 0;
    std::uint64_t reserved_after = 0;
    std::uint64_t objects_before = 0;
    std::uint64_t objects_after = 0;
    /// Peak reserved bytes over the whole replay, with defragmentation.
    std::uint64_t peak_reserved = 0;
    std::uint64_t peak_requested = 0;
};

/// Replays `trace` on a mock device of `profile` with defragmentation every
/// `every` (> 0) operations.
DefragReplay replay_with_defragmentation(const Trace& trace, const mock::DeviceProfile& profile,
                                         StrategyPolicy policy, std::uint64_t every);

/// One table row per trace (a header line first when `header` is true).
std::string format_defrag_row(const std::string& trace, const DefragReplay& d, bool header);

}  // namespace gpu_alloc::replay
