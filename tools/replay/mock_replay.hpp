// The replay on the strict mock device of a device profile: what
// gpu-alloc-replay does without --vulkan, and what its tests and benchmarks call.
//
// Each call builds a fresh MockDevice with the profile's memory properties and
// cost model. The device's misuse handler only records: every report becomes
// an invariant violation of the checked run (with its message) instead of
// text on stderr.
#pragma once

#include <cstdint>
#include <string>

#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/mock/device_profile.hpp>

#include "replay.hpp"
#include "trace.hpp"

namespace gpu_alloc::replay {

/// The checked run and `runs` timed runs of `trace` on the profile's mock device.
TraceMeasurement measure_on_mock(const Trace& trace, const mock::DeviceProfile& profile, StrategyPolicy policy,
                                 unsigned runs);

/// The allocator's snapshot (blocks tracked) after trace.ops[0 .. last_op] on
/// the profile's mock device.
AllocatorSnapshot snapshot_on_mock(const Trace& trace, const mock::DeviceProfile& profile, StrategyPolicy policy,
                                   std::uint64_t last_op);

/// Where the default profile (nvidia-h100-vulkan.json) is: beside an installed
/// executable (<prefix>/share/gpu_alloc/profiles), else in the source tree
/// this was built from. Returns the first that exists, or the source-tree path.
std::string default_profile_path();

}  // namespace gpu_alloc::replay
