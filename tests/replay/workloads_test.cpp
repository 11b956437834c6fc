// The C++ workload generator: Python's random numbers and float formatting
// reproduced exactly, the workloads' defined counts, and (when python3 and the
// original Python generator of the standard traces are available to the build,
// GPU_ALLOC_GEN_TRACES) byte-for-byte equality with it at a small scale.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "python_compat.hpp"
#include "replay_test_support.hpp"
#include "sha512.hpp"
#include "trace.hpp"
#include "workloads.hpp"

namespace gpu_alloc::replay {
namespace {

std::string hex(const std::array<unsigned char, 64>& digest) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : digest) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

TEST(Sha512, KnownAnswers) {
    EXPECT_EQ(hex(sha512("")),
              "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
              "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    EXPECT_EQ(hex(sha512("abc")),
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    // Two blocks (the padding crosses the 112-byte boundary).
    EXPECT_EQ(hex(sha512("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
              "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
              "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

TEST(PythonRandom, EqualsCPythonForStringSeeds) {
    // python3 -c "import random; r = random.Random('1:churn'); print([r.random() for _ in range(3)])"
    PythonRandom churn("1:churn");
    EXPECT_EQ(churn.random(), 0.893759469619032);
    EXPECT_EQ(churn.random(), 0.3812028627058479);
    EXPECT_EQ(churn.random(), 0.4346841736650756);
    PythonRandom other("2:churn");
    EXPECT_NE(other.random(), 0.893759469619032);
}

TEST(PythonCompat, FloatReprAndRound) {
    EXPECT_EQ(python_float_repr(0.01), "0.01");
    EXPECT_EQ(python_float_repr(1.0), "1.0");
    EXPECT_EQ(python_float_repr(2.5), "2.5");
    EXPECT_EQ(python_float_repr(0.0001), "0.0001");
    EXPECT_EQ(python_float_repr(1e-05), "1e-05");
    EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
    EXPECT_EQ(python_float_repr(1e16), "1e+16");
    EXPECT_EQ(python_float_repr(123456789012345678.0), "1.2345678901234568e+17");
    EXPECT_EQ(python_float_repr(0.1), "0.1");
    EXPECT_EQ(python_float_repr(-0.5), "-0.5");
    EXPECT_EQ(python_round(2.5), 2.0);
    EXPECT_EQ(python_round(3.5), 4.0);
    EXPECT_EQ(python_round(-2.5), -2.0);
    EXPECT_EQ(python_round(2.4999), 2.0);
    EXPECT_EQ(python_round(2.5001), 3.0);
}

TEST(Workloads, SummaryEqualsWhatTheParserCounts) {
    for (std::string_view name : workload_names) {
        std::string text;
        const TraceSummary written = generate_workload(name, 1, 0.01, text);
        auto parsed = parse_trace(text, std::string(name));
        ASSERT_TRUE(parsed) << name << ": " << parsed.error().message;
        EXPECT_EQ(parsed->summary, written) << name;
        EXPECT_EQ(written.live_at_end, 0u) << name << ": every trace ends with everything freed";
        EXPECT_EQ(written.allocs, written.frees) << name;
        EXPECT_NE(text.find("# stats allocs=" + std::to_string(written.allocs) + " frees="), std::string::npos);
    }
}

TEST(Workloads, CountsTheGeneratorDefinesExactly) {
    std::string text;
    // frames at 0.01: 50 long-lived, 20 frames of 500 transients + 10 long-lived.
    const TraceSummary frames = generate_workload("frames", 1, 0.01, text);
    EXPECT_EQ(frames.allocs, 50u + 20u * 510u);
    EXPECT_EQ(frames.frames, 20u);
    EXPECT_GE(frames.peak_live, 50u + 500u - 10u);  // 500 transients, the long-lived set +-1
    EXPECT_LE(frames.peak_live, 50u + 500u + 1u);
    text.clear();
    // streaming at 0.01: 50 waves of 20 loads, half of the resident set unloaded each wave.
    const TraceSummary streaming = generate_workload("streaming", 1, 0.01, text);
    EXPECT_EQ(streaming.allocs, 1000u);
    EXPECT_EQ(streaming.frames, 0u);
    EXPECT_EQ(streaming.peak_live, 40u);
    text.clear();
    // churn and small: scale x 1,000,000 operations, then the teardown frees the rest.
    for (std::string_view name : {"churn", "small"}) {
        text.clear();
        const TraceSummary s = generate_workload(name, 1, 0.01, text);
        const std::size_t teardown = text.find("# teardown");
        ASSERT_NE(teardown, std::string::npos) << name;
        std::uint64_t steady_ops = 0;
        for (std::size_t p = text.find('\n'); p < teardown; p = text.find('\n', p + 1))
            if (text.compare(p + 1, 2, "a ") == 0 || text.compare(p + 1, 2, "f ") == 0) ++steady_ops;
        EXPECT_EQ(steady_ops, 10000u) << name;
        const std::uint64_t target = name == "churn" ? 200 : 1000;
        EXPECT_GE(s.peak_live, target) << name;
        EXPECT_LT(s.peak_live, target * 3 / 2) << name;
    }
}

TEST(Workloads, OutputDependsOnlyOnSeedAndScale) {
    std::string a, b, c;
    generate_workload("churn", 1, 0.005, a);
    generate_workload("churn", 1, 0.005, b);
    generate_workload("churn", 2, 0.005, c);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(a.rfind("gpu-alloc-trace 1\n# workload=churn seed=1 scale=0.005 generator=gpu-alloc-replay\n", 0), 0u);
}

TEST(Workloads, WriteWorkloadsWritesOneFilePerName) {
    const std::string dir = test::scratch_dir() + "/out";
    const std::vector<std::string> names = {"small", "streaming"};
    auto written = write_workloads(dir, names, 3, 0.002);
    ASSERT_TRUE(written) << written.error();
    ASSERT_EQ(written->size(), 2u);
    for (const GeneratedTrace& g : *written) {
        auto loaded = load_trace(g.path);
        ASSERT_TRUE(loaded) << to_string(loaded.error(), g.path);
        EXPECT_EQ(loaded->summary, g.summary);
        EXPECT_EQ(test::read_text(g.path).size(), g.bytes);
    }
    const std::vector<std::string> bad = {"nope"};
    EXPECT_FALSE(write_workloads(dir, bad, 1, 0.01));
    EXPECT_FALSE(write_workloads("/proc/no/such/dir", names, 1, 0.01));
}

// The C++ twin against the reference: same bytes apart from the generator name.
TEST(Workloads, EqualsGenTracesPyByteForByte) {
    const std::string python = GPU_ALLOC_PYTHON3;
    const std::string script = GPU_ALLOC_GEN_TRACES;
    if (!test::executable_exists(python) || !test::file_exists(script))
        GTEST_SKIP() << "python3 or " << script << " not available";
    const std::string dir = test::scratch_dir();
    for (const char* scale : {"0.01", "0.003"}) {
        auto r = test::run_command(dir, "'" + python + "' '" + script + "' '" + dir + "/py' --scale " + scale);
        ASSERT_EQ(r.status, 0) << r.stderr_text;
        for (std::string_view name : workload_names) {
            std::string mine;
            const TraceSummary summary = generate_workload(name, 1, std::stod(scale), mine);
            std::string theirs = test::read_text(dir + "/py/" + std::string(name) + ".trace");
            ASSERT_FALSE(theirs.empty()) << name;
            const std::string theirs_line2 = "generator=gen_traces.py\n";
            const std::size_t at = theirs.find(theirs_line2);
            ASSERT_NE(at, std::string::npos);
            theirs.replace(at, theirs_line2.size(), "generator=gpu-alloc-replay\n");
            EXPECT_TRUE(mine == theirs) << name << " at scale " << scale << " differs from gen_traces.py";
            auto parsed = parse_trace(theirs, std::string(name));
            ASSERT_TRUE(parsed) << parsed.error().message;
            EXPECT_EQ(parsed->summary, summary) << name;
        }
    }
}

}  // namespace
}  // namespace gpu_alloc::replay
