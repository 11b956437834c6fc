// The table and the JSON writer of the replay report.
#include "report.hpp"

#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

namespace gpu_alloc::replay {

namespace {

std::string fixed(double value, int decimals) {
    if (!std::isfinite(value)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
    constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double v = static_cast<double>(bytes) / 1024.0;
    int unit = 0;
    while (v >= 1024.0 && unit < 3) {
        v /= 1024.0;
        ++unit;
    }
    return fixed(v, 2) + " " + units[unit];
}

ReplayReport make_report(const Trace& trace, const TraceMeasurement& m) {
    ReplayReport r;
    r.trace = trace.name;
    r.ops = m.checked.ops;
    const double ops = r.ops == 0 ? 1.0 : static_cast<double>(r.ops);
    r.ns_per_op = median(m.replay_ns) / ops;
    r.baseline_ns_per_op = median(m.baseline_ns) / ops;
    r.peak_requested_bytes = m.checked.peak_requested_bytes;
    r.peak_reserved_bytes = m.checked.peak_reserved_bytes;
    r.overhead = r.peak_requested_bytes == 0
                     ? 0.0
                     : static_cast<double>(r.peak_reserved_bytes) / static_cast<double>(r.peak_requested_bytes);
    r.device_allocations = m.checked.device_allocations;
    r.peak_device_objects = m.checked.peak_device_objects;
    r.failures = m.checked.failures;
    r.invariant_violations = m.checked.invariant_violations;
    r.modeled_device_ms = m.checked.modeled_device_us / 1000.0;
    return r;
}

void write_table(std::ostream& out, const ReportHeader& header, std::span<const ReplayReport> reports) {
    out << "device: " << header.device;
    if (!header.profile.empty()) out << " (" << header.profile << ")";
    out << "\npolicy: " << header.policy << ", runs: " << header.runs << " (ns_per_op and baseline_ns_per_op: medians, "
        << header.clock << " clock)\n\n";

    const std::vector<std::string_view> columns = {
        "trace",       "ops",        "ns_per_op",          "baseline_ns_per_op",  "peak_requested_bytes",
        "peak_reserved_bytes", "overhead", "device_allocations", "peak_device_objects", "failures",
        "invariant_violations", "modeled_device_ms"};
    std::vector<std::vector<std::string>> rows;
    for (const ReplayReport& r : reports) {
        rows.push_back({r.trace, std::to_string(r.ops), fixed(r.ns_per_op, 1), fixed(r.baseline_ns_per_op, 1),
                        format_bytes(r.peak_requested_bytes), format_bytes(r.peak_reserved_bytes), fixed(r.overhead, 3),
                        std::to_string(r.device_allocations), std::to_string(r.peak_device_objects),
                        std::to_string(r.failures), std::to_string(r.invariant_violations),
                        fixed(r.modeled_device_ms, 1)});
    }
    std::vector<std::size_t> width(columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c) {
        width[c] = columns[c].size();
        for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    auto cell = [&](std::string_view text, std::size_t c) {
        const std::string pad(width[c] - text.size(), ' ');
        if (c == 0) out << text << pad;  // names left-aligned, numbers right-aligned
        else out << "  " << pad << text;
    };
    for (std::size_t c = 0; c < columns.size(); ++c) cell(columns[c], c);
    out << '\n';
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < columns.size(); ++c) cell(row[c], c);
        out << '\n';
    }
}

void write_json(std::ostream& out, const ReportHeader& header, std::span<const ReplayReport> reports) {
    out << "{\n  \"tool\": \"gpu-alloc-replay\",\n  \"device\": " << json_string(header.device)
        << ",\n  \"profile\": " << json_string(header.profile) << ",\n  \"policy\": " << json_string(header.policy)
        << ",\n  \"runs\": " << header.runs << ",\n  \"clock\": " << json_string(header.clock)
        << ",\n  \"traces\": [";
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const ReplayReport& r = reports[i];
        out << (i == 0 ? "\n" : ",\n") << "    {\"trace\": " << json_string(r.trace) << ", \"ops\": " << r.ops
            << ", \"ns_per_op\": " << fixed(r.ns_per_op, 2) << ", \"baseline_ns_per_op\": "
            << fixed(r.baseline_ns_per_op, 2) << ", \"peak_requested_bytes\": " << r.peak_requested_bytes
            << ", \"peak_reserved_bytes\": " << r.peak_reserved_bytes << ", \"overhead\": " << fixed(r.overhead, 4)
            << ", \"device_allocations\": " << r.device_allocations
            << ", \"peak_device_objects\": " << r.peak_device_objects << ", \"failures\": " << r.failures
            << ", \"invariant_violations\": " << r.invariant_violations
            << ", \"modeled_device_ms\": " << fixed(r.modeled_device_ms, 3) << "}";
    }
    out << (reports.empty() ? "]\n}\n" : "\n  ]\n}\n");
}

}  // namespace gpu_alloc::replay
