// What the allocator core costs in itself, apart from any workload:
//   - host memory a new allocator holds on the H100 profile, before and after
//     its first allocation (counted through the global operator new);
//   - statistics() and snapshot() with many live blocks;
//   - one device call through the allocator (a block's flush, which goes
//     through the compiled core's device table and the chunk's lock) against
//     the same call made on the device directly.
//
// Run: build/benches/core_bench (counters: host_bytes, device_objects, blocks).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

// -- Host memory, counted ---------------------------------------------------------------

namespace {
std::atomic<std::int64_t> live_host_bytes{0};
}  // namespace

// Each allocation carries its size in a 16-byte header, so that delete knows it.
void* operator new(std::size_t size) {
    void* p = std::malloc(size + 16);
    if (p == nullptr) throw std::bad_alloc();
    *static_cast<std::size_t*>(p) = size;
    live_host_bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
    return static_cast<char*>(p) + 16;
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    void* p = std::malloc(size + 16);
    if (p == nullptr) return nullptr;
    *static_cast<std::size_t*>(p) = size;
    live_host_bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
    return static_cast<char*>(p) + 16;
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    char* base = static_cast<char*>(p) - 16;
    live_host_bytes.fetch_sub(static_cast<std::int64_t>(*reinterpret_cast<std::size_t*>(base)),
                              std::memory_order_relaxed);
    std::free(base);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using gpu_alloc::Config;
using gpu_alloc::GpuAllocator;
using gpu_alloc::Request;
using gpu_alloc::mock::MockDevice;
using Memory = MockDevice::Memory;

const gpu_alloc::mock::DeviceProfile& h100() {
    static const gpu_alloc::mock::DeviceProfile profile = [] {
        const std::string path = std::string(GPU_ALLOC_PROFILE_DIR) + "/nvidia-h100-vulkan.json";
        auto loaded = gpu_alloc::mock::load_profile(path);
        if (!loaded) {
            std::fprintf(stderr, "core_bench: %s\n", loaded.error().message.c_str());
            std::abort();
        }
        return std::move(*loaded);
    }();
    return profile;
}

Request device_buffer(std::uint64_t size) {
    Request r;
    r.size = size;
    r.alignment = 256;
    r.usage = gpu_alloc::UsageFlags::fast_device_access;
    r.kind = gpu_alloc::ResourceKind::linear;
    return r;
}

// A new allocator: the host bytes it holds, then after one 64 KiB block.
void BM_NewAllocatorHostBytes(benchmark::State& state) {
    const auto& profile = h100();
    MockDevice device(profile.properties);
    const Config config = Config::for_device(profile.properties);
    std::int64_t empty = 0, after_one = 0;
    for (auto _ : state) {
        const std::int64_t before = live_host_bytes.load();
        {
            GpuAllocator<Memory> allocator(profile.properties, config);
            empty = live_host_bytes.load() - before;
            auto block = allocator.allocate(device, device_buffer(64 * 1024));
            if (!block) state.SkipWithError("allocation failed");
            after_one = live_host_bytes.load() - before;
            if (block) allocator.deallocate(device, std::move(*block));
            allocator.cleanup(device);
        }
    }
    state.counters["host_bytes"] = static_cast<double>(empty);
    state.counters["host_bytes_after_one_block"] = static_cast<double>(after_one);
    state.counters["memory_types"] = static_cast<double>(profile.properties.memory_types.size());
}
BENCHMARK(BM_NewAllocatorHostBytes)->Iterations(20)->Unit(benchmark::kMicrosecond);

// N live blocks, log-uniform 256 B .. 64 KiB, device-local buffers.
struct Populated {
    MockDevice device{h100().properties};
    GpuAllocator<Memory> allocator{h100().properties, Config::for_device(h100().properties)};
    std::vector<GpuAllocator<Memory>::Block> blocks;

    explicit Populated(std::size_t count) {
        std::mt19937_64 rng(1);
        std::uniform_real_distribution<double> log_size(std::log(256.0), std::log(64.0 * 1024));
        blocks.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            auto b = allocator.allocate(device, device_buffer(static_cast<std::uint64_t>(std::exp(log_size(rng)))));
            if (!b) std::abort();
            blocks.push_back(std::move(*b));
        }
        // Free every third block: free ranges inside the chunks, as in a running program.
        for (std::size_t i = 0; i < blocks.size(); i += 3) allocator.deallocate(device, std::move(blocks[i]));
    }
    ~Populated() {
        for (auto& b : blocks)
            if (b) allocator.deallocate(device, std::move(b));
        allocator.cleanup(device);
    }
};

