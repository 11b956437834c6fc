// Tests of the strict mock device: every misuse kind is caught (and nothing
// else is reported), each injected fault fires exactly on the call asked for,
// counters and budgets add up, mapped data persists (several threads and
// overlapping calls: mock_device_threads_test.cpp).
#include <gpu_alloc/mock/mock_device.hpp>

// DynMemoryDeviceAdapter::restore memcpy's into the handle type; MockMemory is
// trivially copyable but has a default member initializer, which g++'s
// -Wclass-memaccess flags there. Silenced for this include only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclass-memaccess"
#endif
#include <gpu_alloc/types/dyn_device.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <gpu_alloc/gpu_allocator.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>
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

// A device whose misuse handler records the kinds instead of printing them.
class MockDeviceTest : public ::testing::Test {
protected:
    MockDeviceTest() : device_(test_properties()) {
        device_.set_misuse_handler([this](const MisuseReport& r) { seen_.push_back(r.kind); });
    }
    ~MockDeviceTest() override {
        // Every test cleans up after itself; leaks would show up as extra reports here.
        EXPECT_EQ(device_.live_object_count(), 0u) << "test leaked device memory";
    }

    MockMemory allocate(std::uint64_t size, std::uint32_t type) {
        auto r = device_.allocate_memory(info(size, type));
        EXPECT_TRUE(r.has_value());
        return r.value_or(MockMemory{});
    }
    // The kinds reported since the last call, then forgets them.
    std::vector<MisuseKind> take() { return std::exchange(seen_, {}); }

    MockDevice device_;
    std::vector<MisuseKind> seen_;
};

// -- Normal use ----------------------------------------------------------------

TEST_F(MockDeviceTest, AllocateRecordsTheObjectAndCounts) {
    MemoryAllocateInfo i = info(3 * MiB, 0);
    i.dedicated = {DedicatedResourceKind::image, 42};
    i.priority = 0.75f;
    auto a = device_.allocate_memory(i);
    ASSERT_TRUE(a.has_value());
    MockMemory b = allocate(1 * MiB, 1);
    EXPECT_NE(*a, b);

    auto ia = device_.object_info(*a);
    ASSERT_TRUE(ia.has_value());
    EXPECT_EQ(ia->size, 3 * MiB);
    EXPECT_EQ(ia->memory_type, 0u);
    EXPECT_EQ(ia->heap, 0u);
    EXPECT_TRUE(ia->dedicated);
    EXPECT_FALSE(ia->mapped);
    EXPECT_FLOAT_EQ(ia->priority, 0.75f);
    EXPECT_FALSE(device_.object_info(b)->dedicated);

    EXPECT_EQ(device_.live_object_count(), 2u);
    EXPECT_EQ(device_.live_bytes(0), 3 * MiB);
    EXPECT_EQ(device_.live_bytes(1), 1 * MiB);
    EXPECT_EQ(device_.live_bytes(7), 0u);

    device_.deallocate_memory(*a);
    EXPECT_FALSE(device_.object_info(*a).has_value());
    EXPECT_EQ(device_.live_object_count(), 1u);
    EXPECT_EQ(device_.live_bytes(0), 0u);
    EXPECT_EQ(device_.peak_live_bytes(0), 3 * MiB);
    EXPECT_EQ(device_.peak_live_object_count(), 2u);
    device_.deallocate_memory(b);

    const MockCallCounts c = device_.calls();
    EXPECT_EQ(c.allocate, 2u);
    EXPECT_EQ(c.allocate_failed, 0u);
    EXPECT_EQ(c.deallocate, 2u);
    EXPECT_EQ(device_.misuse_count(), 0u);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, IdsAreNeverReusedAndDifferAcrossDevices) {
    std::set<std::uint64_t> ids;
    for (int i = 0; i < 20; ++i) {
        MockMemory m = allocate(KiB, 0);
        EXPECT_TRUE(ids.insert(m.id).second);
        EXPECT_NE(m.id, 0u);
        device_.deallocate_memory(m);
    }
    MockDevice other(test_properties());
    auto m = other.allocate_memory(info(KiB, 0));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(ids.count(m->id), 0u);
    other.deallocate_memory(*m);
}

