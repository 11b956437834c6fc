// gpu-alloc-replay itself, run as a process: the standard traces (its own and
// gen_traces.py's), malformed traces, a trace freeing an unknown ID, a trace
// larger than the device, the JSON report and the SVG memory map.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <set>
#include <string>

#include "replay_test_support.hpp"

namespace gpu_alloc::replay {
namespace {

using test::run_tool;

const std::set<std::string> report_fields = {
    "trace",    "ops",      "ns_per_op",           "baseline_ns_per_op",  "peak_requested_bytes",
    "peak_reserved_bytes", "overhead", "device_allocations", "peak_device_objects", "failures",
    "invariant_violations", "modeled_device_ms"};

nlohmann::json read_json(const std::string& path) {
    return nlohmann::json::parse(test::read_text(path), nullptr, /*allow_exceptions=*/false);
}

std::string generate_small(const std::string& dir) {
    const std::string traces = dir + "/traces";
    auto r = run_tool(dir, "--generate '" + traces + "' --scale 0.01");
    EXPECT_EQ(r.status, 0) << r.stderr_text;
    EXPECT_NE(r.stdout_text.find("churn.trace: 10190 ops"), std::string::npos) << r.stdout_text;
    return traces;
}

TEST(Tool, ReplaysTheSmallStandardTracesWithJsonAndSvg) {
    const std::string dir = test::scratch_dir();
    const std::string traces = generate_small(dir);
    auto r = run_tool(dir, "--runs 2 --json '" + dir + "/report.json' --svg '" + dir + "/map.svg' '" + traces +
                               "/churn.trace' '" + traces + "/frames.trace' '" + traces + "/streaming.trace' '" +
                               traces + "/small.trace'");
    ASSERT_EQ(r.status, 0) << r.stderr_text;
    for (const char* column : {"trace", "ns_per_op", "baseline_ns_per_op", "overhead", "modeled_device_ms"})
        EXPECT_NE(r.stdout_text.find(column), std::string::npos) << r.stdout_text;
    EXPECT_NE(r.stdout_text.find("NVIDIA H100"), std::string::npos);

    const nlohmann::json report = read_json(dir + "/report.json");
    ASSERT_FALSE(report.is_discarded()) << test::read_text(dir + "/report.json");
    EXPECT_EQ(report["policy"], "default");
    EXPECT_EQ(report["runs"], 2);
    EXPECT_EQ(report["clock"], "thread_cpu");
    ASSERT_EQ(report["traces"].size(), 4u);
    const char* names[] = {"churn", "frames", "streaming", "small"};
    for (std::size_t i = 0; i < 4; ++i) {
        const nlohmann::json& t = report["traces"][i];
        std::set<std::string> keys;
        for (const auto& item : t.items()) keys.insert(item.key());
        EXPECT_EQ(keys, report_fields);
        EXPECT_EQ(t["trace"], names[i]);
        EXPECT_EQ(t["invariant_violations"], 0);
        EXPECT_EQ(t["failures"], 0);
        EXPECT_GT(t["ops"].get<std::uint64_t>(), 0u);
        EXPECT_GT(t["ns_per_op"].get<double>(), 0.0);
        EXPECT_GT(t["baseline_ns_per_op"].get<double>(), 0.0);
        EXPECT_GE(t["overhead"].get<double>(), 1.0);
        EXPECT_GE(t["peak_reserved_bytes"].get<std::uint64_t>(), t["peak_requested_bytes"].get<std::uint64_t>());
        EXPECT_GT(t["modeled_device_ms"].get<double>(), 0.0);

    }
    // One picture, a section per trace.
    const std::string svg_path = dir + "/map.svg";
    const std::string svg = test::read_text(svg_path);
    ASSERT_FALSE(svg.empty()) << svg_path;
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    for (const char* name : names)
        EXPECT_NE(svg.find(std::string("memory map: ") + name + " on "), std::string::npos) << name;
    EXPECT_NE(r.stderr_text.find("memory map at peak reservation written to"), std::string::npos);
    const std::string rsvg = GPU_ALLOC_RSVG_CONVERT;
    if (test::executable_exists(rsvg)) {
        auto png = test::run_command(dir, "'" + rsvg + "' '" + svg_path + "' -o '" + svg_path + ".png'");
        EXPECT_EQ(png.status, 0) << png.stderr_text;
        EXPECT_GT(test::read_text(svg_path + ".png").size(), 1000u);
    }
}

TEST(Tool, ReplaysGenTracesPyOutputUnderEveryPolicy) {
    const std::string python = GPU_ALLOC_PYTHON3;
    const std::string script = GPU_ALLOC_GEN_TRACES;
    if (!test::executable_exists(python) || !test::file_exists(script))
        GTEST_SKIP() << "python3 or " << script << " not available";
    const std::string dir = test::scratch_dir();
    auto gen = test::run_command(dir, "'" + python + "' '" + script + "' '" + dir + "/py' --scale 0.01");
    ASSERT_EQ(gen.status, 0) << gen.stderr_text;
    for (const char* policy : {"default", "buddy", "free-list", "slab", "dedicated"}) {
        SCOPED_TRACE(policy);
        auto r = run_tool(dir, std::string("--runs 1 --policy ") + policy + " --json '" + dir + "/r.json' '" + dir +
                                   "/py/churn.trace' '" + dir + "/py/frames.trace' '" + dir + "/py/streaming.trace' '" +
                                   dir + "/py/small.trace'");
        ASSERT_EQ(r.status, 0) << r.stderr_text;
        const nlohmann::json report = read_json(dir + "/r.json");
        ASSERT_FALSE(report.is_discarded());
        EXPECT_EQ(report["policy"], policy);
        for (const auto& t : report["traces"]) {
            EXPECT_EQ(t["invariant_violations"], 0) << t["trace"];
            EXPECT_EQ(t["failures"], 0) << t["trace"];
        }
    }
}

TEST(Tool, RejectsAMalformedTraceWithItsLineNumber) {
    const std::string dir = test::scratch_dir();
    test::write_text(dir + "/bad.trace", "gpu-alloc-trace 1\na 1 64 16 buf device\na 2 64 24 buf device\n");
    test::write_text(dir + "/good.trace", "gpu-alloc-trace 1\na 1 64 16 buf device\nf 1\n");
    auto r = run_tool(dir, "--runs 0 '" + dir + "/good.trace' '" + dir + "/bad.trace'");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.stderr_text.find("bad.trace:3: ALIGN '24' is not a power of two"), std::string::npos) << r.stderr_text;
    EXPECT_EQ(r.stdout_text.find("good"), std::string::npos) << "nothing is replayed before every trace is parsed";

