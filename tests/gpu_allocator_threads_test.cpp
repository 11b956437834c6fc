// Several threads allocating, mapping, writing and freeing at once, with blocks
// handed between threads. Run under ThreadSanitizer by the test command.
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "support/test_devices.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::KiB;
using Memory = gpu_alloc::mock::MockMemory;
using Block = MemoryBlock<Memory>;

TEST(AllocatorThreads, ConcurrentAllocateMapWriteFreeAcrossThreads) {
    const auto profile = gpu_alloc::test::load_shipped_profile("nvidia-h100-vulkan.json");
    auto device = gpu_alloc::mock::MockDevice::from_profile(profile);
    GpuAllocator<Memory> allocator(profile.properties, Config::low_memory());

    std::mutex handoff_mutex;
    std::vector<Block> handoff;  // blocks freed by another thread than the one that allocated them
    constexpr int threads = 4;
    constexpr int steps = 3000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<std::uint32_t>(t + 1));
            std::vector<Block> mine;
            for (int i = 0; i < steps; ++i) {
                const auto op = rng() % 10;
                if (op < 5 || mine.empty()) {
                    Request r;
                    r.size = 16 + rng() % (256 * KiB);
                    r.alignment = 256;
                    r.kind = ResourceKind::linear;
                    r.usage = (rng() % 2) ? UsageFlags::upload : UsageFlags::fast_device_access;
                    auto b = allocator.allocate(device, r);
                    ASSERT_TRUE(b) << to_string(b.error());
                    if (contains(b->props(), MemoryPropertyFlags::host_visible)) {
                        auto p = b->map(device, 0, b->size());
                        ASSERT_TRUE(p);
                        std::memset(*p, t, static_cast<std::size_t>(std::min<std::uint64_t>(b->size(), 256)));
                        ASSERT_TRUE(b->unmap(device));
                    }
                    mine.push_back(std::move(*b));
                } else if (op < 7) {
                    std::lock_guard lock(handoff_mutex);
                    handoff.push_back(std::move(mine.back()));
                    mine.pop_back();
                } else if (op < 9) {
                    const std::size_t k = rng() % mine.size();
                    allocator.deallocate(device, std::move(mine[k]));
                    mine[k] = std::move(mine.back());
                    mine.pop_back();
                } else {
                    Block theirs;
                    {
                        std::lock_guard lock(handoff_mutex);
                        if (handoff.empty()) continue;
                        theirs = std::move(handoff.back());
                        handoff.pop_back();
                    }
                    allocator.deallocate(device, std::move(theirs));
                }
                if (i % 500 == 0) (void)allocator.statistics();
            }
            for (Block& b : mine) allocator.deallocate(device, std::move(b));
        });
    }
    for (std::thread& w : workers) w.join();
    for (Block& b : handoff) allocator.deallocate(device, std::move(b));
    EXPECT_EQ(allocator.totals().block_count, 0u);
    allocator.cleanup(device);
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_EQ(device.misuse_count(), 0u);
}

// Blocks of one chunk flushed, invalidated and mapped from several threads while
// another takes snapshots and JSON dumps. The device contract promises no two
// calls on one memory object at once: the mock reports any overlap
// (concurrent_calls_on_object, widened by in_call_delay_us), and ThreadSanitizer
// sees a race on the chunk's mapped pointer between map and snapshot.
TEST(AllocatorThreads, BlocksOfOneChunkFlushFromManyThreadsOneDeviceCallAtATime) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    gpu_alloc::mock::MockDeviceOptions options;
    options.in_call_delay_us = 20;
    gpu_alloc::mock::MockDevice device(props, options);
    Config config = Config::low_memory();
    config.track_blocks = true;
    GpuAllocator<Memory> allocator(props, config);
    constexpr int threads = 4;
    std::vector<Block> blocks;
    for (int t = 0; t < threads; ++t) {
        Request r;
        r.size = 4 * KiB;
        r.usage = UsageFlags::download;  // host-visible, cached, not coherent
        auto b = allocator.allocate(device, r);
        ASSERT_TRUE(b) << to_string(b.error());
        ASSERT_FALSE(contains(b->props(), MemoryPropertyFlags::host_coherent));
        blocks.push_back(std::move(*b));
    }
    for (const Block& b : blocks) ASSERT_EQ(b.memory(), blocks[0].memory()) << "the blocks must share one chunk";
    std::atomic<bool> done{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            Block& b = blocks[static_cast<std::size_t>(t)];
            for (int i = 0; i < 200; ++i) {
                auto p = b.map(device, 0, 4 * KiB);
                ASSERT_TRUE(p) << to_string(p.error());
                EXPECT_TRUE(b.flush(device, 0, 4 * KiB));
                EXPECT_TRUE(b.invalidate(device, 0, 4 * KiB));
                EXPECT_TRUE(b.unmap(device));
            }
        });
    std::thread observer([&] {
        while (!done.load()) {
            auto snap = allocator.snapshot();
            std::ostringstream json;
            allocator.dump_json(json);
        }
    });
    for (auto& w : workers) w.join();
    done = true;
    observer.join();
    for (Block& b : blocks) allocator.deallocate(device, std::move(b));
    allocator.cleanup(device);
    EXPECT_EQ(device.misuse_count(), 0u);
    EXPECT_EQ(device.live_object_count(), 0u);
}
