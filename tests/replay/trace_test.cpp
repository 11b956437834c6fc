// The trace parser: valid traces, every kind of malformed line (with its line
// number), unknown and duplicate IDs, and bytes that are not a trace at all.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "replay_test_support.hpp"
#include "trace.hpp"

namespace gpu_alloc::replay {
namespace {

constexpr const char* header = "gpu-alloc-trace 1\n";

Result<Trace, TraceError> parse(const std::string& body) { return parse_trace(std::string(header) + body, "t"); }

// Expects `body` to be refused at `line` with a message containing `words`.
void expect_error(const std::string& body, std::size_t line, const std::string& words) {
    auto r = parse(body);
    ASSERT_FALSE(r) << "accepted:\n" << body;
    EXPECT_EQ(r.error().line, line) << r.error().message;
    EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
}

TEST(TraceParser, ParsesEveryOperationAndCountsLikeTheGenerator) {
    auto r = parse(
        "# workload=test\n"
        "a 1 100 256 buf device\n"
        "a 2 5000 65536 img device\n"
        "frame\n"
        "a 7 64 16 buf upload|transient\n"
        "f 1\n"
        "a 3 10 1 buf host|download|address\n"
        "f 2\n"
        "frame\n"
        "# stats whatever\n");
    ASSERT_TRUE(r) << r.error().message;
    const Trace& t = *r;
    EXPECT_EQ(t.name, "t");
    ASSERT_EQ(t.ops.size(), 6u);
    EXPECT_EQ(t.ops[0].code, OpCode::allocate);
    EXPECT_EQ(t.ops[0].id, 1u);
    EXPECT_EQ(t.ops[0].size, 100u);
    EXPECT_EQ(t.ops[0].alignment, 256u);
    EXPECT_EQ(t.ops[0].kind, ResourceKind::linear);
    EXPECT_EQ(t.ops[0].usage, UsageFlags::fast_device_access);
    EXPECT_EQ(t.ops[1].kind, ResourceKind::optimal);
    EXPECT_EQ(t.ops[2].usage, UsageFlags::upload | UsageFlags::transient);
    EXPECT_EQ(t.ops[3].code, OpCode::free);
    EXPECT_EQ(t.ops[3].id, 1u);
    EXPECT_EQ(t.ops[4].usage, UsageFlags::host_access | UsageFlags::download | UsageFlags::device_address);
    EXPECT_EQ(t.summary.allocs, 4u);
    EXPECT_EQ(t.summary.frees, 2u);
    EXPECT_EQ(t.summary.ops(), 6u);
    EXPECT_EQ(t.summary.frames, 2u);
    EXPECT_EQ(t.summary.peak_live, 3u);
    EXPECT_EQ(t.summary.peak_live_bytes, 5164u);
    EXPECT_EQ(t.summary.total_alloc_bytes, 5174u);
    EXPECT_EQ(t.summary.live_at_end, 2u);
}

TEST(TraceParser, AcceptsCrlfBlankLinesTabsAndLargeNumbers) {
    auto r = parse_trace(
        "gpu-alloc-trace 1\r\n\r\n  a\t18446744073709551615  18446744073709551615 9223372036854775808 buf device\r\n"
        "\n   # indented comment\nf 18446744073709551615\r\n",
        "t");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->ops.size(), 2u);
    EXPECT_EQ(r->ops[0].id, UINT64_MAX);
    EXPECT_EQ(r->ops[0].size, UINT64_MAX);
    EXPECT_EQ(r->ops[0].alignment, 1ull << 63);
    EXPECT_EQ(r->summary.live_at_end, 0u);
}

TEST(TraceParser, RejectsBadHeaders) {
    auto empty = parse_trace("", "t");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().line, 1u);
    auto v2 = parse_trace("gpu-alloc-trace 2\na 1 1 1 buf device\n", "t");
    ASSERT_FALSE(v2);
    EXPECT_EQ(v2.error().line, 1u);
    EXPECT_NE(v2.error().message.find("version '2'"), std::string::npos) << v2.error().message;
    auto none = parse_trace("a 1 1 1 buf device\n", "t");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().line, 1u);
    EXPECT_NE(none.error().message.find("header"), std::string::npos);
    auto comment_first = parse_trace("# comment\ngpu-alloc-trace 1\n", "t");
    EXPECT_FALSE(comment_first);
}

TEST(TraceParser, RejectsMalformedAllocateLinesWithTheirLineNumber) {
    const std::string ok = "a 1 64 16 buf device\n";  // line 2
    expect_error(ok + "a 2 64 16 buf\n", 3, "5 fields");
    expect_error(ok + "a 2 64 16 buf device extra\n", 3, "5 fields");
    expect_error(ok + "a x2 64 16 buf device\n", 3, "ID 'x2'");
    expect_error(ok + "a -2 64 16 buf device\n", 3, "ID '-2'");
    expect_error(ok + "a 18446744073709551616 64 16 buf device\n", 3, "ID");
    expect_error(ok + "a 2 0 16 buf device\n", 3, "SIZE '0'");
    expect_error(ok + "a 2 +64 16 buf device\n", 3, "SIZE '+64'");
    expect_error(ok + "a 2 6.4 16 buf device\n", 3, "SIZE '6.4'");
    expect_error(ok + "a 2 99999999999999999999 16 buf device\n", 3, "SIZE");
    expect_error(ok + "a 2 64 48 buf device\n", 3, "ALIGN '48' is not a power of two");
    expect_error(ok + "a 2 64 0 buf device\n", 3, "ALIGN '0' is not a power of two");
    expect_error(ok + "a 2 64 sixteen buf device\n", 3, "ALIGN 'sixteen'");
    expect_error(ok + "a 2 64 16 tex device\n", 3, "KIND 'tex'");
    expect_error(ok + "a 2 64 16 BUF device\n", 3, "KIND 'BUF'");
    expect_error(ok + "a 2 64 16 buf gpu\n", 3, "USAGE 'gpu'");
    expect_error(ok + "a 2 64 16 buf device|\n", 3, "USAGE 'device|'");
    expect_error(ok + "a 2 64 16 buf |device\n", 3, "USAGE");
    expect_error(ok + "a 2 64 16 buf upload||transient\n", 3, "USAGE");
    expect_error(ok + "a 2 64 16 buf upload|Transient\n", 3, "USAGE");
}