    test::write_text(dir + "/binary.trace", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10));
    r = run_tool(dir, "'" + dir + "/binary.trace'");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.stderr_text.find("binary.trace:1:"), std::string::npos) << r.stderr_text;

    r = run_tool(dir, "'" + dir + "/does-not-exist.trace'");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.stderr_text.find("cannot open"), std::string::npos) << r.stderr_text;
}

TEST(Tool, RejectsATraceThatFreesAnUnknownId) {
    const std::string dir = test::scratch_dir();
    test::write_text(dir + "/unknown.trace", "gpu-alloc-trace 1\na 1 64 16 buf device\nf 1\nframe\nf 7\n");
    auto r = run_tool(dir, "'" + dir + "/unknown.trace'");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.stderr_text.find("unknown.trace:5: free of ID 7, which is not live"), std::string::npos)
        << r.stderr_text;
}

TEST(Tool, TraceLargerThanTheDeviceCountsFailuresAndExitsZero) {
    const std::string dir = test::scratch_dir();
    std::string text = "gpu-alloc-trace 1\n";
    for (int i = 1; i <= 6; ++i) text += "a " + std::to_string(i) + " 1073741824 65536 img device\n";
    for (int i = 1; i <= 6; ++i) text += "f " + std::to_string(i) + "\n";
    test::write_text(dir + "/huge.trace", text);
    for (const char* policy : {"default", "dedicated", "buddy"}) {
        auto r = run_tool(dir, std::string("--runs 1 --policy ") + policy + " --profile '" GPU_ALLOC_PROFILE_DIR
                               "/lavapipe-vulkan.json' --json '" + dir + "/r.json' --svg '" + dir + "/m.svg' '" + dir +
                               "/huge.trace'");
        ASSERT_EQ(r.status, 0) << r.stderr_text;
        EXPECT_NE(r.stderr_text.find("allocation(s) failed"), std::string::npos) << r.stderr_text;
        const nlohmann::json report = read_json(dir + "/r.json");
        ASSERT_FALSE(report.is_discarded());
        const auto& t = report["traces"][0];
        EXPECT_GE(t["failures"].get<int>(), 4) << policy;
        EXPECT_EQ(t["invariant_violations"], 0);
        EXPECT_LE(t["peak_reserved_bytes"].get<std::uint64_t>(), 2147483648u);
        EXPECT_TRUE(test::file_exists(dir + "/m.svg"));
    }
}

