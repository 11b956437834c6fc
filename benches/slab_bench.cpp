// Benchmarks of SlabAllocator at a steady live set: each iteration frees a
// random live allocation and allocates a new one (one allocate+free pair).
// Fixed seed, all random numbers generated before timing.
//
// Workloads
//   small:      sizes uniform in [16 B, 4 KiB], alignment 16, 64 or 256;
//   log-uniform: sizes log-uniform in [256 B, 64 KiB], alignment 256.
// Arguments: live set size, page size in KiB (to compare page sizes).
// Counters, at the end: overhead = pages in use * page size / requested live
// bytes (what the strategy takes out of its range per byte asked for),
// rounding = slot bytes / requested bytes of the live set, touched = highest
// end offset ever handed out / requested live bytes, pages = pages in use.
// BM_FreeList* run the same workloads on FreeListAllocator (TLSF) for
// comparison; BM_Harness is the loop without an allocator.
#include <gpu_alloc/free_list.hpp>
#include <gpu_alloc/slab.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace {

using gpu_alloc::FreeListAllocator;
using gpu_alloc::SlabAllocator;
using gpu_alloc::SlabConfig;
using gpu_alloc::SubAllocation;

constexpr std::uint64_t KiB = 1024;
constexpr std::size_t ops = std::size_t{1} << 20;  // pre-generated requests, reused cyclically

enum class Kind { small, log_uniform };

struct Workload {
    std::vector<std::uint64_t> sizes;
    std::vector<std::uint64_t> alignments;
    std::vector<std::uint32_t> victims;  // index into the live set to free
};

const Workload& workload(Kind kind, std::uint32_t live) {
    static std::map<std::pair<Kind, std::uint32_t>, Workload> cache;
    auto [it, inserted] = cache.try_emplace({kind, live});
    Workload& w = it->second;
    if (!inserted) return w;
    std::mt19937_64 rng(kind == Kind::small ? 42 : 43);
    std::uniform_int_distribution<std::uint64_t> small_size(16, 4 * KiB);
    std::uniform_real_distribution<double> log_size(std::log(256.0), std::log(64.0 * KiB));
    const std::uint64_t small_alignments[] = {16, 64, 256};
    std::uniform_int_distribution<std::uint32_t> victim(0, live - 1);
    w.sizes.resize(ops);
    w.alignments.resize(ops);
    w.victims.resize(ops);
    for (std::size_t i = 0; i < ops; ++i) {
        if (kind == Kind::small) {
            w.sizes[i] = small_size(rng);
            w.alignments[i] = small_alignments[rng() % 3];
        } else {
            w.sizes[i] = static_cast<std::uint64_t>(std::exp(log_size(rng)));
            w.alignments[i] = 256;
        }
        w.victims[i] = victim(rng);
    }
    return w;
}

/// Fills the live set, churns it twice over untimed, then times pairs.
/// Returns false (after SkipWithError) when the allocator ran out of space.
/// `touched` receives the highest end offset ever handed out.
template <class Allocator>
bool churn(benchmark::State& state, Allocator& allocator, const Workload& w, std::uint32_t live,
           std::uint64_t& touched) {
    std::vector<SubAllocation> set(live);
    std::size_t k = 0;
    touched = 0;
    const auto place = [&](SubAllocation& slot) {
        const std::size_t j = k & (ops - 1);
        auto a = allocator.allocate(w.sizes[j], w.alignments[j]);
        ++k;
        if (!a) return false;
        slot = *a;
        return true;
    };
    for (std::uint32_t i = 0; i < live; ++i) {
        if (!place(set[i])) {
            state.SkipWithError("out of space while filling");
            return false;
        }
        touched = std::max(touched, set[i].offset + set[i].reserved);
    }
    for (std::uint64_t i = 0; i < 2 * std::uint64_t{live}; ++i) {
        SubAllocation& victim = set[w.victims[k & (ops - 1)]];
        allocator.free(victim);
        if (!place(victim)) {
            state.SkipWithError("out of space during warm-up");
            return false;
        }
        touched = std::max(touched, victim.offset + victim.reserved);
    }
    for (auto _ : state) {
        SubAllocation& victim = set[w.victims[k & (ops - 1)]];
        allocator.free(victim);
        if (!place(victim)) {
            state.SkipWithError("out of space");
            return false;
        }
        benchmark::DoNotOptimize(set.data());
    }
    for (const SubAllocation& a : set) touched = std::max(touched, a.offset + a.reserved);
    return true;
}