TEST_F(MockDeviceTest, MappedDataPersistsAcrossUnmapAndMap) {
    MockMemory m = allocate(64 * KiB, 1);
    auto p = device_.map_memory(m, 0, 64 * KiB);
    ASSERT_TRUE(p.has_value());
    for (std::size_t i = 0; i < 64 * KiB; ++i) ASSERT_EQ((*p)[i], std::byte{0}) << "not zero-filled at " << i;
    std::memcpy(*p + 1000, "hello", 5);
    EXPECT_TRUE(device_.object_info(m)->mapped);
    device_.unmap_memory(m);
    EXPECT_FALSE(device_.object_info(m)->mapped);

    auto q = device_.map_memory(m, 1000, 5);
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(std::memcmp(*q, "hello", 5), 0);
    EXPECT_EQ(*q, *p + 1000);  // backing + offset
    EXPECT_EQ(device_.object_info(m)->map_offset, 1000u);
    EXPECT_EQ(device_.object_info(m)->map_size, 5u);
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, LargeObjectsCostNothingUntilTouched) {
    MockMemory m = allocate(64 * MiB, 1);   // all of heap 1
    MockMemory n = allocate(128 * MiB, 0);  // half of heap 0, never mapped
    auto p = device_.map_memory(m, 0, 64 * MiB);
    ASSERT_TRUE(p.has_value());
    (*p)[64 * MiB - 1] = std::byte{7};
    EXPECT_EQ((*p)[64 * MiB - 1], std::byte{7});
    EXPECT_EQ((*p)[0], std::byte{0});
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
    device_.deallocate_memory(n);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, FlushAndInvalidateAcceptValidRanges) {
    MockMemory m = allocate(1000, 2);  // not coherent, atom 64
    ASSERT_TRUE(device_.map_memory(m, 0, 1000).has_value());
    const Range ranges[] = {{&m, 0, 64}, {&m, 128, 256}, {&m, 960, 40} /* reaches the end */, {&m, 0, 1000}};
    EXPECT_TRUE(device_.flush_memory_ranges(ranges).has_value());
    EXPECT_TRUE(device_.invalidate_memory_ranges(ranges).has_value());
    EXPECT_TRUE(device_.flush_memory_ranges({}).has_value());
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
    EXPECT_EQ(device_.calls().flush, 2u);
    EXPECT_EQ(device_.calls().invalidate, 1u);
    EXPECT_TRUE(take().empty());
}

// -- Misuse: allocate ---------------------------------------------------------

TEST_F(MockDeviceTest, ZeroSize) {
    auto r = device_.allocate_memory(info(0, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), OutOfMemory::out_of_device_memory);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::zero_size));
    EXPECT_EQ(device_.calls().allocate_failed, 1u);
}

TEST_F(MockDeviceTest, SizeOverMax) {
    auto r = device_.allocate_memory(info(128 * MiB + 1, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), OutOfMemory::out_of_device_memory);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::size_over_max));
}

TEST_F(MockDeviceTest, MemoryTypeOutOfRange) {
    EXPECT_FALSE(device_.allocate_memory(info(KiB, 4)).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::memory_type_out_of_range));
    auto reports = device_.misuse_reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_THAT(reports[0].detail, HasSubstr("4 memory types"));
}

TEST_F(MockDeviceTest, SeveralMisusesInOneCallAreAllReported) {
    EXPECT_FALSE(device_.allocate_memory(info(0, 9)).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::zero_size, MisuseKind::memory_type_out_of_range));
}

TEST_F(MockDeviceTest, DeviceAddressNeedsTheFeature) {
    EXPECT_FALSE(device_.allocate_memory(info(KiB, 0, AllocationFlags::device_address)).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::device_address_not_enabled));

    DeviceProperties props = test_properties();
    props.buffer_device_address = true;
    MockDevice with_bda(props);
    auto r = with_bda.allocate_memory(info(KiB, 0, AllocationFlags::device_address));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(with_bda.object_info(*r)->flags, AllocationFlags::device_address);
    with_bda.deallocate_memory(*r);
    EXPECT_EQ(with_bda.misuse_count(), 0u);
}

