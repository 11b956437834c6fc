// The catalogue of bad inputs (docs/errors.md), one test per row that
// gpu_allocator_test.cpp, device_profile_test.cpp, tests/replay/trace_test.cpp
// or a strategy's own tests do not already assert; docs/errors.md names the
// test of every row. Each checks the exact error value (or the report) and
// that nothing changed or leaked.
//
// Regression inputs found by fuzzing (tests/fuzz) are at the end, marked.
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <vector>

#include "support/requests.hpp"
#include "support/test_devices.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::KiB;
using gpu_alloc::test::MiB;
using gpu_alloc::test::buffer;

using MockDevice = gpu_alloc::mock::MockDevice;
using Memory = gpu_alloc::mock::MockMemory;
using Allocator = GpuAllocator<Memory>;
using Block = MemoryBlock<Memory>;

namespace {

struct BadInputs : ::testing::Test {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    MockDevice device{props};
    Allocator allocator{props, Config::low_memory()};

    void SetUp() override {
        device.set_misuse_handler([](const gpu_alloc::mock::MisuseReport& r) {
            ADD_FAILURE() << "mock device misuse: " << to_string(r.kind) << ": " << r.detail;
        });
    }
    void TearDown() override {
        allocator.cleanup(device);
        EXPECT_EQ(device.live_object_count(), 0u);
        EXPECT_EQ(allocator.misuse_count(), 0u);
    }
    void expect_untouched() {
        const TotalCounters t = allocator.totals();
        EXPECT_EQ(t.block_count, 0u);
        EXPECT_EQ(t.device_objects, 0u);
        EXPECT_EQ(device.live_object_count(), 0u);
    }
};

}  // namespace

// Row "alignment larger than a chunk": the request cannot be sub-allocated, so
// it gets a device memory object of its own, at offset 0 (aligned to anything).
TEST_F(BadInputs, AlignmentLargerThanAChunkGetsADedicatedObject) {
    const std::uint64_t alignment = 128 * MiB;  // chunks on this device are at most 32 MiB (heap / 8)
    auto b = allocator.allocate(device, buffer(4 * KiB, UsageFlags::fast_device_access, alignment));
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_TRUE(b->is_dedicated());
    EXPECT_EQ(b->offset() % alignment, 0u);
    EXPECT_EQ(device.live_object_count(), 1u);
    allocator.deallocate(device, std::move(*b));
}

// Row "alignment larger than any memory object": alignment_too_large, no device call.
TEST_F(BadInputs, AlignmentLargerThanTheLargestObjectIsInvalid) {
    for (std::uint64_t alignment : {props.max_memory_allocation_size * 2, std::uint64_t{1} << 63}) {
        auto b = allocator.allocate(device, buffer(4 * KiB, UsageFlags::fast_device_access, alignment));
        ASSERT_FALSE(b);
        EXPECT_EQ(b.error(), AllocationError::invalid_request(InvalidRequest::alignment_too_large)) << to_string(b.error());
    }
    EXPECT_EQ(device.calls().allocate, 0u);
    expect_untouched();
}

// Row "memory type mask matching nothing": an all-zero mask (gpu_allocator_test
// covers a mask naming only types the device does not have).
TEST_F(BadInputs, ZeroMemoryTypeMaskIsEmptyMemoryTypeMask) {
    Request r = buffer(4 * KiB);
    r.memory_types = 0;
    auto b = allocator.allocate(device, r);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask));
    expect_untouched();
}

// Row "usage no memory type supports": the device has no host-visible memory
// at all, and the request accepts every type.
TEST(BadInputsDevice, UploadOnADeviceWithoutHostVisibleMemoryIsNoCompatibleMemoryTypes) {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    props.memory_types = {{0, MemoryPropertyFlags::device_local}, {1, MemoryPropertyFlags::device_local}};
    MockDevice device(props);
    Allocator allocator(props, Config::low_memory());
    for (UsageFlags usage : {UsageFlags::upload, UsageFlags::download, UsageFlags::host_access}) {
        auto b = allocator.allocate(device, buffer(4 * KiB, usage));
        ASSERT_FALSE(b);
        EXPECT_EQ(b.error(), AllocationErrorKind::no_compatible_memory_types);
    }
    EXPECT_EQ(device.calls().allocate, 0u);
}

// Row "invalid device properties": an allocator built from them refuses every request.
TEST(BadInputsDevice, InvalidPropertiesGiveAnAllocatorThatRefusesEverything) {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    props.memory_types.push_back({7, MemoryPropertyFlags::device_local});  // heap 7 does not exist
    ASSERT_FALSE(is_valid(props));
    Allocator allocator(props, Config::low_memory());
    MockDevice device(gpu_alloc::test::constrained_device());
    auto b = allocator.allocate(device, buffer(4 * KiB));
    ASSERT_FALSE(b);
    // The mask is checked against no memory type at all.
    EXPECT_EQ(b.error(), AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask));
    EXPECT_EQ(device.calls().allocate, 0u);
}

