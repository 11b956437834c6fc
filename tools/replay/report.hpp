// What gpu-alloc-replay reports per trace, and its two forms: the table on
// stdout and the JSON file. The fields, their names and their order are fixed
// (docs/replay.md, "What is measured"); nothing else is added per trace, so
// that results of different runs, machines and policies line up.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>

#include "replay.hpp"

namespace gpu_alloc::replay {

/// One trace's line of the report.
struct ReplayReport {
    std::string trace;                       ///< trace name ("churn")
    std::uint64_t ops = 0;                   ///< allocate + free operations
    double ns_per_op = 0;                    ///< median over the timed runs, replay loop only
    double baseline_ns_per_op = 0;           ///< median over the same runs, ID-map-only loop
    std::uint64_t peak_requested_bytes = 0;  ///< most requested bytes live at once
    std::uint64_t peak_reserved_bytes = 0;   ///< most bytes of live device memory objects
    double overhead = 0;                     ///< peak_reserved / peak_requested (0 when nothing was requested)
    std::uint64_t device_allocations = 0;    ///< device memory objects created
    std::uint64_t peak_device_objects = 0;   ///< most device memory objects live at once
    std::uint64_t failures = 0;              ///< allocations refused
    std::uint64_t invariant_violations = 0;  ///< from the checked run
    double modeled_device_ms = 0;            ///< device allocate + free time by the profile's cost model
};

/// The report line for a measured trace.
ReplayReport make_report(const Trace& trace, const TraceMeasurement& m);

/// What the whole run was: shown above the table and at the top of the JSON.
struct ReportHeader {
    std::string device;  ///< the profile's name, or the real device's
    std::string profile;  ///< path of the profile; empty on a real device
    std::string policy;  ///< policy_name()
    unsigned runs = 0;
    std::string clock = "thread_cpu";  ///< to_string(Clock) of the timed loops
};

/// Writes the table: one row per report, a column per field.
void write_table(std::ostream& out, const ReportHeader& header, std::span<const ReplayReport> reports);

/// Writes the JSON document:
/// {"tool": "gpu-alloc-replay", "device": ..., "profile": ..., "policy": ..., "runs": N, "clock": ...,
///  "traces": [{"trace": ..., "ops": ..., ... every ReplayReport field ...}]}
void write_json(std::ostream& out, const ReportHeader& header, std::span<const ReplayReport> reports);

/// "28.45 GiB", "512.00 MiB", "300 B".
std::string format_bytes(std::uint64_t bytes);

}  // namespace gpu_alloc::replay
