// gpu-alloc-replay --defrag-every on the adversarial workload of
// docs/defragmentation.md: fill with small blocks, free every other, allocate
// larger ones, repeat.
#include <gtest/gtest.h>

#include <string>

#include <gpu_alloc/mock/device_profile.hpp>

#include "defrag_replay.hpp"
#include "trace.hpp"

namespace {

using namespace gpu_alloc;
using namespace gpu_alloc::replay;

/// Rounds of 4096 blocks of 64 KiB, 2048 of 128 KiB, ... (device-local buffers): each
/// round fills, then frees every other block of the round, then the next
/// round allocates blocks twice as large that fit none of the holes.
std::string adversarial_trace(int rounds) {
    std::string text = "gpu-alloc-trace 1\n";
    std::uint64_t id = 1;
    for (int r = 0; r < rounds; ++r) {
        const std::uint64_t size = std::uint64_t{65536} << r;
        const std::uint64_t first = id;
        for (int i = 0; i < 4096 >> r; ++i)
            text += "a " + std::to_string(id++) + " " + std::to_string(size) + " 256 buf device\n";
        for (std::uint64_t k = first; k < id; k += 2) text += "f " + std::to_string(k) + "\n";
    }
    return text;
}

gpu_alloc::mock::DeviceProfile h100() {
    auto p = gpu_alloc::mock::load_profile(std::string(GPU_ALLOC_PROFILE_DIR) + "/nvidia-h100-vulkan.json");
    if (!p) std::abort();
    return std::move(*p);
}

}  // namespace

TEST(DefragReplay, AdversarialWorkloadEndsWithin10PercentOfTheLiveBytes) {
    auto trace = parse_trace(adversarial_trace(5), "adversarial");
    ASSERT_TRUE(trace) << trace.error().message;
    const std::uint64_t every = trace->ops.size();  // once, at the end of the fragmenting rounds
    const DefragReplay d = replay_with_defragmentation(*trace, h100(), StrategyPolicy::automatic, every);
    EXPECT_EQ(d.points, 1u);
    EXPECT_EQ(d.failures, 0u);
    EXPECT_GT(d.moves, 0u);
    EXPECT_LT(d.objects_after, d.objects_before);
    ASSERT_GT(d.requested, 0u);
    const double after = static_cast<double>(d.reserved_after) / static_cast<double>(d.requested);
    const double before = static_cast<double>(d.reserved_before) / static_cast<double>(d.requested);
    EXPECT_GT(before, 1.5);
    EXPECT_LE(after, 1.10) << "before " << before << " objects " << d.objects_before << " -> " << d.objects_after << " reserved " << (d.reserved_before >> 20) << " -> " << (d.reserved_after >> 20) << " MiB, live " << (d.requested >> 20) << " MiB";
}

TEST(DefragReplay, StandardTraceShapeKeepsEveryBlock) {
    // Defragmenting every 50 operations of a churn-like trace never fails an
    // allocation and never frees memory that is in use (the mock would report it).
    std::string text = "gpu-alloc-trace 1\n";
    for (int i = 1; i <= 2000; ++i) {
        text += "a " + std::to_string(i) + " " + std::to_string(4096 + (i * 7919) % 200000) + " 256 buf device\n";
        if (i % 3 == 0) text += "f " + std::to_string(i - 1) + "\n";
    }
    auto trace = parse_trace(text, "churn-like");
    ASSERT_TRUE(trace) << trace.error().message;
    const DefragReplay d = replay_with_defragmentation(*trace, h100(), StrategyPolicy::automatic, 50);
    EXPECT_EQ(d.failures, 0u);
    EXPECT_GT(d.points, 10u);
    EXPECT_LE(d.reserved_after, d.reserved_before);
}
