// Tests of the type-erased device (gpu_alloc/types/dyn_device.hpp): handles
// survive erasure, every call reaches the wrapped device, and a flush or
// invalidate range without memory (a null `memory` pointer) is skipped instead
// of dereferenced.
#include <gpu_alloc/types/dyn_device.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace gpu_alloc {
namespace {

// A MemoryDevice that records the ranges it is given. Its handle is an index.
struct RecordingDevice {
    using Memory = std::uint32_t;

    struct Seen {
        Memory memory;
        std::uint64_t offset;
        std::uint64_t size;
        friend bool operator==(const Seen&, const Seen&) = default;
    };

    std::vector<std::vector<Seen>> flushes;
    std::vector<std::vector<Seen>> invalidates;
    std::uint32_t next = 1;
    bool fail_ranges = false;

    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo&) { return next++; }
    void deallocate_memory(Memory) {}
    Result<std::byte*, DeviceMapError> map_memory(const Memory&, std::uint64_t, std::uint64_t) {
        return unexpected(DeviceMapError::map_failed);
    }
    void unmap_memory(const Memory&) {}
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) {
        return record(flushes, ranges);
    }
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>> ranges) {
        return record(invalidates, ranges);
    }

private:
    Result<void, OutOfMemory> record(std::vector<std::vector<Seen>>& calls,
                                     std::span<const MappedMemoryRange<Memory>> ranges) {
        std::vector<Seen> seen;
        for (const auto& r : ranges) {
            EXPECT_NE(r.memory, nullptr) << "a null range reached the wrapped device";
            if (r.memory != nullptr) seen.push_back({*r.memory, r.offset, r.size});
        }
        calls.push_back(std::move(seen));
        if (fail_ranges) return unexpected(OutOfMemory::out_of_device_memory);
        return {};
    }
};
static_assert(MemoryDevice<RecordingDevice>);

using Seen = RecordingDevice::Seen;
using DynRange = MappedMemoryRange<DynMemory>;

class DynDevice : public ::testing::Test {
protected:
    DynMemory allocate() {
        auto m = dyn_.allocate_memory(MemoryAllocateInfo{64, 0});
        EXPECT_TRUE(m.has_value());
        return m.value_or(DynMemory{});
    }

    RecordingDevice device_;
    DynMemoryDeviceAdapter<RecordingDevice> adapter_{device_};
    DynMemoryDevice& dyn_ = adapter_;
};

TEST_F(DynDevice, HandlesSurviveErasure) {
    const DynMemory a = allocate();
    const DynMemory b = allocate();
    EXPECT_EQ(DynMemoryDeviceAdapter<RecordingDevice>::restore(a), 1u);
    EXPECT_EQ(DynMemoryDeviceAdapter<RecordingDevice>::restore(b), 2u);
    const DynRange ranges[] = {{&a, 0, 64}, {&b, 16, 32}};
    EXPECT_TRUE(dyn_.flush_memory_ranges(ranges).has_value());
    ASSERT_EQ(device_.flushes.size(), 1u);
    EXPECT_EQ(device_.flushes[0], (std::vector<Seen>{{1, 0, 64}, {2, 16, 32}}));
}

TEST_F(DynDevice, ANullRangeIsSkippedAndTheDeviceNotCalled) {
    const DynRange null_range{nullptr, 0, 64};
    EXPECT_TRUE(dyn_.flush_memory_ranges({&null_range, 1}).has_value());
    EXPECT_TRUE(dyn_.invalidate_memory_ranges({&null_range, 1}).has_value());
    EXPECT_TRUE(device_.flushes.empty());
    EXPECT_TRUE(device_.invalidates.empty());
}

TEST_F(DynDevice, NullRangesAreLeftOutAndTheOthersForwarded) {
    const DynMemory a = allocate();
    const DynMemory b = allocate();
    const DynRange ranges[] = {{&a, 0, 64}, {nullptr, 8, 8}, {&b, 32, 32}, {nullptr, 0, 0}};
    EXPECT_TRUE(dyn_.flush_memory_ranges(ranges).has_value());
    EXPECT_TRUE(dyn_.invalidate_memory_ranges(ranges).has_value());
    const std::vector<Seen> expected{{1, 0, 64}, {2, 32, 32}};
    ASSERT_EQ(device_.flushes.size(), 1u);
    EXPECT_EQ(device_.flushes[0], expected);
    ASSERT_EQ(device_.invalidates.size(), 1u);
    EXPECT_EQ(device_.invalidates[0], expected);
}

// More ranges than the adapter keeps on the stack: the same through its vectors.
TEST_F(DynDevice, NullRangesInALargeBatchAreLeftOut) {
    std::vector<DynMemory> memory;
    for (int i = 0; i < 20; ++i) memory.push_back(allocate());
    std::vector<DynRange> ranges;
    std::vector<Seen> expected;
    for (std::uint32_t i = 0; i < 20; ++i) {
        if (i % 3 == 0) ranges.push_back({nullptr, i, 1});
        ranges.push_back({&memory[i], i * 64, 64});
        expected.push_back({i + 1, i * 64, 64});
    }
    ASSERT_GT(ranges.size(), 8u);
    EXPECT_TRUE(dyn_.invalidate_memory_ranges(ranges).has_value());
    ASSERT_EQ(device_.invalidates.size(), 1u);
    EXPECT_EQ(device_.invalidates[0], expected);

    std::vector<DynRange> only_null(12, DynRange{nullptr, 0, 64});
    EXPECT_TRUE(dyn_.flush_memory_ranges(only_null).has_value());
    EXPECT_TRUE(device_.flushes.empty());
}

TEST_F(DynDevice, TheWrappedDevicesErrorsAreForwarded) {
    device_.fail_ranges = true;
    const DynMemory a = allocate();
    const DynRange ranges[] = {{nullptr, 0, 64}, {&a, 0, 64}};
    auto f = dyn_.flush_memory_ranges(ranges);
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error(), OutOfMemory::out_of_device_memory);
    auto i = dyn_.invalidate_memory_ranges(ranges);
    ASSERT_FALSE(i.has_value());
    EXPECT_EQ(i.error(), OutOfMemory::out_of_device_memory);
}

TEST_F(DynDevice, AnEmptyListIsStillForwarded) {
    EXPECT_TRUE(dyn_.flush_memory_ranges({}).has_value());
    EXPECT_EQ(device_.flushes.size(), 1u);
    EXPECT_FALSE(dyn_.query_budget({})) << "RecordingDevice has no budget query";
}

}  // namespace
}  // namespace gpu_alloc
