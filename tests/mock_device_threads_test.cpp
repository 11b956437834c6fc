// Tests of the strict mock device from several threads: concurrent use stays
// consistent, and its check of the MemoryDevice contract's promise that no two
// calls work on one memory object at once holds: overlapping
// flushes, invalidates, unmaps and frees of one object are reported as
// MisuseKind::concurrent_calls_on_object; calls on different objects, and
// sequential calls from several threads, are not.
#include <gpu_alloc/mock/mock_device.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace gpu_alloc::mock {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB;

// Type 0: device-local (heap 0). Type 1: host-visible coherent (heap 1).
// Type 2: host-visible, not coherent (heap 1). Type 3: host-visible cached, not coherent (heap 1).
DeviceProperties test_properties() {
    DeviceProperties props;
    props.memory_heaps = {{256 * MiB, MemoryHeapFlags::device_local}, {64 * MiB, MemoryHeapFlags::none}};
    props.memory_types = {
        {0, MemoryPropertyFlags::device_local},
        {1, MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_coherent},
        {1, MemoryPropertyFlags::host_visible},
        {1, MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_cached},
    };
    props.max_memory_allocation_count = 8;
    props.max_memory_allocation_size = 128 * MiB;
    props.non_coherent_atom_size = 64;
    props.buffer_image_granularity = 1024;
    props.buffer_device_address = false;
    return props;
}

MemoryAllocateInfo info(std::uint64_t size, std::uint32_t type, AllocationFlags flags = AllocationFlags::none) {
    MemoryAllocateInfo i;
    i.size = size;
    i.memory_type = type;
    i.flags = flags;
    return i;
}

using Range = MappedMemoryRange<MockMemory>;

TEST(MockDeviceThreads, ConcurrentUseStaysConsistent) {
    DeviceProperties props = test_properties();
    props.max_memory_allocation_count = 64;
    MockDevice device(props);
    constexpr int threads = 4, iterations = 300;
    std::vector<std::thread> workers;
    std::atomic<int> data_errors{0};
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < iterations; ++i) {
                auto m = device.allocate_memory(info(4 * KiB, t % 2 == 0 ? 2u : 0u));
                if (!m) {
                    ++data_errors;
                    continue;
                }
                if (t % 2 == 0) {
                    auto p = device.map_memory(*m, 0, 4 * KiB);
                    if (!p) {
                        ++data_errors;
                    } else {
                        std::memset(*p, t + 1, 4 * KiB);
                        const Range range{&*m, 0, 4 * KiB};
                        if (!device.flush_memory_ranges({&range, 1})) ++data_errors;
                        if ((*p)[4 * KiB - 1] != std::byte(t + 1)) ++data_errors;
                        device.unmap_memory(*m);
                    }
                }
                std::vector<HeapBudget> heaps(2);
                if (!device.query_budget(heaps)) ++data_errors;
                (void)device.live_object_count();
                device.deallocate_memory(*m);
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(data_errors.load(), 0);
    EXPECT_EQ(device.misuse_count(), 0u);
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_LE(device.peak_live_object_count(), static_cast<std::uint64_t>(threads));
    const MockCallCounts c = device.calls();
    EXPECT_EQ(c.allocate, static_cast<std::uint64_t>(threads * iterations));
    EXPECT_EQ(c.deallocate, c.allocate);
    EXPECT_EQ(c.map, static_cast<std::uint64_t>(threads / 2 * iterations));
    EXPECT_EQ(c.flush, c.map);
    EXPECT_EQ(device.live_bytes(0) + device.live_bytes(1), 0u);
}

// -- Overlapping calls on one object ------------------------------------------------
//
// The MemoryDevice contract: never two calls on the same memory object at once.
// A first flush or invalidate runs on another thread and sleeps inside the
// device (with its object marked in call) for long_delay_us; the test waits
// until that call has done its bookkeeping (its call is counted) and then makes
// a second call, which finds the mark unless it was held up for half a second.

constexpr std::uint32_t long_delay_us = 500'000;

MockDeviceOptions delayed() {
    MockDeviceOptions options;
    options.in_call_delay_us = long_delay_us;
    return options;
}

// Runs `first` on a thread, waits until the device has counted it (calls().*count
// reaches `before` + 1), runs `second` here, and joins.
template <class First, class Second>
void overlap(MockDevice& device, std::uint64_t MockCallCounts::*count, First first, Second second) {
    const std::uint64_t before = device.calls().*count;
    std::thread thread(first);
    while (device.calls().*count == before) std::this_thread::yield();
    second();
    thread.join();
}

struct Recorder {
    std::mutex mutex;
    std::vector<MisuseReport> reports;
    auto handler() {
        return [this](const MisuseReport& r) {
            std::lock_guard lock(mutex);
            reports.push_back(r);
        };
    }
    std::vector<MisuseKind> kinds() {
        std::lock_guard lock(mutex);
        std::vector<MisuseKind> out;
        for (const auto& r : reports) out.push_back(r.kind);
        return out;
    }
};