TEST_F(MockDeviceTest, TooManyObjects) {
    std::vector<MockMemory> live;
    for (int i = 0; i < 8; ++i) live.push_back(allocate(KiB, 0));
    EXPECT_FALSE(device_.allocate_memory(info(KiB, 0)).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::too_many_objects));
    device_.deallocate_memory(live.back());
    live.back() = allocate(KiB, 0);  // room again
    for (MockMemory m : live) device_.deallocate_memory(m);
    EXPECT_TRUE(take().empty());
}

// -- Misuse: handles ----------------------------------------------------------

TEST_F(MockDeviceTest, DoubleFree) {
    MockMemory m = allocate(KiB, 0);
    device_.deallocate_memory(m);
    device_.deallocate_memory(m);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::double_free));
    EXPECT_EQ(device_.calls().deallocate, 2u);
}

TEST_F(MockDeviceTest, UnknownMemory) {
    device_.deallocate_memory(MockMemory{});
    device_.deallocate_memory(MockMemory{12345});  // serial 0: no device made it
    MockMemory m = allocate(KiB, 0);
    device_.deallocate_memory(MockMemory{m.id + 1000});  // this device, not created yet
    EXPECT_THAT(take(), ElementsAre(MisuseKind::unknown_memory, MisuseKind::unknown_memory,
                                    MisuseKind::unknown_memory));
    EXPECT_EQ(device_.live_object_count(), 1u);
    device_.deallocate_memory(m);
}

TEST_F(MockDeviceTest, ForeignMemory) {
    MockDevice other(test_properties());
    auto theirs = other.allocate_memory(info(KiB, 1));
    ASSERT_TRUE(theirs.has_value());
    device_.deallocate_memory(*theirs);
    EXPECT_FALSE(device_.map_memory(*theirs, 0, KiB).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::foreign_memory, MisuseKind::foreign_memory));
    EXPECT_TRUE(other.object_info(*theirs).has_value()) << "the owner's object must be untouched";
    other.deallocate_memory(*theirs);
    EXPECT_EQ(other.misuse_count(), 0u);
}

TEST_F(MockDeviceTest, UseAfterFree) {
    MockMemory m = allocate(KiB, 1);
    device_.deallocate_memory(m);
    auto r = device_.map_memory(m, 0, KiB);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), DeviceMapError::map_failed);
    device_.unmap_memory(m);
    const Range range{&m, 0, KiB};
    EXPECT_TRUE(device_.flush_memory_ranges({&range, 1}).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::use_after_free, MisuseKind::use_after_free,
                                    MisuseKind::use_after_free));
}

TEST_F(MockDeviceTest, DeallocateWhileMapped) {
    MockMemory m = allocate(KiB, 1);
    ASSERT_TRUE(device_.map_memory(m, 0, KiB).has_value());
    device_.deallocate_memory(m);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::deallocate_while_mapped));
    EXPECT_EQ(device_.live_object_count(), 0u) << "the object is destroyed anyway";
}

// -- Misuse: map --------------------------------------------------------------

TEST_F(MockDeviceTest, MapNotHostVisible) {
    MockMemory m = allocate(KiB, 0);
    auto r = device_.map_memory(m, 0, KiB);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), DeviceMapError::map_failed);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::map_not_host_visible));
    EXPECT_FALSE(device_.object_info(m)->mapped);
    EXPECT_EQ(device_.calls().map_failed, 1u);
    device_.deallocate_memory(m);
}

TEST_F(MockDeviceTest, MapWhileMapped) {
    MockMemory m = allocate(KiB, 1);
    ASSERT_TRUE(device_.map_memory(m, 0, KiB).has_value());
    auto r = device_.map_memory(m, 0, 64);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), DeviceMapError::map_failed);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::map_while_mapped));
    EXPECT_EQ(device_.object_info(m)->map_size, KiB) << "the first mapping stays";
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
}

