// Benchmarks of FreeListAllocator under steady churn: a live set of N
// allocations is built, then every iteration frees a random live allocation
// and allocates a new one in its place (one free + one allocate per
// iteration). Sizes, alignments and victims are pre-generated from a fixed
// seed, so the timed loop does only allocator work and array reads.
//
// Workloads:
//   mixed: sizes log-uniform in [256 B, 4 MiB], alignment 256;
//   small: sizes uniform in [16 B, 4 KiB], alignment 16, 64 or 256.
// Counters (memory efficiency, not time):
//   touched_over_live: highest end offset ever handed out / requested bytes
//     live at the end (how much of the range churn spread over, 1.0 = packed);
//   touched_over_peak_live: the same over the peak of live requested bytes
//     (the product's peak reserved / peak requested, for one range);
//   free_ranges: free blocks at the end, per live allocation.
#include <gpu_alloc/free_list.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using gpu_alloc::FreeListAllocator;
using gpu_alloc::SubAllocation;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;
constexpr std::size_t kRequestCount = std::size_t{1} << 20;  // pre-generated requests, cycled

enum class Workload { mixed, small };

struct Requests {
    std::vector<std::uint64_t> sizes;
    std::vector<std::uint64_t> alignments;
    std::vector<std::uint32_t> victims;
};

Requests generate(Workload workload, std::size_t live_count) {
    std::mt19937_64 rng(workload == Workload::mixed ? 0x6d697865 : 0x736d616c);
    Requests r;
    r.sizes.resize(kRequestCount);
    r.alignments.resize(kRequestCount);
    r.victims.resize(kRequestCount);
    std::uniform_real_distribution<double> log_size(std::log2(256.0), std::log2(4.0 * MiB));
    std::uniform_int_distribution<std::uint64_t> small_size(16, 4 * KiB);
    std::uniform_int_distribution<int> small_alignment(0, 2);
    std::uniform_int_distribution<std::uint32_t> victim(0, static_cast<std::uint32_t>(live_count - 1));
    for (std::size_t i = 0; i < kRequestCount; ++i) {
        if (workload == Workload::mixed) {
            r.sizes[i] = static_cast<std::uint64_t>(std::exp2(log_size(rng)));
            r.alignments[i] = 256;
        } else {
            r.sizes[i] = small_size(rng);
            r.alignments[i] = std::uint64_t{16} << (2 * small_alignment(rng));
        }
        r.victims[i] = victim(rng);
    }
    return r;
}

void churn(benchmark::State& state, Workload workload, std::uint64_t capacity) {
    const auto live_count = static_cast<std::size_t>(state.range(0));
    const Requests requests = generate(workload, live_count);
    FreeListAllocator heap(capacity);
    std::vector<SubAllocation> live(live_count);
    std::uint64_t max_end = 0;
    std::uint64_t live_bytes = 0;
    std::uint64_t peak_live_bytes = 0;
    std::size_t next = 0;
    for (std::size_t i = 0; i < live_count; ++i, ++next) {
        auto r = heap.allocate(requests.sizes[next], requests.alignments[next]);
        if (!r) {
            state.SkipWithError("out_of_space while building the live set");
            return;
        }
        live[i] = *r;
        max_end = std::max(max_end, r->offset + r->size);
        live_bytes += r->size;
    }
    peak_live_bytes = live_bytes;
    for (auto _ : state) {
        const std::size_t k = next & (kRequestCount - 1);
        SubAllocation& slot = live[requests.victims[k]];
        live_bytes -= slot.size;
        heap.free(slot);
        auto r = heap.allocate(requests.sizes[k], requests.alignments[k]);
        if (!r) {
            state.SkipWithError("out_of_space during churn");
            break;
        }
        slot = *r;
        live_bytes += slot.size;
        peak_live_bytes = std::max(peak_live_bytes, live_bytes);
        max_end = std::max(max_end, slot.offset + slot.size);
        ++next;
    }
    const gpu_alloc::SubAllocatorStats s = heap.stats();
    state.counters["touched_over_live"] =
        static_cast<double>(max_end) / static_cast<double>(std::max<std::uint64_t>(s.requested_bytes, 1));
    state.counters["touched_over_peak_live"] =
        static_cast<double>(max_end) / static_cast<double>(std::max<std::uint64_t>(peak_live_bytes, 1));
    state.counters["free_ranges"] =
        static_cast<double>(s.free_range_count) / static_cast<double>(std::max<std::uint64_t>(s.allocation_count, 1));
}

void BM_FreeListChurnMixed(benchmark::State& state) {
    churn(state, Workload::mixed, state.range(0) > 10000 ? 64 * GiB : 8 * GiB);
}
void BM_FreeListChurnSmall(benchmark::State& state) {
    churn(state, Workload::small, state.range(0) > 10000 ? 1 * GiB : 256 * MiB);
}

BENCHMARK(BM_FreeListChurnMixed)->Arg(10000)->Arg(100000);
BENCHMARK(BM_FreeListChurnSmall)->Arg(10000)->Arg(100000);

}  // namespace