void BM_Statistics(benchmark::State& state) {
    Populated p(static_cast<std::size_t>(state.range(0)) * 3 / 2);
    gpu_alloc::Statistics s;
    for (auto _ : state) {
        s = p.allocator.statistics();
        benchmark::DoNotOptimize(s);
    }
    state.counters["blocks"] = static_cast<double>(s.total.block_count);
    state.counters["device_objects"] = static_cast<double>(s.total.device_objects);
}
BENCHMARK(BM_Statistics)->Arg(10'000)->Arg(100'000)->Arg(200'000)->Unit(benchmark::kMillisecond);

void BM_Snapshot(benchmark::State& state) {
    Populated p(static_cast<std::size_t>(state.range(0)) * 3 / 2);
    for (auto _ : state) {
        auto snap = p.allocator.snapshot();
        benchmark::DoNotOptimize(snap);
    }
}
BENCHMARK(BM_Snapshot)->Arg(10'000)->Arg(200'000)->Unit(benchmark::kMillisecond);

// -- One device call through the allocator ------------------------------------------------

/// A device that does nothing: what is left is the caller's own cost.
struct NullDevice {
    using Memory = std::uint64_t;
    std::uint64_t next = 1;
    gpu_alloc::Result<Memory, gpu_alloc::OutOfMemory> allocate_memory(const gpu_alloc::MemoryAllocateInfo&) {
        return next++;
    }
    void deallocate_memory(Memory) {}
    gpu_alloc::Result<std::byte*, gpu_alloc::DeviceMapError> map_memory(const Memory&, std::uint64_t, std::uint64_t) {
        alignas(64) static std::byte page[4096];
        return page;
    }
    void unmap_memory(const Memory&) {}
    gpu_alloc::Result<void, gpu_alloc::OutOfMemory> flush_memory_ranges(
        std::span<const gpu_alloc::MappedMemoryRange<Memory>> ranges) {
        benchmark::DoNotOptimize(ranges.data());
        return {};
    }
    gpu_alloc::Result<void, gpu_alloc::OutOfMemory> invalidate_memory_ranges(
        std::span<const gpu_alloc::MappedMemoryRange<Memory>> ranges) {
        benchmark::DoNotOptimize(ranges.data());
        return {};
    }
};

/// One heap, one host-visible type that is not coherent: flush reaches the device.
gpu_alloc::DeviceProperties non_coherent_device() {
    gpu_alloc::DeviceProperties props;
    props.memory_heaps.push_back({std::uint64_t{1} << 34, gpu_alloc::MemoryHeapFlags::none});
    props.memory_types.push_back({0, gpu_alloc::MemoryPropertyFlags::host_visible});
    props.non_coherent_atom_size = 64;
    props.buffer_image_granularity = 1;
    props.max_memory_allocation_count = 4096;
    props.max_memory_allocation_size = std::uint64_t{1} << 32;
    return props;
}

void BM_FlushThroughBlock(benchmark::State& state) {
    const auto props = non_coherent_device();
    NullDevice device;
    GpuAllocator<std::uint64_t> allocator(props, Config::for_device(props));
    Request r = device_buffer(4096);
    r.usage = gpu_alloc::UsageFlags::upload;
    auto block = allocator.allocate(device, r);
    if (!block || !block->map(device, 0, 4096)) return state.SkipWithError("setup failed");
    for (auto _ : state) benchmark::DoNotOptimize(block->flush(device, 0, 64));
    (void)block->unmap(device);
    allocator.deallocate(device, std::move(*block));
    allocator.cleanup(device);
}
BENCHMARK(BM_FlushThroughBlock);

void BM_FlushOnTheDevice(benchmark::State& state) {
    NullDevice device;
    const std::uint64_t memory = 7;
    for (auto _ : state) {
        const gpu_alloc::MappedMemoryRange<std::uint64_t> range{&memory, 0, 64};
        benchmark::DoNotOptimize(device.flush_memory_ranges({&range, 1}));
    }
}
BENCHMARK(BM_FlushOnTheDevice);

}  // namespace