std::uint64_t capacity_for(Kind kind) {
    return kind == Kind::small ? (std::uint64_t{1} << 30) : (std::uint64_t{8} << 30);
}

void run_slab(benchmark::State& state, Kind kind) {
    const auto live = static_cast<std::uint32_t>(state.range(0));
    const std::uint64_t page_size = static_cast<std::uint64_t>(state.range(1)) * KiB;
    auto created = SlabAllocator::create(capacity_for(kind), SlabConfig{page_size, 64 * KiB});
    if (!created) {
        state.SkipWithError("create failed");
        return;
    }
    SlabAllocator slab = std::move(created).value();
    std::uint64_t touched = 0;
    if (!churn(state, slab, workload(kind, live), live, touched)) return;
    const auto stats = slab.stats();
    const double requested = static_cast<double>(stats.requested_bytes);
    state.counters["overhead"] = static_cast<double>(slab.pages_in_use() * slab.page_size()) / requested;
    state.counters["rounding"] = static_cast<double>(stats.used_bytes) / requested;
    state.counters["touched"] = static_cast<double>(touched) / requested;
    state.counters["pages"] = static_cast<double>(slab.pages_in_use());
}

/// The same workload on the general-purpose TLSF free list, for comparison.
/// Its `touched` (highest end offset ever handed out / requested live bytes)
/// is the counterpart of the slab's overhead.
void run_free_list(benchmark::State& state, Kind kind) {
    const auto live = static_cast<std::uint32_t>(state.range(0));
    auto created = FreeListAllocator::create(capacity_for(kind));
    if (!created) {
        state.SkipWithError("create failed");
        return;
    }
    FreeListAllocator free_list = std::move(created).value();
    std::uint64_t touched = 0;
    if (!churn(state, free_list, workload(kind, live), live, touched)) return;
    const auto stats = free_list.stats();
    state.counters["touched"] = static_cast<double>(touched) / static_cast<double>(stats.requested_bytes);
}

/// The harness alone: the same loop and memory traffic over the live set and
/// the request arrays, with allocate/free replaced by a copy. Subtract it from
/// the others to get the allocator's own cost.
void BM_Harness(benchmark::State& state) {
    const auto live = static_cast<std::uint32_t>(state.range(0));
    const Workload& w = workload(Kind::small, live);
    std::vector<SubAllocation> set(live);
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t j = k & (ops - 1);
        SubAllocation& victim = set[w.victims[j]];
        benchmark::DoNotOptimize(victim);
        victim.offset = w.sizes[j];
        victim.size = w.alignments[j];
        ++k;
        benchmark::DoNotOptimize(set.data());
    }
}

void BM_SlabSmall(benchmark::State& state) { run_slab(state, Kind::small); }
void BM_SlabLogUniform(benchmark::State& state) { run_slab(state, Kind::log_uniform); }
void BM_FreeListSmall(benchmark::State& state) { run_free_list(state, Kind::small); }
void BM_FreeListLogUniform(benchmark::State& state) { run_free_list(state, Kind::log_uniform); }

void args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"live", "page_kib"});
    for (std::int64_t live : {10000, 100000}) {
        for (std::int64_t page_kib : {64, 256, 1024}) b->Args({live, page_kib});
    }
}

}  // namespace

BENCHMARK(BM_Harness)->ArgName("live")->Arg(10000)->Arg(100000);
BENCHMARK(BM_SlabSmall)->Apply(args);
BENCHMARK(BM_SlabLogUniform)->Apply(args);
BENCHMARK(BM_FreeListSmall)->ArgName("live")->Arg(10000)->Arg(100000);
BENCHMARK(BM_FreeListLogUniform)->ArgName("live")->Arg(10000)->Arg(100000);
