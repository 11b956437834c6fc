// LinearAllocator per-operation cost for a "frame": allocate N (uniform
// 16 B .. 4 KiB, alignment 16 or 256, fixed seed, generated before timing),
// then free all of them, either in allocation order (the pointer resets on the
// last free) or in reverse order (each free rolls the pointer back).
// Counter time_per_op: seconds per allocate or free (2N operations per iteration).
#include <gpu_alloc/linear.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using gpu_alloc::LinearAllocator;
using gpu_alloc::SubAllocation;

enum class FreeOrder { forward, reverse };

void frame(benchmark::State& state, FreeOrder order) {
    const auto count = static_cast<std::size_t>(state.range(0));
    LinearAllocator linear(std::uint64_t{1} << 30);
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::uint64_t> size(16, 4096);
    std::vector<std::uint64_t> sizes(count);
    std::vector<std::uint64_t> alignments(count);
    for (std::size_t i = 0; i < count; ++i) {
        sizes[i] = size(rng);
        alignments[i] = rng() % 4 == 0 ? 256 : 16;
    }
    std::vector<SubAllocation> live(count);

    for (auto _ : state) {
        for (std::size_t i = 0; i < count; ++i) {
            auto a = linear.allocate(sizes[i], alignments[i]);
            if (!a) {
                state.SkipWithError("allocation failed");
                return;
            }
            live[i] = *a;
        }
        benchmark::DoNotOptimize(live.data());
        if (order == FreeOrder::forward) {
            for (std::size_t i = 0; i < count; ++i) linear.free(live[i]);
        } else {
            for (std::size_t i = count; i-- > 0;) linear.free(live[i]);
        }
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(2 * count));
    state.counters["time_per_op"] = benchmark::Counter(static_cast<double>(2 * count),
                                                     benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
}

void BM_LinearFrameForwardFree(benchmark::State& state) { frame(state, FreeOrder::forward); }
void BM_LinearFrameReverseFree(benchmark::State& state) { frame(state, FreeOrder::reverse); }

}  // namespace

BENCHMARK(BM_LinearFrameForwardFree)->ArgName("n")->Arg(1'000)->Arg(100'000);
BENCHMARK(BM_LinearFrameReverseFree)->ArgName("n")->Arg(1'000)->Arg(100'000);
