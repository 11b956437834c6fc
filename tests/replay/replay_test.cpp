// The replay loops on the strict mock device: the standard workloads under
// every policy replay without violations; traces larger than the device fail
// cleanly; the invariant checker catches each kind of broken block.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <gpu_alloc/mock/mock_device.hpp>

#include "invariant_checker.hpp"
#include "mock_replay.hpp"
#include "replay.hpp"
#include "replay_test_support.hpp"
#include "test_devices.hpp"

namespace gpu_alloc::replay {
namespace {

constexpr StrategyPolicy all_policies[] = {StrategyPolicy::automatic, StrategyPolicy::free_list,
                                           StrategyPolicy::buddy, StrategyPolicy::slab, StrategyPolicy::dedicated};

std::string describe(const CheckedRun& run) {
    std::string out = std::to_string(run.invariant_violations) + " violations, " + std::to_string(run.failures) +
                      " failures";
    for (const std::string& m : run.violation_messages) out += "\n  " + m;
    return out;
}

TEST(Replay, StandardWorkloadsReplayCleanlyUnderEveryPolicy) {
    const auto profile = test::h100_profile();
    for (std::string_view name : workload_names) {
        const Trace trace = test::small_workload(name);
        for (StrategyPolicy policy : all_policies) {
            SCOPED_TRACE(std::string(name) + " / " + std::string(policy_name(policy)));
            const TraceMeasurement m = measure_on_mock(trace, profile, policy, 1);
            const CheckedRun& c = m.checked;
            EXPECT_EQ(c.invariant_violations, 0u) << describe(c);
            EXPECT_EQ(c.failures, 0u) << describe(c);
            EXPECT_EQ(c.ops, trace.summary.ops());
            // Without failures the allocator's live requested bytes follow the trace exactly.
            EXPECT_EQ(c.peak_requested_bytes, trace.summary.peak_live_bytes);
            EXPECT_GE(c.peak_reserved_bytes, c.peak_requested_bytes);
            EXPECT_GE(c.device_allocations, c.peak_device_objects);
            EXPECT_GE(c.peak_device_objects, 1u);
            EXPECT_EQ(c.device_frees, c.device_allocations) << "every object destroyed after cleanup";
            EXPECT_GT(c.modeled_device_us, 0.0) << "the H100 profile has measured costs";
            EXPECT_LT(c.peak_reserved_op, trace.ops.size());
            ASSERT_EQ(m.replay_ns.size(), 1u);
            ASSERT_EQ(m.baseline_ns.size(), 1u);
            EXPECT_GT(m.replay_ns[0], 0.0);
            if (policy == StrategyPolicy::dedicated) {
                EXPECT_EQ(c.device_allocations, trace.summary.allocs) << "one object per request";
                EXPECT_EQ(c.peak_device_objects, trace.summary.peak_live);
            }
        }
    }
}

TEST(Replay, NonCoherentMemoryAndSmallHeapsStayConsistent) {
    // The constrained device: 256 MiB heaps, a non-coherent host-visible type,
    // a 64 KiB granularity. churn fits across its heaps; streaming at this
    // scale (~2.7 GiB live at its peak) does not: failures are counted,
    // nothing is violated, the device sees no misuse.
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    const Trace churn = test::small_workload("churn");
    const Trace streaming = test::small_workload("streaming", 0.05);
    for (StrategyPolicy policy : all_policies) {
        for (const Trace* trace : {&churn, &streaming}) {
            SCOPED_TRACE(trace->name + " / " + std::string(policy_name(policy)));
            mock::MockDevice device(props);
            device.set_misuse_handler({});
            const CheckedRun c = replay_checked(device, *trace, props, config_for(props, policy));
            EXPECT_EQ(c.invariant_violations, 0u) << describe(c);
            if (trace == &streaming) {
                EXPECT_GT(c.failures, 0u);
            }
            EXPECT_EQ(device.misuse_count(), 0u);
            EXPECT_EQ(device.live_object_count(), 0u);
            for (std::size_t h = 0; h < props.memory_heaps.size(); ++h)
                EXPECT_LE(device.peak_live_bytes(static_cast<std::uint32_t>(h)), props.memory_heaps[h].size);
        }
    }
}

TEST(Replay, TraceLargerThanTheDeviceFailsCleanly) {
    // lavapipe: one 2 GiB heap, objects of at most 2 GiB.
    const auto profile = test::lavapipe_profile();
    auto trace = parse_trace(
        "gpu-alloc-trace 1\n"
        "a 1 1073741824 256 buf device\n"
        "a 2 1073741824 256 buf device\n"
        "a 3 1073741824 65536 img device\n"   // the heap is full
        "a 4 3221225472 256 buf device\n"     // larger than any object may be
        "a 5 4096 256 buf upload\n"
        "f 3\n"                               // its allocation failed: skipped
        "f 1\n"
        "a 6 1073741824 256 buf device\n"     // fits again
        "f 4\n"
        "f 2\nf 5\nf 6\n",
        "too-large");
    ASSERT_TRUE(trace) << trace.error().message;
    for (StrategyPolicy policy : all_policies) {
        SCOPED_TRACE(std::string(policy_name(policy)));
        const TraceMeasurement m = measure_on_mock(*trace, profile, policy, 2);
        const CheckedRun& c = m.checked;
        EXPECT_EQ(c.invariant_violations, 0u) << describe(c);
        EXPECT_GE(c.failures, 2u);
        EXPECT_LE(c.failures, 3u);  // a 4 KiB upload block may not fit beside two 1 GiB objects
        EXPECT_EQ(c.failures_by_kind[static_cast<std::size_t>(AllocationErrorKind::invalid_request)], 1u);
        EXPECT_LE(c.peak_reserved_bytes, profile.properties.memory_heaps[0].size);
        EXPECT_EQ(m.replay_ns.size(), 2u);
    }
}

TEST(Replay, TraceThatLeavesBlocksLiveIsCleanedUp) {
    const auto profile = test::h100_profile();
    auto trace = parse_trace("gpu-alloc-trace 1\na 1 1000 256 buf device\na 2 5000 256 buf upload\nf 1\n", "leftover");
    ASSERT_TRUE(trace);
    mock::MockDevice device(profile.properties);
    device.set_misuse_handler({});
    const CheckedRun c = replay_checked(device, *trace, profile.properties,
                                        config_for(profile.properties, StrategyPolicy::automatic));
    EXPECT_EQ(c.invariant_violations, 0u) << describe(c);
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_EQ(c.peak_requested_bytes, 6000u);
    EXPECT_GT(replay_timed(device, *trace, profile.properties, config_for(profile.properties, StrategyPolicy::automatic)), 0.0);
    EXPECT_EQ(device.live_object_count(), 0u);
}

TEST(Replay, SnapshotAtThePeakShowsThePeak) {
    const auto profile = test::h100_profile();
    const Trace trace = test::small_workload("churn");
    const TraceMeasurement m = measure_on_mock(trace, profile, StrategyPolicy::automatic, 0);
    const AllocatorSnapshot snapshot = snapshot_on_mock(trace, profile, StrategyPolicy::automatic, m.checked.peak_reserved_op);
    ASSERT_TRUE(snapshot.blocks_tracked);
    std::uint64_t reserved = 0;
    std::uint64_t blocks = 0;
    for (const ChunkSnapshot& chunk : snapshot.chunks) {
        reserved += chunk.size;
        blocks += chunk.blocks.size();
        EXPECT_EQ(chunk.blocks.size(), chunk.block_count);
    }
    EXPECT_EQ(reserved, m.checked.peak_reserved_bytes);
    EXPECT_GT(blocks, 0u);
    EXPECT_TRUE(m.replay_ns.empty());
}

TEST(Replay, BaselineMedianAndPolicyNames) {
    const Trace trace = test::small_workload("small");
    EXPECT_GT(baseline_timed<mock::MockMemory>(trace), 0.0);
    EXPECT_EQ(median({}), 0.0);
    EXPECT_EQ(median({3.0, 1.0, 2.0}), 2.0);
    EXPECT_EQ(median({4.0, 1.0, 2.0, 3.0}), 2.5);
    for (StrategyPolicy p : all_policies) {
        StrategyPolicy parsed = StrategyPolicy::automatic;
        ASSERT_TRUE(parse_policy(policy_name(p), parsed));
        EXPECT_EQ(parsed, p);
    }
    StrategyPolicy p{};
    EXPECT_FALSE(parse_policy("free_list", p));
    EXPECT_EQ(policy_name(StrategyPolicy::free_list), "free-list");
}

// --- InvariantChecker: each invariant, broken on purpose ----------------------

DeviceProperties checker_device() {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    props.buffer_image_granularity = 1024;
    return props;
}

Request request(std::uint64_t size, std::uint64_t alignment, ResourceKind kind, UsageFlags usage = UsageFlags::fast_device_access) {
    Request r;
    r.size = size;
    r.alignment = alignment;
    r.kind = kind;
    r.usage = usage;
    return r;
}

CheckedBlock block(std::uint64_t object, std::uint64_t offset, std::uint64_t size, std::uint32_t type = 0) {
    CheckedBlock b;
    b.object = object;
    b.object_size = 1 << 20;
    b.memory_type = type;
    b.offset = offset;
    b.size = size;
    return b;
}

TEST(InvariantChecker, AcceptsAValidLayout) {
    InvariantChecker checker(checker_device());
    checker.on_allocate(0, request(100, 4, ResourceKind::linear), block(1, 0, 100));
    checker.on_allocate(1, request(100, 4, ResourceKind::linear), block(1, 100, 100));
    checker.on_allocate(2, request(4096, 1024, ResourceKind::optimal), block(1, 1024, 4096));
    checker.on_allocate(3, request(100, 4, ResourceKind::linear), block(2, 0, 100));   // another object
    checker.on_allocate(4, request(100, 4, ResourceKind::linear), block(1, 5120, 100));  // next page after the image
    EXPECT_EQ(checker.live_blocks(), 5u);
    checker.on_free(5, 1, 100);
    checker.on_allocate(6, request(50, 4, ResourceKind::linear), block(1, 120, 50));
    checker.check_heaps(7, std::vector<std::uint64_t>{256u << 20, 0, 0}, 3);
    EXPECT_EQ(checker.violations(), 0u) << (checker.messages().empty() ? "" : checker.messages()[0]);
}

struct Broken {
    const char* what;
    Request request;
    CheckedBlock block;
};

TEST(InvariantChecker, CatchesEachBrokenBlock) {
    const Broken cases[] = {
        {"overlaps", request(100, 4, ResourceKind::linear), block(1, 52, 100)},
        {"overlaps", request(10, 4, ResourceKind::linear), block(1, 0, 10)},
        {"overlaps", request(1000, 4, ResourceKind::linear), block(1, 96, 1000)},  // overlaps the next too
        {"not a multiple of the alignment", request(10, 256, ResourceKind::linear), block(1, 1100, 10)},
        {"granularity page", request(10, 4, ResourceKind::optimal), block(1, 200, 10)},     // after the buffer at 0
        {"granularity page", request(10, 4, ResourceKind::linear), block(1, 5100, 10)},     // in the image's last page
        {"outside its memory object", request(100, 4, ResourceKind::linear), block(1, (1 << 20) - 48, 100)},
        {"block size differs", request(100, 4, ResourceKind::linear), block(1, 8192, 99)},
        {"not in the request's mask", [] { auto r = request(10, 4, ResourceKind::linear); r.memory_types = 0b10; return r; }(),
         block(3, 0, 10, 0)},
        {"not host-visible", request(10, 4, ResourceKind::linear, UsageFlags::upload), block(4, 0, 10, 0)},
    };
    for (const Broken& c : cases) {
        SCOPED_TRACE(c.what);
        InvariantChecker checker(checker_device());
        checker.on_allocate(0, request(100, 4, ResourceKind::linear), block(1, 0, 100));
        checker.on_allocate(1, request(1000, 1024, ResourceKind::optimal), block(1, 4096, 1000));  // page 4
        ASSERT_EQ(checker.violations(), 0u);
        checker.on_allocate(2, c.request, c.block);
        EXPECT_EQ(checker.violations(), 1u) << checker.messages().back();
        ASSERT_FALSE(checker.messages().empty());
        EXPECT_NE(checker.messages()[0].find(c.what), std::string::npos) << checker.messages()[0];
        EXPECT_EQ(checker.messages()[0].rfind("op 2: ", 0), 0u);
    }
}

TEST(InvariantChecker, ChecksTheGranularityPageOfTheNextBlockToo) {
    InvariantChecker checker(checker_device());
    checker.on_allocate(0, request(100, 4, ResourceKind::optimal), block(1, 2500, 100));
    checker.on_allocate(1, request(52, 4, ResourceKind::linear), block(1, 2048, 52));  // same page 2, before it
    ASSERT_EQ(checker.violations(), 1u);
    EXPECT_NE(checker.messages()[0].find("next block"), std::string::npos) << checker.messages()[0];
    checker.on_allocate(2, request(52, 4, ResourceKind::linear), block(1, 1900, 52));  // page 1: fine
    EXPECT_EQ(checker.violations(), 1u);
}

TEST(InvariantChecker, CatchesHeapOverflowTooManyObjectsAndUnknownFrees) {
    const DeviceProperties props = checker_device();
    InvariantChecker checker(props, 2);
    checker.check_heaps(0, std::vector<std::uint64_t>{props.memory_heaps[0].size + 1, 0, 0}, 1);
    EXPECT_EQ(checker.violations(), 1u);
    checker.check_heaps(1, std::vector<std::uint64_t>{0, 0, 0}, props.max_memory_allocation_count + 1);
    EXPECT_EQ(checker.violations(), 2u);
    checker.on_free(2, 9, 0);
    EXPECT_EQ(checker.violations(), 3u);
    EXPECT_EQ(checker.messages().size(), 2u) << "messages are capped, violations are all counted";
    checker.report(3, "from elsewhere");
    EXPECT_EQ(checker.violations(), 4u);
}

}  // namespace
}  // namespace gpu_alloc::replay