TEST(MockDeviceOverlap, TwoFlushesOfOneObjectAtOnceAreReported) {
    MockDevice device(test_properties(), delayed());
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    const Range a{&m, 0, KiB};
    const Range b{&m, 32 * KiB, KiB};  // another part of the same object: still the same object
    overlap(
        device, &MockCallCounts::flush, [&] { EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value()); },
        [&] { EXPECT_TRUE(device.flush_memory_ranges({&b, 1}).has_value()); });
    EXPECT_THAT(recorder.kinds(), ElementsAre(MisuseKind::concurrent_calls_on_object));
    EXPECT_THAT(recorder.reports.at(0).detail, HasSubstr("flush_memory_ranges"));
    EXPECT_THAT(recorder.reports.at(0).detail, HasSubstr("same time"));
    // After both returned the object is free again: no report.
    EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value());
    device.unmap_memory(m);
    device.deallocate_memory(m);
    EXPECT_EQ(recorder.kinds().size(), 1u);
}

TEST(MockDeviceOverlap, FlushAndInvalidateOfOneObjectAtOnceAreReported) {
    MockDevice device(test_properties(), delayed());
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    const Range a{&m, 0, KiB};
    overlap(
        device, &MockCallCounts::invalidate,
        [&] { EXPECT_TRUE(device.invalidate_memory_ranges({&a, 1}).has_value()); },
        [&] { EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value()); });
    EXPECT_THAT(recorder.kinds(), ElementsAre(MisuseKind::concurrent_calls_on_object));
    device.unmap_memory(m);
    device.deallocate_memory(m);
}

TEST(MockDeviceOverlap, UnmapDuringAFlushIsReported) {
    MockDevice device(test_properties(), delayed());
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    const Range a{&m, 0, KiB};
    overlap(
        device, &MockCallCounts::flush, [&] { EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value()); },
        [&] { device.unmap_memory(m); });
    EXPECT_THAT(recorder.kinds(), ElementsAre(MisuseKind::concurrent_calls_on_object));
    EXPECT_THAT(recorder.reports.at(0).detail, HasSubstr("unmap_memory"));
    device.deallocate_memory(m);
}

TEST(MockDeviceOverlap, DeallocateDuringAFlushIsReportedAndTheFlushReturnsSafely) {
    MockDevice device(test_properties(), delayed());
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    const Range a{&m, 0, KiB};
    // The object is destroyed under the sleeping flush, which still holds its
    // mark and drops it afterwards without touching freed memory.
    overlap(
        device, &MockCallCounts::flush, [&] { EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value()); },
        [&] { device.deallocate_memory(m); });
    EXPECT_THAT(recorder.kinds(),
                ElementsAre(MisuseKind::deallocate_while_mapped, MisuseKind::concurrent_calls_on_object));
    EXPECT_EQ(device.live_object_count(), 0u);
}

TEST(MockDeviceOverlap, FlushesOfDifferentObjectsAtOnceAreFine) {
    MockDevice device(test_properties(), delayed());
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    MockMemory n = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    ASSERT_TRUE(device.map_memory(n, 0, 64 * KiB).has_value());
    const Range a{&m, 0, KiB};
    const Range b{&n, 0, KiB};
    const auto started = std::chrono::steady_clock::now();
    overlap(
        device, &MockCallCounts::flush, [&] { EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value()); },
        [&] { EXPECT_TRUE(device.flush_memory_ranges({&b, 1}).has_value()); });
    // Each flush slept for long_delay_us, at the same time rather than one after
    // the other behind one lock: the calls really overlapped.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::microseconds(2 * long_delay_us));
    device.unmap_memory(m);
    device.unmap_memory(n);
    device.deallocate_memory(m);
    device.deallocate_memory(n);
    EXPECT_TRUE(recorder.kinds().empty());
}

TEST(MockDeviceOverlap, OneCallNamingAnObjectTwiceIsNotAnOverlap) {
    MockDeviceOptions options;
    options.in_call_delay_us = 1000;
    MockDevice device(test_properties(), options);
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    const Range ranges[] = {{&m, 0, KiB}, {&m, 8 * KiB, KiB}, {&m, 0, 64 * KiB}};
    EXPECT_TRUE(device.flush_memory_ranges(ranges).has_value());
    EXPECT_TRUE(device.invalidate_memory_ranges(ranges).has_value());
    device.unmap_memory(m);
    device.deallocate_memory(m);
    EXPECT_TRUE(recorder.kinds().empty());
}

// Without the option the calls do not sleep, and calls one after the other on
// one object (from different threads) are of course fine.
TEST(MockDeviceOverlap, SequentialCallsFromTwoThreadsAreFine) {
    MockDevice device(test_properties());
    Recorder recorder;
    device.set_misuse_handler(recorder.handler());
    MockMemory m = *device.allocate_memory(info(64 * KiB, 1));
    ASSERT_TRUE(device.map_memory(m, 0, 64 * KiB).has_value());
    const Range a{&m, 0, KiB};
    std::mutex one_at_a_time;
    auto flushes = [&] {
        for (int i = 0; i < 500; ++i) {
            std::lock_guard lock(one_at_a_time);
            EXPECT_TRUE(device.flush_memory_ranges({&a, 1}).has_value());
        }
    };
    std::thread t1(flushes), t2(flushes);
    t1.join();
    t2.join();
    device.unmap_memory(m);
    device.deallocate_memory(m);
    EXPECT_TRUE(recorder.kinds().empty());
}

}  // namespace
}  // namespace gpu_alloc::mock
