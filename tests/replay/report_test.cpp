// The report (table and JSON) and the SVG memory map, from hand-made inputs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "report.hpp"
#include "svg_map.hpp"
#include "test_devices.hpp"

namespace gpu_alloc::replay {
namespace {

TEST(Report, MakeReportTakesMediansPerOpAndTheOverheadRatio) {
    Trace trace;
    trace.name = "t";
    TraceMeasurement m;
    m.checked.ops = 1000;
    m.checked.peak_requested_bytes = 400;
    m.checked.peak_reserved_bytes = 500;
    m.checked.device_allocations = 7;
    m.checked.peak_device_objects = 3;
    m.checked.failures = 2;
    m.checked.invariant_violations = 1;
    m.checked.modeled_device_us = 2500.0;
    m.replay_ns = {9000.0, 1000.0, 5000.0};
    m.baseline_ns = {100.0, 300.0, 200.0, 400.0};
    const ReplayReport r = make_report(trace, m);
    EXPECT_EQ(r.trace, "t");
    EXPECT_EQ(r.ops, 1000u);
    EXPECT_DOUBLE_EQ(r.ns_per_op, 5.0);
    EXPECT_DOUBLE_EQ(r.baseline_ns_per_op, 0.25);
    EXPECT_DOUBLE_EQ(r.overhead, 1.25);
    EXPECT_EQ(r.device_allocations, 7u);
    EXPECT_EQ(r.peak_device_objects, 3u);
    EXPECT_EQ(r.failures, 2u);
    EXPECT_EQ(r.invariant_violations, 1u);
    EXPECT_DOUBLE_EQ(r.modeled_device_ms, 2.5);

    m.checked.peak_requested_bytes = 0;
    EXPECT_EQ(make_report(trace, m).overhead, 0.0) << "nothing requested: no ratio";
}

TEST(Report, JsonHasTheHeaderAndEveryFieldAndEscapesStrings) {
    ReplayReport a;
    a.trace = "we\"ird\\name";
    a.ops = 3;
    a.ns_per_op = 12.345;
    a.overhead = 1.5;
    a.peak_reserved_bytes = 1ull << 40;
    ReportHeader header{"Device \"X\"", "/p/x.json", "slab", 3, "wall"};
    std::ostringstream out;
    const std::vector<ReplayReport> reports = {a, a};
    write_json(out, header, reports);
    const auto doc = nlohmann::json::parse(out.str(), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << out.str();
    EXPECT_EQ(doc["tool"], "gpu-alloc-replay");
    EXPECT_EQ(doc["device"], "Device \"X\"");
    EXPECT_EQ(doc["profile"], "/p/x.json");
    EXPECT_EQ(doc["policy"], "slab");
    EXPECT_EQ(doc["runs"], 3);
    EXPECT_EQ(doc["clock"], "wall");
    ASSERT_EQ(doc["traces"].size(), 2u);
    EXPECT_EQ(doc["traces"][0]["trace"], "we\"ird\\name");
    EXPECT_EQ(doc["traces"][0].size(), 12u);
    EXPECT_EQ(doc["traces"][0]["peak_reserved_bytes"].get<std::uint64_t>(), 1ull << 40);
    EXPECT_DOUBLE_EQ(doc["traces"][0]["ns_per_op"].get<double>(), 12.35);

    std::ostringstream empty;
    write_json(empty, header, {});
    EXPECT_FALSE(nlohmann::json::parse(empty.str(), nullptr, false).is_discarded()) << empty.str();
}

TEST(Report, TableHasAColumnPerFieldAndARowPerTrace) {
    ReplayReport a;
    a.trace = "churn";
    a.peak_requested_bytes = 3ull << 30;
    ReplayReport b;
    b.trace = "a-much-longer-trace-name";
    std::ostringstream out;
    const std::vector<ReplayReport> reports = {a, b};
    write_table(out, ReportHeader{"dev", "", "default", 5, "thread_cpu"}, reports);
    const std::string text = out.str();
    for (const char* column : {"trace", "ops", "ns_per_op", "baseline_ns_per_op", "peak_requested_bytes",
                               "peak_reserved_bytes", "overhead", "device_allocations", "peak_device_objects",
                               "failures", "invariant_violations", "modeled_device_ms"})
        EXPECT_NE(text.find(column), std::string::npos) << column;
    EXPECT_NE(text.find("3.00 GiB"), std::string::npos) << text;
    EXPECT_NE(text.find("a-much-longer-trace-name"), std::string::npos);
    EXPECT_NE(text.find("thread_cpu clock"), std::string::npos);
    EXPECT_EQ(format_bytes(300), "300 B");
    EXPECT_EQ(format_bytes(1536), "1.50 KiB");
    EXPECT_EQ(format_bytes(512ull << 20), "512.00 MiB");
}

AllocatorSnapshot sample_snapshot(std::size_t tiny_blocks) {
    AllocatorSnapshot s;
    s.blocks_tracked = true;
    ChunkSnapshot big;
    big.id = 1;
    big.memory_type = 0;
    big.size = 1ull << 30;
    big.strategy = StrategyKind::free_list;
    for (std::size_t i = 0; i < tiny_blocks; ++i)
        big.blocks.push_back({i * 4096, 1000, UsageFlags::fast_device_access, ResourceKind::linear, ""});
    big.blocks.push_back({1ull << 29, 1ull << 28, UsageFlags::fast_device_access, ResourceKind::optimal, "<img&>"});
    big.block_count = big.blocks.size();
    big.used_bytes = 1000 * tiny_blocks + (1ull << 28);
    ChunkSnapshot upload;
    upload.id = 2;
    upload.memory_type = 2;
    upload.size = 64ull << 20;
    upload.strategy = StrategyKind::linear;
    upload.blocks.push_back({0, 1 << 20, UsageFlags::upload | UsageFlags::transient, ResourceKind::linear, ""});
    upload.block_count = 1;
    upload.used_bytes = 1 << 20;
    s.chunks = {big, upload};
    return s;
}

TEST(SvgMap, DrawsARowPerObjectWithLegendAndTotals) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    SvgMapInfo info{"churn", "Dev <1>", "default", 41, 100, 0, 1000};
    const std::string svg = render_svg_map(sample_snapshot(10), props, info);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    EXPECT_NE(svg.find("Dev &lt;1&gt;"), std::string::npos) << "text is escaped";
    EXPECT_EQ(svg.find("Dev <1>"), std::string::npos);
    EXPECT_NE(svg.find("after operation 42 of 100"), std::string::npos);
    EXPECT_NE(svg.find("2 device memory objects"), std::string::npos);
    EXPECT_NE(svg.find("#1 type 0"), std::string::npos);
    EXPECT_NE(svg.find("#2 type 2"), std::string::npos);
    EXPECT_NE(svg.find("free_list"), std::string::npos);
    EXPECT_NE(svg.find("linear"), std::string::npos);
    EXPECT_NE(svg.find("device-local image"), std::string::npos) << "legend lists the usages present";
    EXPECT_NE(svg.find("upload, transient"), std::string::npos);
    EXPECT_EQ(svg.find(">download<"), std::string::npos) << "and only those";
}

TEST(SvgMap, SeveralTracesStackIntoOneDocument) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    const AllocatorSnapshot snapshot = sample_snapshot(3);
    const SvgSection a = render_svg_section(snapshot, props, SvgMapInfo{"first", "dev", "default", 0, 1, 0, 1000});
    const SvgSection b = render_svg_section(snapshot, props, SvgMapInfo{"second", "dev", "default", 0, 1, 0, 1000});
    EXPECT_GT(a.height, 150.0);
    const std::vector<SvgSection> sections = {a, b};
    const std::string svg = assemble_svg(sections);
    EXPECT_NE(svg.find("memory map: first"), std::string::npos);
    EXPECT_NE(svg.find("memory map: second"), std::string::npos);
    EXPECT_NE(svg.find("translate(0," + std::to_string(static_cast<int>(a.height))), std::string::npos);
    char height[64];
    std::snprintf(height, sizeof height, "height=\"%.2f\"", a.height + b.height);
    EXPECT_NE(svg.find(height), std::string::npos);
    EXPECT_EQ(assemble_svg({}).rfind("<?xml", 0), 0u);
}

TEST(SvgMap, ManyTinyBlocksAreMergedSoTheFileStaysSmall) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    SvgMapInfo info{"small", "dev", "default", 0, 1, 0, 1000};
    const std::string svg = render_svg_map(sample_snapshot(100000), props, info);
    EXPECT_LT(svg.size(), 200u * 1024u) << "100,000 adjacent blocks merge into few rectangles";
}

TEST(SvgMap, ManyObjectsAreCappedAndSummarized) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    AllocatorSnapshot s;
    s.blocks_tracked = false;
    for (std::uint64_t i = 0; i < 50; ++i) {
        ChunkSnapshot c;
        c.id = i + 1;
        c.size = 1 << 20;
        c.used_bytes = 1 << 19;
        c.block_count = 1;
        c.strategy = StrategyKind::dedicated;
        s.chunks.push_back(c);
    }
    SvgMapInfo info{"x", "dev", "dedicated", 0, 1, 1 << 19, 20};
    const std::string svg = render_svg_map(s, props, info);
    EXPECT_NE(svg.find("30 more device memory objects (30.00 MiB) not drawn"), std::string::npos);
    EXPECT_EQ(svg.find("#21 "), std::string::npos);
}

}  // namespace
}  // namespace gpu_alloc::replay
