// Findings of testing from outside, through the public headers only: each test
// reproduces one finding (a memory error, wrong arithmetic at the 64-bit
// limits, a device that lies, a wrong answer) and holds its fix. Run under
// AddressSanitizer and UndefinedBehaviorSanitizer by the test command, which
// is what catches the memory errors among them.
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <cmath>
#include <limits>
#include <locale>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/requests.hpp"
#include "support/test_devices.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::GiB;
using gpu_alloc::test::KiB;
using gpu_alloc::test::MiB;
using gpu_alloc::test::buffer;

using MockDevice = gpu_alloc::mock::MockDevice;
using Memory = gpu_alloc::mock::MockMemory;
using Allocator = GpuAllocator<Memory>;
using Block = MemoryBlock<Memory>;

namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

/// A device of plain counters (no checks), for properties the mock refuses.
struct CountingDevice {
    using Memory = std::uint64_t;
    std::uint64_t next = 1;
    std::uint64_t live = 0;
    bool null_map = false;  ///< map_memory "succeeds" with a null pointer

    Result<Memory, OutOfMemory> allocate_memory(const MemoryAllocateInfo&) {
        ++live;
        return next++;
    }
    void deallocate_memory(Memory) { --live; }
    Result<std::byte*, DeviceMapError> map_memory(const Memory&, std::uint64_t, std::uint64_t) {
        alignas(64) static std::byte page[1 << 16];
        if (null_map) return static_cast<std::byte*>(nullptr);
        return page;
    }
    void unmap_memory(const Memory&) {}
    Result<void, OutOfMemory> flush_memory_ranges(std::span<const MappedMemoryRange<Memory>>) { return {}; }
    Result<void, OutOfMemory> invalidate_memory_ranges(std::span<const MappedMemoryRange<Memory>>) { return {}; }
};

/// The same, reporting a 1 GiB budget per heap and recording how many heaps it was asked for.
struct BudgetDevice : CountingDevice {
    std::size_t largest_budget_span = 0;
    bool query_budget(std::span<HeapBudget> heaps) {
        largest_budget_span = std::max(largest_budget_span, heaps.size());
        for (HeapBudget& h : heaps) h = HeapBudget{1 * GiB, 0};
        return true;
    }
};

DeviceProperties one_heap(std::uint64_t heap_size, MemoryPropertyFlags flags = MemoryPropertyFlags::device_local) {
    DeviceProperties p;
    p.memory_heaps = {{heap_size, MemoryHeapFlags::device_local}};
    p.memory_types = {{0, flags}};
    p.max_memory_allocation_count = 4096;
    p.max_memory_allocation_size = heap_size;
    p.non_coherent_atom_size = 256;
    p.buffer_image_granularity = 1024;
    return p;
}

struct LeakCount {
    int count = 0;
    BlockLeak last{};
};

void count_leak(const BlockLeak& leak, void* user) {
    auto* c = static_cast<LeakCount*>(user);
    ++c->count;
    c->last = leak;
}

void ignore_misuse(AllocatorMisuse, const char*, void* user) { ++*static_cast<int*>(user); }

}  // namespace

// A block destroyed after its allocator: the leak report used to read the chunk
// the allocator had freed (heap-use-after-free under ASan). It reads only the block.
TEST(Hardening, ABlockLeakedAfterItsAllocatorIsReportedFromTheBlockAlone) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    CountingDevice device;
    LeakCount leaks;
    int misuse = 0;
    set_block_leak_callback(count_leak, &leaks);
    set_misuse_callback(ignore_misuse, &misuse);
    {
        GpuAllocator<std::uint64_t>::Block survivor;
        {
            GpuAllocator<std::uint64_t> allocator(props, Config::low_memory());
            auto b = allocator.allocate(device, buffer(100 * KiB));
            ASSERT_TRUE(b);
            survivor = std::move(*b);
        }  // the allocator goes first: misuse (live memory), its chunks are freed
        EXPECT_EQ(misuse, 1);
        EXPECT_EQ(leaks.count, 0);
    }
    set_block_leak_callback(nullptr, nullptr);
    set_misuse_callback(nullptr, nullptr);
    EXPECT_EQ(leaks.count, 1);
    EXPECT_EQ(leaks.last.size, 100 * KiB);
    EXPECT_EQ(leaks.last.memory_type, 0u);
    EXPECT_EQ(leaks.last.strategy, StrategyKind::free_list);
}