// Row "a device that fails to allocate" (host side): out_of_host_memory, nothing kept.
TEST(BadInputsDevice, DeviceHostOutOfMemoryIsOutOfHostMemory) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    gpu_alloc::mock::MockDeviceOptions options;
    options.inject_host_oom = true;
    MockDevice device(props, options);
    Allocator allocator(props, Config::low_memory());
    device.set_failure_probability(1.0, 1);
    auto b = allocator.allocate(device, buffer(64 * KiB));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), AllocationErrorKind::out_of_host_memory);
    EXPECT_EQ(allocator.totals().device_objects, 0u);
    EXPECT_EQ(allocator.remaining_allocations(), props.max_memory_allocation_count);
}

// Row "every heap full": out_of_device_memory once no suitable type is left.
TEST_F(BadInputs, AllHeapsFullIsOutOfDeviceMemory) {
    for (std::uint32_t h = 0; h < props.memory_heaps.size(); ++h) device.set_heap_size_limit(h, 0);
    for (UsageFlags usage : {UsageFlags::fast_device_access, UsageFlags::upload, UsageFlags::download}) {
        auto b = allocator.allocate(device, buffer(64 * KiB, usage));
        ASSERT_FALSE(b);
        EXPECT_EQ(b.error(), AllocationErrorKind::out_of_device_memory);
    }
    expect_untouched();
    EXPECT_GT(device.calls().out_of_heap, 0u);
}

// Row "object count exhausted" for imported memory: too_many_objects, and the
// caller keeps (and frees) the object.
TEST(BadInputsDevice, ImportPastTheObjectCountIsTooManyObjects) {
    DeviceProperties props = gpu_alloc::test::constrained_device();
    MockDevice device(props);  // the device would make a third object; the allocator's limit is 2
    props.max_memory_allocation_count = 2;
    Allocator allocator(props, Config::low_memory());
    MemoryAllocateInfo info;
    info.size = 64 * KiB;
    info.memory_type = 0;
    auto first = device.allocate_memory(info);
    auto second = device.allocate_memory(info);
    auto third = device.allocate_memory(info);
    ASSERT_TRUE(first && second && third);
    auto a = allocator.import_memory(*first, 0, info.size);
    auto b = allocator.import_memory(*second, 0, info.size);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    // A third object would pass the limit: refused before anything is counted.
    auto c = allocator.import_memory(*third, 0, info.size);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), AllocationErrorKind::too_many_objects);
    EXPECT_EQ(allocator.totals().device_objects, 2u);
    // A handle the allocator owns already would be freed twice: refused.
    EXPECT_EQ(allocator.import_memory(*second, 0, info.size).error(),
              AllocationError::invalid_request(InvalidRequest::memory_already_owned));
    EXPECT_EQ(allocator.totals().device_objects, 2u);
    device.deallocate_memory(*third);
    // Bad arguments to import_memory are invalid requests.
    EXPECT_EQ(allocator.import_memory(*first, 0, 0).error(), AllocationError::invalid_request(InvalidRequest::zero_size));
    EXPECT_EQ(allocator.import_memory(*first, 9, 64).error(),
              AllocationError::invalid_request(InvalidRequest::empty_memory_type_mask));
    allocator.deallocate(device, std::move(*a));
    allocator.deallocate(device, std::move(*b));
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_EQ(device.misuse_count(), 0u);
}

// Row "a device that fails to map", through write_bytes: the error comes back
// and the block is not left mapped; the next write works.
TEST_F(BadInputs, WriteBytesWhenTheMapFailsLeavesTheBlockUnmapped) {
    auto b = allocator.allocate(device, buffer(4 * KiB, UsageFlags::upload));
    ASSERT_TRUE(b);
    const std::byte bytes[4] = {};
    device.fail_nth_map(1);
    EXPECT_EQ(b->write_bytes(device, 0, bytes).error(), MapError::map_failed);
    EXPECT_EQ(b->mapped_ptr(), nullptr);
    EXPECT_TRUE(b->write_bytes(device, 0, bytes));
    allocator.deallocate(device, std::move(*b));
}

// Row "a device that fails to flush": out_of_host_memory from flush, the
// mapping stays valid.
TEST_F(BadInputs, FlushFailureIsReportedAndTheMappingStays) {
    auto b = allocator.allocate(device, buffer(4 * KiB, UsageFlags::download));  // type 2: non-coherent
    ASSERT_TRUE(b);
    ASSERT_FALSE(contains(b->props(), MemoryPropertyFlags::host_coherent));
    auto p = b->map(device, 0, b->size());
    ASSERT_TRUE(p);
    device.fail_nth_call(1);
    EXPECT_EQ(b->flush(device, 0, 16).error(), MapError::out_of_host_memory);
    EXPECT_EQ(b->mapped_ptr(), *p);
    EXPECT_TRUE(b->flush(device, 0, 16));
    EXPECT_TRUE(b->unmap(device));
    allocator.deallocate(device, std::move(*b));
}