TEST_F(MockDeviceTest, MapOutOfRange) {
    MockMemory m = allocate(KiB, 1);
    EXPECT_FALSE(device_.map_memory(m, 1, KiB).has_value());
    EXPECT_FALSE(device_.map_memory(m, 0, 0).has_value());
    EXPECT_FALSE(device_.map_memory(m, UINT64_MAX - 1, 4).has_value());  // offset + size overflows
    EXPECT_FALSE(device_.map_memory(m, 0, UINT64_MAX).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::map_out_of_range, MisuseKind::map_out_of_range,
                                    MisuseKind::map_out_of_range, MisuseKind::map_out_of_range));
    EXPECT_TRUE(device_.map_memory(m, KiB - 1, 1).has_value());  // the last byte is fine
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, UnmapNotMapped) {
    MockMemory m = allocate(KiB, 1);
    device_.unmap_memory(m);
    ASSERT_TRUE(device_.map_memory(m, 0, KiB).has_value());
    device_.unmap_memory(m);
    device_.unmap_memory(m);
    EXPECT_THAT(take(), ElementsAre(MisuseKind::unmap_not_mapped, MisuseKind::unmap_not_mapped));
    EXPECT_EQ(device_.calls().unmap, 3u);
    device_.deallocate_memory(m);
}

// -- Misuse: flush / invalidate ------------------------------------------------

TEST_F(MockDeviceTest, RangeNotMapped) {
    MockMemory m = allocate(KiB, 2);
    const Range range{&m, 0, 64};
    EXPECT_TRUE(device_.flush_memory_ranges({&range, 1}).has_value());
    EXPECT_TRUE(device_.invalidate_memory_ranges({&range, 1}).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::range_not_mapped, MisuseKind::range_not_mapped));
    device_.deallocate_memory(m);
}

TEST_F(MockDeviceTest, NullRangeMemory) {
    const Range range{nullptr, 0, 64};
    EXPECT_TRUE(device_.flush_memory_ranges({&range, 1}).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::unknown_memory));
}

TEST_F(MockDeviceTest, RangeOutOfRange) {
    MockMemory m = allocate(4 * KiB, 1);
    ASSERT_TRUE(device_.map_memory(m, KiB, KiB).has_value());  // mapped [1024, 2048)
    const Range ranges[] = {
        {&m, 0, 64},               // before the mapped range
        {&m, 1984, 128},           // runs past its end
        {&m, 4096, 0},             // past the end of the object
        {&m, KiB, UINT64_MAX},     // size overflows
        {&m, KiB, KiB},            // fine: exactly the mapped range
    };
    EXPECT_TRUE(device_.invalidate_memory_ranges(ranges).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::range_out_of_range, MisuseKind::range_out_of_range,
                                    MisuseKind::range_out_of_range, MisuseKind::range_out_of_range));
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
}

TEST_F(MockDeviceTest, RangeMisalignedOnNonCoherentMemory) {
    MockMemory m = allocate(1000, 3);
    ASSERT_TRUE(device_.map_memory(m, 0, 1000).has_value());
    const Range bad[] = {
        {&m, 32, 64},   // offset not a multiple of 64
        {&m, 64, 100},  // size not a multiple and not reaching the end
        {&m, 0, 999},   // one byte short of the end
    };
    EXPECT_TRUE(device_.flush_memory_ranges(bad).has_value());
    EXPECT_THAT(take(), ElementsAre(MisuseKind::range_misaligned, MisuseKind::range_misaligned,
                                    MisuseKind::range_misaligned));
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
}

TEST_F(MockDeviceTest, CoherentMemoryHasNoAlignmentRule) {
    MockMemory m = allocate(1000, 1);
    ASSERT_TRUE(device_.map_memory(m, 0, 1000).has_value());
    const Range ranges[] = {{&m, 32, 64}, {&m, 64, 100}};
    EXPECT_TRUE(device_.flush_memory_ranges(ranges).has_value());
    EXPECT_TRUE(take().empty());
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
}

// -- Misuse: reporting ---------------------------------------------------------

TEST(MockDeviceReporting, LeaksAreReportedAtDestruction) {
    std::vector<MisuseReport> reports;
    {
        MockDevice device(test_properties());
        device.set_misuse_handler([&](const MisuseReport& r) { reports.push_back(r); });
        ASSERT_TRUE(device.allocate_memory(info(KiB, 0)).has_value());
        auto mapped = device.allocate_memory(info(2 * KiB, 1));
        ASSERT_TRUE(mapped.has_value());
        ASSERT_TRUE(device.map_memory(*mapped, 0, KiB).has_value());
        auto freed = device.allocate_memory(info(KiB, 0));
        ASSERT_TRUE(freed.has_value());
        device.deallocate_memory(*freed);
    }
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reports[0].kind, MisuseKind::leak);
    EXPECT_THAT(reports[0].detail, HasSubstr("1024 bytes of memory type 0"));
    EXPECT_EQ(reports[1].kind, MisuseKind::leak);
    EXPECT_THAT(reports[1].detail, HasSubstr("(and mapped)"));
}

