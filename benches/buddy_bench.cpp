// BuddyAllocator throughput at a steady live set: each iteration frees a random
// live allocation and allocates a new one, so the time per iteration is the cost
// of one allocate + free pair. Sizes and victims come from fixed-seed arrays
// generated before timing.
//   mixed: log-uniform 256 B .. 4 MiB (buffers and images)
//   small: uniform 16 B .. 4 KiB (constants, descriptors)
// Counter reserved_per_requested: bytes reserved / bytes requested at the end
// (the internal fragmentation of power-of-two blocks for that size mix).
#include <gpu_alloc/buddy.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using gpu_alloc::BuddyAllocator;
using gpu_alloc::SubAllocation;

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
constexpr std::uint64_t GiB = std::uint64_t{1} << 30;
constexpr std::size_t sequence_length = std::size_t{1} << 16;  // power of two: index with a mask

enum class SizeMix { mixed, small };

std::vector<std::uint64_t> make_sizes(SizeMix mix, std::size_t count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> sizes(count);
    if (mix == SizeMix::mixed) {
        std::uniform_real_distribution<double> log_size(std::log2(256.0), std::log2(4.0 * MiB));
        for (auto& s : sizes) s = static_cast<std::uint64_t>(std::exp2(log_size(rng)));
    } else {
        std::uniform_int_distribution<std::uint64_t> size(16, 4096);
        for (auto& s : sizes) s = size(rng);
    }
    return sizes;
}

void steady_state(benchmark::State& state, SizeMix mix) {
    const auto live_count = static_cast<std::size_t>(state.range(0));
    // Room for the live set with power-of-two rounding and fragmentation to spare.
    const std::uint64_t capacity =
        mix == SizeMix::mixed ? (live_count > 10'000 ? 256 * GiB : 32 * GiB) : (live_count > 10'000 ? 1 * GiB : 256 * MiB);
    BuddyAllocator buddy(capacity);

    const std::vector<std::uint64_t> warmup_sizes = make_sizes(mix, live_count, 1);
    const std::vector<std::uint64_t> sizes = make_sizes(mix, sequence_length, 2);
    std::vector<std::uint32_t> victims(sequence_length);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<std::size_t> pick(0, live_count - 1);
    for (auto& v : victims) v = static_cast<std::uint32_t>(pick(rng));

    std::vector<SubAllocation> live(live_count);
    for (std::size_t i = 0; i < live_count; ++i) {
        auto a = buddy.allocate(warmup_sizes[i], 1);
        if (!a) {
            state.SkipWithError("warm-up allocation failed: capacity too small");
            return;
        }
        live[i] = *a;
    }

    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t slot = victims[k & (sequence_length - 1)];
        buddy.free(live[slot]);
        auto a = buddy.allocate(sizes[k & (sequence_length - 1)], 1);
        if (!a) {
            state.SkipWithError("allocation failed: capacity too small");
            break;
        }
        live[slot] = *a;
        benchmark::DoNotOptimize(live[slot].offset);
        ++k;
    }
    state.SetItemsProcessed(state.iterations());
    const auto s = buddy.stats();
    state.counters["reserved_per_requested"] =
        static_cast<double>(s.used_bytes) / static_cast<double>(s.requested_bytes);
}

void BM_BuddyMixed(benchmark::State& state) { steady_state(state, SizeMix::mixed); }
void BM_BuddySmall(benchmark::State& state) { steady_state(state, SizeMix::small); }

}  // namespace

BENCHMARK(BM_BuddyMixed)->ArgName("live")->Arg(10'000)->Arg(100'000);
BENCHMARK(BM_BuddySmall)->ArgName("live")->Arg(10'000)->Arg(100'000);