// Row "map, flush or unmap of a block that is not mapped / holds no memory".
TEST_F(BadInputs, MappingCallsOnUnmappedOrEmptyBlocksAreErrors) {
    auto b = allocator.allocate(device, buffer(4 * KiB, UsageFlags::download));
    ASSERT_TRUE(b);
    EXPECT_EQ(b->flush(device, 0, 16).error(), MapError::not_mapped);
    EXPECT_EQ(b->invalidate(device, 0, 16).error(), MapError::not_mapped);
    Block empty;
    allocator.deallocate(device, std::move(*b));
    EXPECT_EQ(b->map(device, 0, 1).error(), MapError::empty_block);
    EXPECT_EQ(b->unmap(device).error(), MapError::empty_block);
    EXPECT_EQ(b->flush(device, 0, 1).error(), MapError::empty_block);
    std::byte out[1];
    EXPECT_EQ(b->read_bytes(device, 0, out).error(), MapError::empty_block);
    EXPECT_EQ(empty.map(device, 0, 1).error(), MapError::empty_block);
    EXPECT_EQ(device.calls().map, 0u);
}

// Row "freeing a block twice": the second deallocate of the same variable is
// reported as empty_block and changes nothing.
TEST(BadInputsMisuse, DeallocatingTheSameBlockTwiceIsReportedOnceAndChangesNothing) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    MockDevice device(props);
    Allocator allocator(props, Config::low_memory());
    static std::vector<AllocatorMisuse> reports;
    reports.clear();
    auto previous = set_misuse_handler([](AllocatorMisuse kind, const char*) { reports.push_back(kind); });
    auto keep = allocator.allocate(device, buffer(4 * KiB));
    auto b = allocator.allocate(device, buffer(4 * KiB));
    ASSERT_TRUE(keep && b);
    allocator.deallocate(device, std::move(*b));
    const TotalCounters before = allocator.totals();
    allocator.deallocate(device, std::move(*b));
    set_misuse_handler(previous);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0], AllocatorMisuse::empty_block);
    EXPECT_EQ(allocator.misuse_count(), 1u);
    const TotalCounters after = allocator.totals();
    EXPECT_EQ(after.block_count, before.block_count);
    EXPECT_EQ(after.used_bytes, before.used_bytes);
    EXPECT_EQ(after.device_objects, before.device_objects);
    allocator.deallocate(device, std::move(*keep));
    allocator.cleanup(device);
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_EQ(device.misuse_count(), 0u);
}

// ---------------------------------------------------------------------------
// FUZZ REGRESSIONS (tests/fuzz/fuzz_gpu_allocator.cpp). Each reproduces, as a
// plain test, an input the fuzzer found; the raw input is kept in
// tests/fuzz/corpus/gpu_allocator/ under the name given.
// ---------------------------------------------------------------------------

// FUZZ REGRESSION regression-chunk-smaller-than-alignment.bin: a pool chunk is
// sized for the request's size only (Pool::next_chunk_size, and the halving
// retry of GpuAllocator::allocate_in_pool), not its alignment. When the
// alignment is larger than that chunk, the linear (and buddy) strategy refuses
// the request in the brand-new chunk; the chunk stayed in the pool as an empty
// spare (a device object created by a failed allocate) and the request failed
// with too_many_objects although no limit was near. A valid request that a
// chunk of max(size, alignment) bytes holds must succeed, and no request may
// leave a device object behind when it fails.
TEST(FuzzRegression, ChunkSmallerThanTheAlignmentIsNeverCreated) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    for (StrategyPolicy policy : {StrategyPolicy::automatic, StrategyPolicy::buddy}) {
        MockDevice device(props);
        Config config = Config::low_memory();
        config.min_chunk_size = 4 * KiB;  // first chunk of a pool: 4 KiB
        config.policy = policy;
        Allocator allocator(props, config);
        // 1000 bytes aligned to 64 KiB: a linear (transient) or buddy block in a chunk
        // of at least 64 KiB, well below max_chunk_size and the dedicated threshold.
        Request r = buffer(1000, UsageFlags::upload | UsageFlags::transient, 64 * KiB);
        const TotalCounters before = allocator.totals();
        auto b = allocator.allocate(device, r);
        if (!b) {
            ADD_FAILURE() << "policy " << static_cast<int>(policy) << ": " << to_string(b.error());
            EXPECT_EQ(allocator.totals().device_objects, before.device_objects) << "a failed allocate kept a device object";
        } else {
            EXPECT_EQ(b->offset() % r.alignment, 0u);
            allocator.deallocate(device, std::move(*b));
        }
        allocator.cleanup(device);
        EXPECT_EQ(device.live_object_count(), 0u);
    }
}