TEST(MockDeviceReporting, ReportsAreRecordedAndCleared) {
    MockDevice device(test_properties());
    device.set_misuse_handler({});  // record only
    device.deallocate_memory(MockMemory{});
    ASSERT_EQ(device.misuse_count(), 1u);
    EXPECT_EQ(device.misuse_reports()[0].kind, MisuseKind::unknown_memory);
    EXPECT_THAT(device.misuse_reports()[0].detail, HasSubstr("deallocate_memory"));
    device.clear_misuse_reports();
    EXPECT_EQ(device.misuse_count(), 0u);
    EXPECT_TRUE(device.misuse_reports().empty());
}

TEST(MockDeviceReporting, DefaultHandlerPrintsToStderr) {
    MockDevice device(test_properties());
    ::testing::internal::CaptureStderr();
    device.deallocate_memory(MockMemory{});
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("gpu_alloc MockDevice misuse: unknown_memory: deallocate_memory"));
}

TEST(MockDeviceReporting, HandlerMayCallBackIntoTheDevice) {
    MockDevice device(test_properties());
    std::size_t count_seen = 0;
    device.set_misuse_handler([&](const MisuseReport&) { count_seen = device.misuse_count(); });
    device.unmap_memory(MockMemory{});
    EXPECT_EQ(count_seen, 1u);
}

TEST(MockDeviceReportingDeathTest, AbortOnMisuse) {
    MockDeviceOptions options;
    options.abort_on_misuse = true;
    EXPECT_DEATH(
        {
            MockDevice device(test_properties(), options);
            auto m = device.allocate_memory(info(KiB, 0));
            device.deallocate_memory(*m);
            device.deallocate_memory(*m);
        },
        "double_free");
}

TEST(MockDeviceReporting, KindNamesAreDistinct) {
    std::set<std::string_view> names;
    for (int k = 0; k <= static_cast<int>(MisuseKind::concurrent_calls_on_object); ++k) {
        const std::string_view name = to_string(static_cast<MisuseKind>(k));
        EXPECT_FALSE(name.empty());
        EXPECT_NE(name, "unknown MisuseKind");
        EXPECT_TRUE(names.insert(name).second) << name;
    }
    std::ostringstream os;
    os << MisuseKind::range_misaligned;
    EXPECT_EQ(os.str(), "range_misaligned");
}

// -- Heap limits, budget ---------------------------------------------------------

TEST_F(MockDeviceTest, FullHeapIsOutOfMemoryNotMisuse) {
    MockMemory a = allocate(32 * MiB, 1);
    MockMemory b = allocate(32 * MiB, 2);  // heap 1 (64 MiB) now full
    auto r = device_.allocate_memory(info(1, 3));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), OutOfMemory::out_of_device_memory);
    EXPECT_EQ(device_.calls().out_of_heap, 1u);
    EXPECT_EQ(device_.calls().allocate_failed, 1u);
    MockMemory c = allocate(1, 0);  // heap 0 still has room
    device_.deallocate_memory(a);
    MockMemory d = allocate(32 * MiB, 3);
    for (MockMemory m : {b, c, d}) device_.deallocate_memory(m);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, HeapSizeLimitShrinksTheHeap) {
    MockMemory a = allocate(2 * MiB, 0);
    device_.set_heap_size_limit(0, 3 * MiB);
    EXPECT_FALSE(device_.allocate_memory(info(2 * MiB, 0)).has_value());
    MockMemory b = allocate(1 * MiB, 0);
    EXPECT_FALSE(device_.allocate_memory(info(1, 0)).has_value());
    device_.set_heap_size_limit(0, 1 * MiB);  // below what is live: live objects stay
    EXPECT_EQ(device_.live_bytes(0), 3 * MiB);
    device_.clear_faults();
    MockMemory c = allocate(100 * MiB, 0);
    for (MockMemory m : {a, b, c}) device_.deallocate_memory(m);
    EXPECT_EQ(device_.calls().out_of_heap, 2u);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, QueryBudgetReportsBudgetAndUsage) {
    MockMemory a = allocate(5 * MiB, 0);
    MockMemory b = allocate(3 * MiB, 2);
    std::vector<HeapBudget> heaps(2);
    ASSERT_TRUE(device_.query_budget(heaps));
    EXPECT_EQ(heaps[0].budget, 256 * MiB);
    EXPECT_EQ(heaps[0].usage, 5 * MiB);
    EXPECT_EQ(heaps[1].budget, 64 * MiB);
    EXPECT_EQ(heaps[1].usage, 3 * MiB);

    device_.set_heap_budget(1, 10 * MiB);
    ASSERT_TRUE(device_.query_budget(heaps));
    EXPECT_EQ(heaps[1].budget, 10 * MiB);
    MockMemory c = allocate(20 * MiB, 1);  // a budget is advice, not a limit
    ASSERT_TRUE(device_.query_budget(heaps));
    EXPECT_EQ(heaps[1].usage, 23 * MiB);

    std::vector<HeapBudget> wrong(3);
    EXPECT_FALSE(device_.query_budget(wrong));
    device_.clear_faults();
    ASSERT_TRUE(device_.query_budget(heaps));
    EXPECT_EQ(heaps[1].budget, 64 * MiB);
    for (MockMemory m : {a, b, c}) device_.deallocate_memory(m);
}