// 17 heaps (one past Vulkan's 16): an allocator that refuses everything. It used
// to hand the device a 17-entry span over a 16-entry array and read past its
// per-heap tables in statistics() and dump_json() (stack-buffer-overflow).
TEST(Hardening, SeventeenHeapsAreRefusedWithoutReadingPastTheHeapTables) {
    DeviceProperties props = one_heap(1 * GiB);
    for (int i = 0; i < 16; ++i) props.memory_heaps.push_back({1 * GiB, MemoryHeapFlags::none});
    ASSERT_EQ(props.memory_heaps.size(), 17u);
    ASSERT_FALSE(is_valid(props));
    BudgetDevice device;
    GpuAllocator<std::uint64_t> allocator(props, Config::low_memory());
    allocator.refresh_budget(device);
    EXPECT_LE(device.largest_budget_span, std::size_t{16});
    auto b = allocator.allocate(device, buffer(4 * KiB));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::invalid_request);
    const Statistics s = allocator.statistics();
    EXPECT_LE(s.heaps.size(), std::size_t{16});
    std::ostringstream json;
    allocator.dump_json(json);
    EXPECT_FALSE(json.str().empty());
    EXPECT_EQ(allocator.heap_budget(16).budget, 0u);
    EXPECT_EQ(device.live, 0u);
}

// A 2^60-byte heap with 2^50-byte chunks: the free-list pool's address space
// (chunk size x 2^20 slots) wrapped to 0, leaving a 1-byte free list, and two
// 1-byte blocks landed at offset 0 of one object. Now every block has its own
// bytes and larger requests succeed.
TEST(Hardening, HugeChunksNeverPlaceTwoBlocksOnTheSameBytes) {
    const DeviceProperties props = one_heap(std::uint64_t{1} << 60);
    CountingDevice device;
    Config config = Config::balanced();
    config.max_chunk_size = std::uint64_t{1} << 50;
    config.min_chunk_size = std::uint64_t{1} << 50;
    config.dedicated_threshold = std::uint64_t{1} << 49;
    config.slab_max_size = 0;
    GpuAllocator<std::uint64_t> allocator(props, config);
    std::vector<GpuAllocator<std::uint64_t>::Block> blocks;
    for (std::uint64_t size : {std::uint64_t{1}, std::uint64_t{1}, 1 * MiB, 1 * GiB, std::uint64_t{1} << 40}) {
        Request r = buffer(size);
        r.alignment = 1;
        auto b = allocator.allocate(device, r);
        ASSERT_TRUE(b) << size << ": " << to_string(b.error());
        blocks.push_back(std::move(*b));
    }
    for (std::size_t i = 0; i < blocks.size(); ++i)
        for (std::size_t j = i + 1; j < blocks.size(); ++j) {
            const auto& a = blocks[i];
            const auto& b = blocks[j];
            if (a.memory() != b.memory()) continue;
            const bool apart = a.offset() + a.size() <= b.offset() || b.offset() + b.size() <= a.offset();
            EXPECT_TRUE(apart) << "blocks " << i << " and " << j << " overlap";
        }
    EXPECT_EQ(allocator.totals().device_objects, 1u);
    for (auto& b : blocks) allocator.deallocate(device, std::move(b));
    allocator.cleanup(device);
    EXPECT_EQ(device.live, 0u);
}

// budget_fraction NaN was cast to an integer (UB); 1.0 of a 2^64-1 heap rounded
// to 2^64 (UB). Both are adjusted to a defined budget.
TEST(Hardening, BudgetFractionNaNAndTheFullRangeGiveDefinedBudgets) {
    CountingDevice device;
    {
        Config config = Config::low_memory();
        config.budget_fraction = std::numeric_limits<double>::quiet_NaN();
        GpuAllocator<std::uint64_t> allocator(one_heap(1 * GiB), config);
        EXPECT_FALSE(std::isnan(allocator.config().budget_fraction));
        EXPECT_GT(allocator.config().budget_fraction, 0.0);
        EXPECT_LE(allocator.config().budget_fraction, 1.0);
    }
    {
        Config config = Config::low_memory();
        config.budget_fraction = 1.0;
        DeviceProperties props = one_heap(max_u64);
        GpuAllocator<std::uint64_t> allocator(props, config);
        EXPECT_GE(allocator.heap_budget(0).budget, max_u64 / 2);
        auto b = allocator.allocate(device, buffer(1 * MiB));
        ASSERT_TRUE(b);
        allocator.deallocate(device, std::move(*b));
        allocator.cleanup(device);
    }
}

