// Randomized stress of the whole allocator against a reference model, and
// fault injection at every device call of a fixed random sequence.
//
// After every step: no two live blocks of one memory object overlap, each
// offset meets its alignment, each block lies inside its object, the
// allocator's counters equal the model's, the mock device's live objects and
// bytes equal the allocator's, heaps stay within their size.
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <map>
#include <random>
#include <vector>

#include "support/test_devices.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::KiB;
using gpu_alloc::test::MiB;
using Memory = gpu_alloc::mock::MockMemory;
using Allocator = GpuAllocator<Memory>;
using Block = MemoryBlock<Memory>;

namespace {

struct Live {
    Block block;
    std::uint64_t alignment;
};

/// Runs `steps` random operations; returns false (with a gtest failure) on the first broken invariant.
class Stress {
public:
    Stress(const DeviceProperties& props, gpu_alloc::mock::MockDevice& device, Config config, std::uint32_t seed)
        : props_(props), device_(device), allocator_(props, config), rng_(seed) {}

    void run(int steps, bool expect_success) {
        for (int i = 0; i < steps; ++i) {
            step(expect_success);
            check();
            if (::testing::Test::HasFatalFailure()) return;
        }
    }

    void finish() {
        for (Live& l : live_) allocator_.deallocate(device_, std::move(l.block));
        live_.clear();
        check();
        allocator_.cleanup(device_);
        EXPECT_EQ(device_.live_object_count(), 0u);
        EXPECT_EQ(allocator_.totals().device_objects, 0u);
        EXPECT_EQ(allocator_.remaining_allocations(), props_.max_memory_allocation_count);
    }

    std::uint64_t failures() const { return failures_; }

private:
    Request random_request() {
        Request r;
        const auto pick = rng_() % 100;
        if (pick < 50) r.size = 1 + rng_() % (4 * KiB);
        else if (pick < 90) r.size = 1 + rng_() % (1 * MiB);
        else if (pick < 98) r.size = 1 + rng_() % (16 * MiB);
        else r.size = 1 + rng_() % (48 * MiB);
        r.alignment = std::uint64_t{1} << (rng_() % 17);
        static constexpr UsageFlags usages[] = {UsageFlags::fast_device_access, UsageFlags::upload, UsageFlags::download,
                                                UsageFlags::upload | UsageFlags::transient,
                                                UsageFlags::host_access | UsageFlags::fast_device_access};
        r.usage = usages[rng_() % 5];
        r.kind = static_cast<ResourceKind>(rng_() % 3);
        if (rng_() % 50 == 0) r.dedicated = DedicatedHint::preferred;
        return r;
    }

    void step(bool expect_success) {
        const bool allocate = live_.empty() || rng_() % 100 < 55;
        if (allocate) {
            const Request r = random_request();
            auto b = allocator_.allocate(device_, r);
            if (!b) {
                ++failures_;
                if (expect_success) ADD_FAILURE() << "allocation failed: " << to_string(b.error());
                return;
            }
            EXPECT_EQ(b->size(), r.size);
            // Write through host-visible blocks now and then: exercises shared mappings.
            if (contains(b->props(), MemoryPropertyFlags::host_visible) && rng_() % 4 == 0) {
                const std::byte value{static_cast<unsigned char>(rng_())};
                std::vector<std::byte> bytes(std::min<std::uint64_t>(r.size, 64), value);
                auto w = b->write_bytes(device_, 0, bytes);
                if (!w) ++failures_;
            }
            live_.push_back({std::move(*b), r.alignment});
        } else {
            const std::size_t i = rng_() % live_.size();
            allocator_.deallocate(device_, std::move(live_[i].block));
            live_[i] = std::move(live_.back());
            live_.pop_back();
        }
    }