TEST(MockDeviceBudget, NoBudgetWhenNotReported) {
    MockDeviceOptions options;
    options.report_budget = false;
    MockDevice device(test_properties(), options);
    std::vector<HeapBudget> heaps(2);
    EXPECT_FALSE(device.query_budget(heaps));
}

// -- Fault injection ---------------------------------------------------------------

TEST_F(MockDeviceTest, FailNthAllocationFailsExactlyThatOne) {
    device_.fail_nth_allocation(3);
    std::vector<bool> ok;
    std::vector<MockMemory> live;
    for (int i = 0; i < 5; ++i) {
        auto r = device_.allocate_memory(info(KiB, 0));
        ok.push_back(r.has_value());
        if (r) live.push_back(*r);
        else EXPECT_EQ(r.error(), OutOfMemory::out_of_device_memory);
    }
    EXPECT_THAT(ok, ElementsAre(true, true, false, true, true));
    EXPECT_EQ(device_.calls().injected_failures, 1u);
    EXPECT_EQ(device_.calls().allocate_failed, 1u);
    for (MockMemory m : live) device_.deallocate_memory(m);
    EXPECT_TRUE(take().empty()) << "an injected failure is not misuse";
}

TEST(MockDeviceFaults, InjectedHostOutOfMemory) {
    MockDeviceOptions options;
    options.inject_host_oom = true;
    MockDevice device(test_properties(), options);
    device.fail_nth_allocation(1);
    auto r = device.allocate_memory(info(KiB, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), OutOfMemory::out_of_host_memory);
}

TEST_F(MockDeviceTest, FailNthMapFailsExactlyThatOne) {
    MockMemory m = allocate(KiB, 1);
    device_.fail_nth_map(2);
    ASSERT_TRUE(device_.map_memory(m, 0, KiB).has_value());
    device_.unmap_memory(m);
    auto r = device_.map_memory(m, 0, KiB);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), DeviceMapError::map_failed);
    EXPECT_FALSE(device_.object_info(m)->mapped);
    ASSERT_TRUE(device_.map_memory(m, 0, KiB).has_value());
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
    EXPECT_EQ(device_.calls().map_failed, 1u);
    EXPECT_TRUE(take().empty());
}