TEST(TraceParser, RejectsUnknownOperationsAndMalformedFreesAndFrames) {
    expect_error("a 1 64 16 buf device\nalloc 2 64 16 buf device\n", 3, "unknown operation 'alloc'");
    expect_error("a 1 64 16 buf device\nA 2 64 16 buf device\n", 3, "unknown operation 'A'");
    expect_error("f\n", 2, "'f' takes 1 field");
    expect_error("a 1 64 16 buf device\nf 1 2\n", 3, "'f' takes 1 field");
    expect_error("f one\n", 2, "ID 'one'");
    expect_error("frame 3\n", 2, "'frame' takes no fields");
    expect_error("a 1 64 16 buf device # comment\n", 2, "5 fields");
}

TEST(TraceParser, FreeOfAnUnknownIdIsAnErrorAtItsLine) {
    expect_error("a 1 64 16 buf device\nf 2\n", 3, "free of ID 2, which is not live");
    // Freed twice: the second free names a dead ID.
    expect_error("a 1 64 16 buf device\nf 1\nf 1\n", 4, "free of ID 1");
}

TEST(TraceParser, DuplicateLiveIdIsAnErrorButReuseAfterFreeIsNot) {
    expect_error("a 1 64 16 buf device\na 1 64 16 buf device\n", 3, "ID 1 is already live");
    auto reused = parse("a 1 64 16 buf device\nf 1\na 1 128 16 buf device\nf 1\n");
    ASSERT_TRUE(reused) << reused.error().message;
    EXPECT_EQ(reused->summary.allocs, 2u);
    EXPECT_EQ(reused->summary.peak_live, 1u);
}

TEST(TraceParser, ErrorMessagesShowBinaryBytesReadably) {
    auto r = parse(std::string("a 1 64 16 buf dev\x01\xff" "ice\n"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("\\x01\\xff"), std::string::npos) << r.error().message;
    EXPECT_EQ(to_string(r.error(), "dir/x.trace").rfind("dir/x.trace:2: ", 0), 0u);
}

TEST(TraceParser, NeverCrashesOnMutatedOrRandomInput) {
    const std::string valid = std::string(header) +
                              "a 1 100 256 buf device\na 2 5000 65536 img upload|transient\nframe\nf 1\n"
                              "a 3 4096 16 buf download\nf 2\nf 3\n";
    std::mt19937_64 rng(12345);
    static constexpr char letters[] = "af 0123456789|#\n\r\tbufimgdevicehostupload-+x\x00\xff";
    const std::string alphabet(letters, sizeof letters - 1);  // the NUL byte included
    std::size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string text = valid;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const std::size_t pos = rng() % (text.size() + 1);
            switch (rng() % 3) {
                case 0: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
                case 1: if (pos < text.size()) text.erase(pos, 1); break;
                default: if (pos < text.size()) text[pos] = alphabet[rng() % alphabet.size()]; break;
            }
        }
        auto r = parse_trace(text, "fuzz");
        if (r) {
            ++accepted;
            // Whatever was accepted is self-consistent.
            EXPECT_EQ(r->summary.ops(), r->ops.size());
            EXPECT_EQ(r->summary.allocs - r->summary.frees, r->summary.live_at_end);
        } else {
            EXPECT_GE(r.error().line, 1u);
            EXPECT_FALSE(r.error().message.empty());
        }
    }
    EXPECT_GT(accepted, 0u);
    EXPECT_LT(accepted, 20000u);
}

TEST(TraceParser, LoadTraceNamesTheTraceAfterItsFileAndReportsMissingFiles) {
    const std::string dir = test::scratch_dir();
    test::write_text(dir + "/churn.trace", std::string(header) + "a 1 64 16 buf device\nf 1\n");
    auto loaded = load_trace(dir + "/churn.trace");
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->name, "churn");
    EXPECT_EQ(loaded->ops.size(), 2u);
    auto missing = load_trace(dir + "/missing.trace");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().line, 0u);
    EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
    auto directory = load_trace(dir);
    EXPECT_FALSE(directory);
    EXPECT_EQ(trace_name_from_path("a/b/frames.trace"), "frames");
    EXPECT_EQ(trace_name_from_path("x"), "x");
}

TEST(TraceParser, UsageTokensRoundTrip) {
    for (std::uint32_t bits = 1; bits < 64; ++bits) {
        const auto usage = static_cast<UsageFlags>(bits);
        UsageFlags parsed{};
        ASSERT_TRUE(parse_usage(usage_to_trace_token(usage), parsed)) << usage_to_trace_token(usage);
        EXPECT_EQ(parsed, usage);
    }
    UsageFlags u{};
    EXPECT_FALSE(parse_usage("", u));
    EXPECT_FALSE(parse_usage("none", u));
}

}  // namespace
}  // namespace gpu_alloc::replay