TEST(Tool, ReplaysOnARealVulkanDeviceWhenBuiltWithIt) {
#ifndef GPU_ALLOC_REPLAY_VULKAN
    GTEST_SKIP() << "built without the Vulkan adapter: no --vulkan";
#else
    const std::string dir = test::scratch_dir();
    const std::string traces = generate_small(dir);
    // The driver (lavapipe) wants a runtime directory. Under LeakSanitizer the
    // tool keeps the driver's libraries loaded until exit (vulkan_replay.cpp),
    // so what the driver keeps in its globals stays reachable and any leak
    // still has its module names, for the suppressions of the loader, the
    // driver and the layer (tests/vulkan/lsan.supp); leaks of the project's own
    // code fail this test.
    ::mkdir((dir + "/xdg").c_str(), 0700);
    ::setenv("XDG_RUNTIME_DIR", (dir + "/xdg").c_str(), 1);
    ::setenv("LSAN_OPTIONS", "suppressions=" GPU_ALLOC_VK_LSAN_SUPP ":print_suppressions=0", 1);
    auto r = run_tool(dir, "--vulkan --runs 1 --json '" + dir + "/r.json' --svg '" + dir + "/m.svg' '" + traces +
                               "/churn.trace' '" + traces + "/frames.trace' '" + traces + "/streaming.trace' '" +
                               traces + "/small.trace'");
    if (r.status == 2 && r.stderr_text.find("--vulkan:") != std::string::npos)
        GTEST_SKIP() << "no usable Vulkan device here: " << r.stderr_text;
    ASSERT_EQ(r.status, 0) << r.stderr_text;
    const nlohmann::json report = read_json(dir + "/r.json");
    ASSERT_FALSE(report.is_discarded());
    EXPECT_NE(report["device"].get<std::string>().find("(Vulkan 1."), std::string::npos) << report["device"];
    EXPECT_EQ(report["profile"], "");
    EXPECT_EQ(report["clock"], "wall");
    ASSERT_EQ(report["traces"].size(), 4u);
    for (const auto& t : report["traces"]) {
        EXPECT_EQ(t["invariant_violations"], 0) << t["trace"];
        EXPECT_EQ(t["failures"], 0) << t["trace"];
        EXPECT_GT(t["device_allocations"].get<int>(), 0) << t["trace"];
    }
    EXPECT_TRUE(test::file_exists(dir + "/m.svg"));
    // --profile makes no sense on a real device.
    EXPECT_EQ(run_tool(dir, "--vulkan --profile x.json '" + traces + "/small.trace'").status, 2);
#endif
}

TEST(Tool, CommandLineErrors) {
    const std::string dir = test::scratch_dir();
    test::write_text(dir + "/t.trace", "gpu-alloc-trace 1\na 1 64 16 buf device\nf 1\n");
    const std::string t = " '" + dir + "/t.trace'";
    EXPECT_EQ(run_tool(dir, "--help").status, 0);
    EXPECT_NE(run_tool(dir, "--help").stdout_text.find("--policy"), std::string::npos);
    EXPECT_EQ(run_tool(dir, "").status, 2);
    EXPECT_EQ(run_tool(dir, "--frobnicate" + t).status, 2);
    EXPECT_EQ(run_tool(dir, "--policy free_list" + t).status, 2);
    EXPECT_EQ(run_tool(dir, "--runs" + t).status, 2);
    EXPECT_EQ(run_tool(dir, "--runs -1" + t).status, 2);
    EXPECT_EQ(run_tool(dir, "--scale 0.1" + t).status, 2);
    EXPECT_EQ(run_tool(dir, "--generate '" + dir + "/g' --scale 0").status, 2);
    EXPECT_EQ(run_tool(dir, "--generate '" + dir + "/g' --only churn,nope").status, 2);
    EXPECT_EQ(run_tool(dir, "--generate '" + dir + "/g'" + t).status, 2);
    auto missing = run_tool(dir, "--profile '" + dir + "/none.json'" + t);
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.stderr_text.find("none.json"), std::string::npos);
    test::write_text(dir + "/broken.json", "{\"name\": 3}");
    EXPECT_EQ(run_tool(dir, "--profile '" + dir + "/broken.json'" + t).status, 2);
    EXPECT_EQ(run_tool(dir, "--runs 0" + t).status, 0);
}

TEST(Tool, GeneratesASubsetWithSeedAndScale) {
    const std::string dir = test::scratch_dir();
    auto r = run_tool(dir, "--generate '" + dir + "/g' --scale 0.002 --seed 9 --only small,frames");
    ASSERT_EQ(r.status, 0) << r.stderr_text;
    EXPECT_TRUE(test::file_exists(dir + "/g/small.trace"));
    EXPECT_TRUE(test::file_exists(dir + "/g/frames.trace"));
    EXPECT_FALSE(test::file_exists(dir + "/g/churn.trace"));
    EXPECT_EQ(test::read_text(dir + "/g/small.trace").rfind("gpu-alloc-trace 1\n# workload=small seed=9 scale=0.002 ", 0), 0u);
}

}  // namespace
}  // namespace gpu_alloc::replay