// Fails each fallible step of a fixed sequence in turn: exactly that step fails.
TEST_F(MockDeviceTest, FailNthCallHitsEveryStepInTurn) {
    for (std::uint64_t n = 1; n <= 4; ++n) {
        device_.fail_nth_call(n);
        std::vector<bool> ok;
        auto a = device_.allocate_memory(info(KiB, 2));                                    // 1
        ok.push_back(a.has_value());
        MockMemory m = a.value_or(MockMemory{});
        if (!a) m = allocate(KiB, 2);  // carry on with a fresh object
        auto p = device_.map_memory(m, 0, KiB);                                            // 2
        ok.push_back(p.has_value());
        if (!p) {
            ASSERT_TRUE(device_.map_memory(m, 0, KiB).has_value());
        }
        const Range range{&m, 0, KiB};
        auto f = device_.flush_memory_ranges({&range, 1});                                 // 3
        ok.push_back(f.has_value());
        auto i = device_.invalidate_memory_ranges({&range, 1});                            // 4
        ok.push_back(i.has_value());
        if (!f) {
            EXPECT_EQ(f.error(), OutOfMemory::out_of_host_memory);
        }
        if (!i) {
            EXPECT_EQ(i.error(), OutOfMemory::out_of_host_memory);
        }
        device_.unmap_memory(m);
        device_.deallocate_memory(m);

        std::vector<bool> expected(4, true);
        expected[n - 1] = false;
        EXPECT_EQ(ok, expected) << "fail_nth_call(" << n << ")";
    }
    EXPECT_EQ(device_.calls().injected_failures, 4u);
    EXPECT_TRUE(take().empty());
}

TEST_F(MockDeviceTest, FailEveryAllocationFailsThemAllUntilTurnedOff) {
    device_.fail_every_allocation(true);
    for (int i = 0; i < 5; ++i) {
        auto r = device_.allocate_memory(info(KiB, i % 2 == 0 ? 0u : 1u));
        ASSERT_FALSE(r.has_value()) << "allocation " << i;
        EXPECT_EQ(r.error(), OutOfMemory::out_of_device_memory);
    }
    EXPECT_EQ(device_.calls().injected_failures, 5u);
    EXPECT_EQ(device_.calls().allocate_failed, 5u);
    EXPECT_EQ(device_.live_object_count(), 0u);
    device_.fail_every_allocation(false);
    MockMemory m = allocate(KiB, 0);
    device_.deallocate_memory(m);
    device_.fail_every_allocation(true);
    device_.clear_faults();
    m = allocate(KiB, 0);
    device_.deallocate_memory(m);
    EXPECT_EQ(device_.calls().injected_failures, 5u);
    EXPECT_TRUE(take().empty()) << "an injected failure is not misuse";
}

void fail_on_misuse(const MisuseReport& r) { ADD_FAILURE() << to_string(r.kind) << ": " << r.detail; }

// One failed device allocation never makes GpuAllocator::allocate fail (it
// retries with smaller chunks, a dedicated object, the other types); failing
// every device allocation does, and leaves nothing behind.
TEST(MockDeviceFaults, FailEveryAllocationMakesTheAllocatorFail) {
    const DeviceProperties props = test_properties();
    Request request;
    request.size = 64 * KiB;
    request.alignment = 256;
    request.memory_types = 0b1111;
    request.usage = UsageFlags::upload;
    request.kind = ResourceKind::linear;
    {
        MockDevice device(props);
        device.set_misuse_handler(fail_on_misuse);
        GpuAllocator<MockMemory> allocator(props, Config::for_device(props));
        device.fail_nth_allocation(1);
        auto block = allocator.allocate(device, request);
        ASSERT_TRUE(block.has_value()) << "one injected failure is retried";
        EXPECT_EQ(device.calls().injected_failures, 1u);
        allocator.deallocate(device, std::move(*block));
        allocator.cleanup(device);
        EXPECT_EQ(device.live_object_count(), 0u);
    }
    {
        MockDevice device(props);
        device.set_misuse_handler(fail_on_misuse);
        GpuAllocator<MockMemory> allocator(props, Config::for_device(props));
        device.fail_every_allocation(true);
        auto block = allocator.allocate(device, request);
        ASSERT_FALSE(block.has_value());
        EXPECT_EQ(block.error().kind, AllocationErrorKind::out_of_device_memory);
        EXPECT_GE(device.calls().allocate, 2u) << "the allocator retries before giving up";
        EXPECT_EQ(device.calls().injected_failures, device.calls().allocate);
        EXPECT_EQ(device.live_object_count(), 0u);
        device.fail_every_allocation(false);
        block = allocator.allocate(device, request);
        ASSERT_TRUE(block.has_value());
        allocator.deallocate(device, std::move(*block));
        allocator.cleanup(device);
        EXPECT_EQ(device.live_object_count(), 0u);
    }
}