    void check() {
        std::map<std::uint64_t, std::map<std::uint64_t, std::uint64_t>> ranges;  // memory -> offset -> end
        std::uint64_t requested = 0;
        for (const Live& l : live_) {
            const Block& b = l.block;
            ASSERT_TRUE(b.holds_memory());
            ASSERT_EQ(b.offset() % l.alignment, 0u) << "misaligned block";
            auto info = device_.object_info(b.memory());
            ASSERT_TRUE(info) << "block in a memory object the device does not know";
            ASSERT_LE(b.offset() + b.size(), info->size) << "block outside its object";
            auto& mine = ranges[b.memory().id];
            auto [it, fresh] = mine.emplace(b.offset(), b.offset() + b.size());
            ASSERT_TRUE(fresh) << "two blocks at one offset";
            if (it != mine.begin()) {
                ASSERT_LE(std::prev(it)->second, it->first) << "overlap";
            }
            if (std::next(it) != mine.end()) {
                ASSERT_LE(it->second, std::next(it)->first) << "overlap";
            }
            requested += b.size();
        }
        const TotalCounters t = allocator_.totals();
        ASSERT_EQ(t.block_count, live_.size());
        ASSERT_EQ(t.requested_bytes, requested);
        ASSERT_GE(t.used_bytes, t.requested_bytes);
        ASSERT_EQ(t.device_objects, device_.live_object_count());
        std::uint64_t device_bytes = 0;
        for (std::uint32_t h = 0; h < props_.memory_heaps.size(); ++h) {
            ASSERT_LE(device_.live_bytes(h), props_.memory_heaps[h].size);
            device_bytes += device_.live_bytes(h);
        }
        ASSERT_EQ(t.reserved_bytes, device_bytes);
        ASSERT_EQ(device_.misuse_count(), 0u);
    }

    const DeviceProperties& props_;
    gpu_alloc::mock::MockDevice& device_;
    Allocator allocator_;
    std::mt19937 rng_;
    std::vector<Live> live_;
    std::uint64_t failures_ = 0;
};

}  // namespace

TEST(AllocatorStress, RandomOperationsKeepEveryInvariant) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    for (std::uint32_t seed : {1u, 2u, 3u}) {
        gpu_alloc::mock::MockDevice device(props);
        Stress stress(props, device, Config::low_memory(), seed);
        stress.run(4000, /*expect_success=*/false);  // the small heaps do fill up at times
        stress.finish();
    }
}

TEST(AllocatorStress, EveryStrategyPolicyKeepsEveryInvariant) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    for (StrategyPolicy policy : {StrategyPolicy::free_list, StrategyPolicy::buddy, StrategyPolicy::slab,
                                  StrategyPolicy::dedicated}) {
        gpu_alloc::mock::MockDevice device(props);
        Config config = Config::low_memory();
        config.policy = policy;
        Stress stress(props, device, config, 11);
        stress.run(1500, false);
        stress.finish();
    }
}

TEST(AllocatorStress, RandomDeviceFailuresNeverBreakTheAllocator) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    gpu_alloc::mock::MockDevice device(props);
    device.set_failure_probability(0.2, 99);
    Stress stress(props, device, Config::low_memory(), 5);
    stress.run(3000, false);
    EXPECT_GT(stress.failures(), 0u);
    device.clear_faults();
    stress.finish();
}

// Fault injection at every step: the same sequence, failing the k-th device
// call for every k until a run completes with no injected failure.
TEST(AllocatorFaultInjection, FailingEachDeviceCallInTurnLeavesNothingBroken) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    std::uint64_t k = 1;
    std::uint64_t exercised = 0;
    for (;; ++k) {
        gpu_alloc::mock::MockDevice device(props);
        device.fail_nth_call(k);
        Stress stress(props, device, Config::low_memory(), 77);
        stress.run(300, false);
        if (::testing::Test::HasFatalFailure()) FAIL() << "invariant broken with the device failing call " << k;
        const bool fired = device.calls().injected_failures > 0;
        device.clear_faults();
        stress.finish();
        if (!fired) break;
        ++exercised;
    }
    EXPECT_GT(exercised, 10u);
    RecordProperty("fault_points", static_cast<int>(exercised));
}
