// 1 vs 2 threads on the churn workload through one shared GpuAllocator.
//
// Each thread keeps its own live set of blocks (kLivePerThread) and, per
// iteration, frees a random one of them and allocates a replacement: the
// steady state of a streaming engine. Sizes are log-uniform in 256 B..4 MiB,
// usages 85% device-local, 10% upload, 5% download (buffers, 256-byte
// alignment). The device is the MockDevice of the H100 profile
// (data/profiles/nvidia-h100-vulkan.json) with Config::for_device, so
// device-local requests of both threads meet in the same pools, as they
// would in an engine.
//
// Reported: items_per_second = allocate + free operations per second of wall
// time, all threads together (UseRealTime). The 2-thread figure over the
// 1-thread one is the scaling that docs/benchmarks.md records (the target on a
// 2-core machine is >= 1.6x).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

namespace {

using namespace gpu_alloc;
using Memory = gpu_alloc::mock::MockMemory;
using Block = MemoryBlock<Memory>;

constexpr std::size_t kLivePerThread = 256;
constexpr std::size_t kPlanLength = std::size_t{1} << 14;  ///< pre-drawn operations per thread, cycled (a power of two)

/// The device and allocator every thread of every run shares; torn down at exit
/// (cleanup first, so that nothing is reported as leaked).
struct Shared {
    gpu_alloc::mock::DeviceProfile profile;
    std::unique_ptr<gpu_alloc::mock::MockDevice> device;
    std::unique_ptr<GpuAllocator<Memory>> allocator;

    Shared() {
        const std::string path = std::string(GPU_ALLOC_PROFILE_DIR) + "/nvidia-h100-vulkan.json";
        auto loaded = gpu_alloc::mock::load_profile(path);
        if (!loaded) {
            std::fprintf(stderr, "threads_bench: %s\n", loaded.error().message.c_str());
            std::abort();
        }
        profile = std::move(*loaded);
        device = std::make_unique<gpu_alloc::mock::MockDevice>(profile.properties);
        allocator = std::make_unique<GpuAllocator<Memory>>(profile.properties, Config::for_device(profile.properties));
    }
    ~Shared() {
        allocator->cleanup(*device);
        allocator.reset();
    }
};

Shared& shared() {
    static Shared s;
    return s;
}

/// A churn request: log-uniform size in [256 B, 4 MiB], 85/10/5 device/upload/download.
Request churn_request(std::mt19937_64& rng) {
    static const double lo = std::log(256.0);
    static const double hi = std::log(4.0 * 1024 * 1024);
    std::uniform_real_distribution<double> log_size(lo, hi);
    Request r;
    r.size = static_cast<std::uint64_t>(std::exp(log_size(rng)));
    r.alignment = 256;
    r.kind = ResourceKind::linear;
    const auto pick = rng() % 100;
    r.usage = pick < 85 ? UsageFlags::fast_device_access : pick < 95 ? UsageFlags::upload : UsageFlags::download;
    return r;
}

Block allocate_or_die(Shared& s, const Request& request) {
    auto b = s.allocator->allocate(*s.device, request);
    if (!b) {
        std::fprintf(stderr, "threads_bench: allocation failed: %s\n", std::string(to_string(b.error())).c_str());
        std::abort();
    }
    return std::move(*b);
}

void BM_ChurnSharedAllocator(benchmark::State& state) {
    Shared& s = shared();
    std::mt19937_64 rng(static_cast<std::uint64_t>(state.thread_index()) * 7919 + 1);
    std::vector<Block> live;
    live.reserve(kLivePerThread);
    for (std::size_t i = 0; i < kLivePerThread; ++i) live.push_back(allocate_or_die(s, churn_request(rng)));

    // The random choices are drawn before the timed loop, so that the loop times
    // the allocator, not the random number generator and exp().
    std::vector<Request> requests(kPlanLength);
    std::vector<std::uint32_t> victims(kPlanLength);
    for (std::size_t k = 0; k < kPlanLength; ++k) {
        requests[k] = churn_request(rng);
        victims[k] = static_cast<std::uint32_t>(rng() % kLivePerThread);
    }
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = victims[k];
        s.allocator->deallocate(*s.device, std::move(live[i]));
        live[i] = allocate_or_die(s, requests[k]);
        k = (k + 1) & (kPlanLength - 1);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2);  // a free and an allocate

    for (Block& b : live) s.allocator->deallocate(*s.device, std::move(b));
}
BENCHMARK(BM_ChurnSharedAllocator)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