TEST_F(MockDeviceTest, ClearFaultsDisarms) {
    device_.fail_nth_allocation(1);
    device_.fail_nth_map(1);
    device_.fail_nth_call(1);
    device_.set_failure_probability(1.0, 1);
    device_.clear_faults();
    MockMemory m = allocate(KiB, 1);
    EXPECT_TRUE(device_.map_memory(m, 0, KiB).has_value());
    device_.unmap_memory(m);
    device_.deallocate_memory(m);
    EXPECT_EQ(device_.calls().injected_failures, 0u);
}

std::vector<bool> failure_pattern(double p, std::uint64_t seed) {
    MockDevice device(test_properties());
    device.set_failure_probability(p, seed);
    std::vector<bool> failed;
    for (int i = 0; i < 200; ++i) {
        auto r = device.allocate_memory(info(KiB, 0));
        failed.push_back(!r.has_value());
        if (r) device.deallocate_memory(*r);
    }
    EXPECT_EQ(device.misuse_count(), 0u);
    return failed;
}

TEST(MockDeviceFaults, RandomFailuresAreSeededAndDeterministic) {
    const std::vector<bool> a = failure_pattern(0.5, 42);
    EXPECT_EQ(a, failure_pattern(0.5, 42));
    EXPECT_NE(a, failure_pattern(0.5, 43));
    const auto failures = std::count(a.begin(), a.end(), true);
    EXPECT_GT(failures, 60);
    EXPECT_LT(failures, 140);
    const std::vector<bool> none = failure_pattern(0.0, 42);
    EXPECT_EQ(std::count(none.begin(), none.end(), true), 0);
    const std::vector<bool> all = failure_pattern(1.0, 42);
    EXPECT_EQ(std::count(all.begin(), all.end(), true), 200);
}

// -- Cost model --------------------------------------------------------------------------

TEST(MockDeviceCost, ModeledTimeFollowsTheProfile) {
    auto profile = load_profile(std::string(GPU_ALLOC_PROFILE_DIR) + "/nvidia-h100-vulkan.json");
    ASSERT_TRUE(profile.has_value()) << profile.error().message;
    MockDevice device = MockDevice::from_profile(*profile);
    EXPECT_EQ(device.properties(), profile->properties);
    auto m = device.allocate_memory(info(1 * MiB, 1));
    ASSERT_TRUE(m.has_value());
    EXPECT_DOUBLE_EQ(device.modeled_device_us(), 296.0);
    device.deallocate_memory(*m);
    EXPECT_DOUBLE_EQ(device.modeled_device_us(), 296.0 + 293.0);
    device.fail_nth_allocation(1);
    EXPECT_FALSE(device.allocate_memory(info(1 * MiB, 1)).has_value());
    EXPECT_DOUBLE_EQ(device.modeled_device_us(), 296.0 + 293.0) << "failed calls cost nothing";

    MockDevice plain(profile->properties);
    auto n = plain.allocate_memory(info(1 * MiB, 1));
    ASSERT_TRUE(n.has_value());
    plain.deallocate_memory(*n);
    EXPECT_EQ(plain.modeled_device_us(), 0.0);
    plain.set_cost_model(profile->cost);
    n = plain.allocate_memory(info(1 * MiB, 1));
    ASSERT_TRUE(n.has_value());
    EXPECT_DOUBLE_EQ(plain.modeled_device_us(), 296.0);
    plain.deallocate_memory(*n);
}

// -- Type erasure, threads ------------------------------------------------------------------

TEST(MockDeviceDyn, WorksBehindTheTypeErasedInterface) {
    MockDevice device(test_properties());
    DynMemoryDeviceAdapter<MockDevice> adapter(device);
    DynMemoryDevice& dyn = adapter;
    auto m = dyn.allocate_memory(info(KiB, 2));
    ASSERT_TRUE(m.has_value());
    ASSERT_TRUE(dyn.map_memory(*m, 0, KiB).has_value());
    const MappedMemoryRange<DynMemory> bad{&*m, 8, 64};
    EXPECT_TRUE(dyn.flush_memory_ranges({&bad, 1}).has_value());
    EXPECT_EQ(device.misuse_count(), 1u);
    dyn.unmap_memory(*m);
    dyn.deallocate_memory(*m);
    EXPECT_EQ(device.live_object_count(), 0u);
}

}  // namespace
}  // namespace gpu_alloc::mock
