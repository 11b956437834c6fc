// Cost and effect of defragmentation on the adversarial workload of
// docs/defragmentation.md, on the mock device: fill with small blocks, free every other, allocate larger
// ones, repeat. Timed: planning and applying every pass until done (the copies
// themselves are the caller's, on the GPU, and not part of it). Counters: device
// objects and overhead ((reserved - requested) / requested) before and after.
#include <gpu_alloc/defragmentation.hpp>
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

namespace {

using namespace gpu_alloc;
using Memory = mock::MockMemory;
using Block = MemoryBlock<Memory>;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

DeviceProperties device_props() {
    DeviceProperties p;
    p.memory_heaps = {{8192 * MiB, MemoryHeapFlags::device_local}};
    p.memory_types = {{0, MemoryPropertyFlags::device_local}};
    p.max_memory_allocation_count = 4096;
    p.max_memory_allocation_size = 4096 * MiB;
    p.non_coherent_atom_size = 256;
    p.buffer_image_granularity = 1;
    return p;
}

struct Workload {
    DeviceProperties props = device_props();
    mock::MockDevice device{props};
    std::unique_ptr<GpuAllocator<Memory>> allocator;
    std::vector<std::unique_ptr<Block>> blocks;

    /// `per_round` blocks of 16 KiB, every other freed, then of 32 KiB, ... (`rounds` sizes).
    Workload(Config config, int per_round, int rounds) {
        allocator = std::make_unique<GpuAllocator<Memory>>(props, config);
        std::uint64_t size = 16 * KiB;
        for (int round = 0; round < rounds; ++round, size *= 2) {
            std::vector<std::unique_ptr<Block>> fresh;
            for (int i = 0; i < per_round; ++i) {
                Request r;
                r.size = size;
                r.alignment = 256;
                r.usage = UsageFlags::fast_device_access;
                r.kind = ResourceKind::linear;
                auto b = allocator->allocate(device, r);
                if (!b) std::abort();
                fresh.push_back(std::make_unique<Block>(std::move(*b)));
            }
            for (std::size_t i = 0; i < fresh.size(); ++i) {
                if (i % 2) allocator->deallocate(device, std::move(*fresh[i]));
                else blocks.push_back(std::move(fresh[i]));
            }
        }
        allocator->cleanup(device);
    }
    ~Workload() {
        for (auto& b : blocks) allocator->deallocate(device, std::move(*b));
        allocator->cleanup(device);
    }

    double overhead() const {
        const TotalCounters t = allocator->totals();
        return static_cast<double>(t.reserved_bytes - t.requested_bytes) / static_cast<double>(t.requested_bytes);
    }
};

void run(benchmark::State& state, Config config, DefragmentationGoal goal) {
    const int per_round = static_cast<int>(state.range(0));
    double objects_before = 0, objects_after = 0, overhead_before = 0, overhead_after = 0, moves = 0, passes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto w = std::make_unique<Workload>(config, per_round, 5);
        objects_before = static_cast<double>(w->allocator->totals().device_objects);
        overhead_before = w->overhead();
        std::vector<Block*> movable;
        for (auto& b : w->blocks) movable.push_back(b.get());
        DefragmentationOptions o;
        o.goal = goal;
        o.max_bytes_per_pass = 64 * MiB;
        state.ResumeTiming();
        Defragmentation<Memory> defrag(*w->allocator, movable, o);
        while (!defrag.begin_pass(w->device).empty()) defrag.end_pass(w->device);
        state.PauseTiming();
        objects_after = static_cast<double>(w->allocator->totals().device_objects);
        overhead_after = w->overhead();
        moves = static_cast<double>(defrag.stats().moves);
        passes = static_cast<double>(defrag.stats().passes);
        w.reset();
        state.ResumeTiming();
    }
    state.counters["objects_before"] = objects_before;
    state.counters["objects_after"] = objects_after;
    state.counters["overhead_before"] = overhead_before;
    state.counters["overhead_after"] = overhead_after;
    state.counters["moves"] = moves;
    state.counters["passes"] = passes;
}

Config fixed_chunks(std::uint64_t chunk) {
    Config c = Config::balanced();
    c.min_chunk_size = chunk;
    c.max_chunk_size = chunk;
    c.dedicated_threshold = chunk;
    return c;
}

void BM_Adversarial_FreeChunks_16MiB(benchmark::State& s) { run(s, fixed_chunks(16 * MiB), DefragmentationGoal::free_chunks); }
void BM_Adversarial_FullCompaction_16MiB(benchmark::State& s) {
    run(s, fixed_chunks(16 * MiB), DefragmentationGoal::full_compaction);
}
void BM_Adversarial_FreeChunks_Balanced(benchmark::State& s) { run(s, Config::balanced(), DefragmentationGoal::free_chunks); }
void BM_Adversarial_FreeChunks_Buddy(benchmark::State& s) {
    Config c = fixed_chunks(16 * MiB);
    c.policy = StrategyPolicy::buddy;
    run(s, c, DefragmentationGoal::free_chunks);
}

BENCHMARK(BM_Adversarial_FreeChunks_16MiB)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Adversarial_FullCompaction_16MiB)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Adversarial_FreeChunks_Balanced)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Adversarial_FreeChunks_Buddy)->Arg(4096)->Unit(benchmark::kMillisecond);

}  // namespace