// A device reporting usage near 2^64: `others + ours + size` wrapped and a heap
// far over its budget accepted new objects.
TEST(Hardening, ADeviceReportingUsageNearTheTopIsOverBudget) {
    struct HugeUsage : CountingDevice {
        bool query_budget(std::span<HeapBudget> heaps) {
            for (HeapBudget& h : heaps) h = HeapBudget{1 * GiB, max_u64 - 4 * KiB};
            return true;
        }
    } device;
    Config config = Config::low_memory();
    config.over_budget = OverBudgetPolicy::fail;
    GpuAllocator<std::uint64_t> allocator(one_heap(2 * GiB), config);
    allocator.refresh_budget(device);
    auto b = allocator.allocate(device, buffer(64 * KiB));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, AllocationErrorKind::over_budget);
    EXPECT_EQ(device.live, 0u);
}

// A size within one atom (non-coherent memory) or one granularity page (images)
// of 2^64 rounded to 0: the answer was too_many_objects, and every attempt made
// and destroyed a device object. Now size_too_large, with no device call.
TEST(Hardening, SizesThatWouldWrapWhenRoundedAreTooLarge) {
    DeviceProperties props = one_heap(max_u64, MemoryPropertyFlags::host_visible);
    CountingDevice device;
    GpuAllocator<std::uint64_t> allocator(props, Config::low_memory());
    Request upload = buffer(max_u64 - 10);
    upload.usage = UsageFlags::upload;
    auto a = allocator.allocate(device, upload);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), AllocationError::invalid_request(InvalidRequest::size_too_large));
    Request image = buffer(max_u64 - 10);
    image.kind = ResourceKind::optimal;
    auto b = allocator.allocate(device, image);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), AllocationError::invalid_request(InvalidRequest::size_too_large));
    EXPECT_EQ(device.next, 1u) << "no device object may be made for these";
}

// Configurations that made every small request fail with out_of_host_memory on
// an empty heap: they are adjusted at construction, and small requests succeed.
TEST(Hardening, InconsistentConfigurationsAreAdjustedNotLeftToFailLater) {
    const DeviceProperties props = one_heap(1 * GiB);
    CountingDevice device;
    std::vector<Config> configs;
    {
        Config c = Config::low_memory();
        c.min_chunk_size = 4 * KiB;  // smaller than the slab page
        configs.push_back(c);
    }
    {
        Config c = Config::low_memory();
        c.slab_max_size = 3000;  // not a power of two
        configs.push_back(c);
    }
    {
        Config c = Config::low_memory();
        c.buddy_min_block = 1 * GiB;  // larger than a chunk
        c.policy = StrategyPolicy::buddy;
        configs.push_back(c);
    }
    {
        Config c = Config::low_memory();
        c.min_chunk_size = 3 * MiB;  // not a power of two
        c.max_chunk_size = 5 * MiB;
        c.pool_shards = 0;
        configs.push_back(c);
    }
    for (std::size_t i = 0; i < configs.size(); ++i) {
        SCOPED_TRACE(i);
        GpuAllocator<std::uint64_t> allocator(props, configs[i]);
        const Config& in_effect = allocator.config();
        EXPECT_EQ(in_effect.min_chunk_size & (in_effect.min_chunk_size - 1), 0u);
        EXPECT_EQ(in_effect.max_chunk_size & (in_effect.max_chunk_size - 1), 0u);
        EXPECT_GE(in_effect.pool_shards, 1u);
        EXPECT_LE(in_effect.pool_shards, max_pool_shards);
        std::vector<GpuAllocator<std::uint64_t>::Block> blocks;
        for (std::uint64_t size : {std::uint64_t{64}, std::uint64_t{2000}, 64 * KiB}) {
            auto b = allocator.allocate(device, buffer(size));
            ASSERT_TRUE(b) << size << ": " << to_string(b.error());
            blocks.push_back(std::move(*b));
        }
        for (auto& b : blocks) allocator.deallocate(device, std::move(b));
        allocator.cleanup(device);
    }
    EXPECT_EQ(device.live, 0u);
}

// map_memory "succeeding" with a null pointer gave blocks `nullptr + offset`.
TEST(Hardening, ADeviceThatMapsToNullIsAMapFailure) {
    DeviceProperties props = one_heap(1 * GiB, MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_coherent);
    CountingDevice device;
    device.null_map = true;
    GpuAllocator<std::uint64_t> allocator(props, Config::low_memory());
    Request r = buffer(4 * KiB);
    r.usage = UsageFlags::upload;
    auto b = allocator.allocate(device, r);
    ASSERT_TRUE(b);
    auto p = b->map(device, 0, 4 * KiB);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), MapError::map_failed);
    EXPECT_EQ(b->mapped_ptr(), nullptr);
    allocator.deallocate(device, std::move(*b));
    allocator.cleanup(device);
    EXPECT_EQ(device.live, 0u);
}

// Config::for_device ignored max_memory_allocation_count: on a 64-object device
// four threads ran out of objects at 185 MiB of 2 GiB.
TEST(Hardening, ForDeviceFitsTheHeapIntoFewObjects) {
    DeviceProperties props = one_heap(2 * GiB);
    props.max_memory_allocation_count = 64;
    const Config config = Config::for_device(props);
    EXPECT_EQ(config.pool_shards, 1u);
    MockDevice device(props);
    Allocator allocator(props, config);
    constexpr int threads = 4;
    constexpr std::uint64_t per_thread = 300 * MiB;  // 1.2 GiB in all, within the 80% budget
    std::vector<std::vector<Block>> blocks(threads);
    std::vector<int> failures(threads, 0);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (std::uint64_t done = 0; done < per_thread; done += 1 * MiB) {
                auto b = allocator.allocate(device, buffer(1 * MiB));
                if (!b) {
                    ++failures[t];
                    continue;
                }
                blocks[t].push_back(std::move(*b));
            }
        });
    for (auto& w : workers) w.join();
    for (int t = 0; t < threads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_LE(allocator.totals().device_objects, 64u);
    for (auto& list : blocks) {
        for (auto& b : list) allocator.deallocate(device, std::move(b));
    }
    allocator.cleanup(device);
    EXPECT_EQ(device.live_object_count(), 0u);
    EXPECT_EQ(device.misuse_count(), 0u);
}

namespace {
/// Groups digits in threes with a comma: a locale that would break JSON numbers.
struct Grouping : std::numpunct<char> {
    char do_thousands_sep() const override { return ','; }
    std::string do_grouping() const override { return "\3"; }
};
}  // namespace

// Block names that are not UTF-8 were copied into the dump as they were, and the
// caller's stream locale or std::hex changed the numbers.
TEST(Hardening, TheJsonDumpIsValidUtf8WithPlainNumbersWhateverTheStream) {
    Config config = Config::low_memory();
    config.track_blocks = true;
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    MockDevice device(props);
    Allocator allocator(props, config);
    Request r = buffer(123456);
    const std::string bad_name = std::string("mesh \xff\xfe\xc3 end\x01", 14);
    r.name = bad_name;
    auto b = allocator.allocate(device, r);
    ASSERT_TRUE(b);
    std::ostringstream plain;
    allocator.dump_json(plain);
    std::ostringstream odd;
    odd.imbue(std::locale(std::locale::classic(), new Grouping));
    odd << std::hex << std::showbase;
    allocator.dump_json(odd);
    EXPECT_EQ(plain.str(), odd.str());
    const std::string json = plain.str();
    EXPECT_NE(json.find("123456"), std::string::npos);
    // Valid UTF-8 throughout, and no raw control characters.
    for (std::size_t i = 0; i < json.size();) {
        const auto c = static_cast<unsigned char>(json[i]);
        std::size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        ASSERT_NE(length, 0u) << "byte " << i << " starts no UTF-8 sequence";
        ASSERT_LE(i + length, json.size());
        for (std::size_t k = 1; k < length; ++k) {
            ASSERT_EQ(static_cast<unsigned char>(json[i + k]) >> 6, 2u) << "byte " << i + k;
        }
        if (length == 1 && c != '\n' && c != '\r' && c != '\t') {
            ASSERT_GE(c, 0x20u) << "raw control character at " << i;
        }
        i += length;
    }
    allocator.deallocate(device, std::move(*b));
    allocator.cleanup(device);
}
