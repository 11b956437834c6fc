// How a user tests their own code with gpu_alloc's strict mock device.
//
// The code under test is a small user-side TextureCache that creates device
// memory through any MemoryDevice: one dedicated object per texture, least
// recently used textures evicted when over capacity or when the device runs
// out of memory, pixels uploaded through a mapped host-visible staging object.
// The tests run it on a MockDevice and show the three habits worth copying:
//   1. a misuse handler that fails the test at the offending call
//      (ADD_FAILURE), so contract violations never pass silently;
//   2. a leak check after the code under test is destroyed
//      (live_object_count() == 0);
//   3. fault injection to drive the error paths, including "fail each call
//      in turn" to prove no failure leaks or corrupts anything.
// A gmock mock of the cache's observer checks what the cache tells its users.
#include <gpu_alloc/mock/mock_device.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <vector>

// ---- The user's code (normally in their own library) ---------------------------

/// What the cache tells the rest of the application.
class TextureCacheObserver {
public:
    virtual ~TextureCacheObserver() = default;
    virtual void on_loaded(const std::string& name, std::uint64_t bytes) = 0;
    virtual void on_evicted(const std::string& name) = 0;
    virtual void on_out_of_memory(const std::string& name) = 0;
};

/// Keeps textures in device-local memory, at most `capacity` bytes, evicting
/// the least recently used.
template <gpu_alloc::MemoryDevice Device>
class TextureCache {
public:
    TextureCache(Device& device, std::uint32_t texture_type, std::uint32_t staging_type, std::uint64_t capacity,
                 TextureCacheObserver& observer)
        : device_(device), texture_type_(texture_type), staging_type_(staging_type), capacity_(capacity),
          observer_(observer) {}
    ~TextureCache() {
        for (const Entry& e : entries_) device_.deallocate_memory(e.memory);
    }

    /// Makes `name` resident (most recently used). False when the device has no memory for it.
    bool load(const std::string& name, std::uint64_t bytes) {
        if (find(name) != nullptr) {
            touch(name);
            return true;
        }
        while (resident_ + bytes > capacity_ && !entries_.empty()) evict_oldest();
        gpu_alloc::MemoryAllocateInfo info;
        info.size = bytes;
        info.memory_type = texture_type_;
        info.dedicated = {gpu_alloc::DedicatedResourceKind::image, entries_.size() + 1};
        auto memory = device_.allocate_memory(info);
        while (!memory && !entries_.empty()) {  // out of memory: make room and retry
            evict_oldest();
            memory = device_.allocate_memory(info);
        }
        if (!memory) {
            observer_.on_out_of_memory(name);
            return false;
        }
        entries_.push_back({name, bytes, *memory});
        resident_ += bytes;
        observer_.on_loaded(name, bytes);
        return true;
    }

    /// Copies `pixels` into a mapped staging object (where a real engine would then
    /// record a copy into the texture). False on any device error.
    bool upload(const std::string& name, std::span<const std::byte> pixels) {
        if (find(name) == nullptr || pixels.empty()) return false;
        gpu_alloc::MemoryAllocateInfo info;
        info.size = pixels.size();
        info.memory_type = staging_type_;
        auto staging = device_.allocate_memory(info);
        if (!staging) return false;
        auto mapped = device_.map_memory(*staging, 0, pixels.size());
        bool ok = mapped.has_value();
        if (ok) {
            std::memcpy(*mapped, pixels.data(), pixels.size());
            const gpu_alloc::MappedMemoryRange<typename Device::Memory> range{&*staging, 0, pixels.size()};
            ok = device_.flush_memory_ranges({&range, 1}).has_value();
            device_.unmap_memory(*staging);
        }
        device_.deallocate_memory(*staging);
        return ok;
    }

    bool contains(const std::string& name) const {
        for (const Entry& e : entries_)
            if (e.name == name) return true;
        return false;
    }
    std::uint64_t resident_bytes() const { return resident_; }

private:
    struct Entry {
        std::string name;
        std::uint64_t bytes;
        typename Device::Memory memory;
    };

    Entry* find(const std::string& name) {
        for (Entry& e : entries_)
            if (e.name == name) return &e;
        return nullptr;
    }
    void touch(const std::string& name) {
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->name == name) {
                entries_.splice(entries_.end(), entries_, it);
                return;
            }
    }
    void evict_oldest() {
        Entry oldest = entries_.front();
        entries_.pop_front();
        device_.deallocate_memory(oldest.memory);
        resident_ -= oldest.bytes;
        observer_.on_evicted(oldest.name);
    }

    Device& device_;
    std::uint32_t texture_type_;
    std::uint32_t staging_type_;
    std::uint64_t capacity_;
    TextureCacheObserver& observer_;
    std::list<Entry> entries_;  // least recently used first
    std::uint64_t resident_ = 0;
};

// ---- The user's tests ---------------------------------------------------------------

namespace {

using gpu_alloc::mock::MisuseKind;
using gpu_alloc::mock::MisuseReport;
using gpu_alloc::mock::MockDevice;
using ::testing::_;
using ::testing::InSequence;
using ::testing::NiceMock;
using ::testing::StrictMock;

constexpr std::uint64_t MiB = 1 << 20;

class MockObserver : public TextureCacheObserver {
public:
    MOCK_METHOD(void, on_loaded, (const std::string& name, std::uint64_t bytes), (override));
    MOCK_METHOD(void, on_evicted, (const std::string& name), (override));
    MOCK_METHOD(void, on_out_of_memory, (const std::string& name), (override));
};

// A small device: 64 MiB of VRAM (type 0) and 64 MiB of host memory the GPU can
// read (type 1: host-visible, not coherent, so uploads must flush).
gpu_alloc::DeviceProperties small_gpu() {
    using gpu_alloc::MemoryPropertyFlags;
    gpu_alloc::DeviceProperties props;
    props.memory_heaps = {{64 * MiB, gpu_alloc::MemoryHeapFlags::device_local},
                          {64 * MiB, gpu_alloc::MemoryHeapFlags::none}};
    props.memory_types = {{0, MemoryPropertyFlags::device_local}, {1, MemoryPropertyFlags::host_visible}};
    props.non_coherent_atom_size = 256;
    return props;
}

class TextureCacheTest : public ::testing::Test {
protected:
    TextureCacheTest() : device_(small_gpu()) {
        // Habit 1: any contract violation fails the test, at the call that made it.
        device_.set_misuse_handler([](const MisuseReport& r) {
            ADD_FAILURE() << "device misuse: " << to_string(r.kind) << ": " << r.detail;
        });
    }
    void TearDown() override {
        // Habit 2: once the cache is gone, so is all of its device memory.
        cache_.reset();
        EXPECT_EQ(device_.live_object_count(), 0u) << "the cache leaked device memory";
        EXPECT_EQ(device_.misuse_count(), 0u);
    }
    TextureCache<MockDevice>& make_cache(std::uint64_t capacity, TextureCacheObserver& observer) {
        return cache_.emplace(device_, 0, 1, capacity, observer);
    }

    MockDevice device_;
    std::optional<TextureCache<MockDevice>> cache_;
};

TEST_F(TextureCacheTest, LoadsEachTextureIntoItsOwnDeviceLocalObject) {
    StrictMock<MockObserver> observer;
    EXPECT_CALL(observer, on_loaded("albedo", 4 * MiB));
    EXPECT_CALL(observer, on_loaded("normal", 2 * MiB));
    auto& cache = make_cache(32 * MiB, observer);

    ASSERT_TRUE(cache.load("albedo", 4 * MiB));
    ASSERT_TRUE(cache.load("normal", 2 * MiB));
    ASSERT_TRUE(cache.load("albedo", 4 * MiB));  // already resident: no new object

    EXPECT_EQ(device_.live_object_count(), 2u);
    EXPECT_EQ(device_.live_bytes(0), 6 * MiB);  // all in the VRAM heap
    EXPECT_EQ(device_.calls().allocate, 2u);
}

TEST_F(TextureCacheTest, EvictsTheLeastRecentlyUsedWhenOverCapacity) {
    StrictMock<MockObserver> observer;
    EXPECT_CALL(observer, on_loaded(_, _)).Times(3);
    EXPECT_CALL(observer, on_evicted("b"));
    auto& cache = make_cache(10 * MiB, observer);

    ASSERT_TRUE(cache.load("a", 4 * MiB));
    ASSERT_TRUE(cache.load("b", 4 * MiB));
    ASSERT_TRUE(cache.load("a", 4 * MiB));  // a is now the most recently used
    ASSERT_TRUE(cache.load("c", 4 * MiB));
    EXPECT_TRUE(cache.contains("a"));
    EXPECT_FALSE(cache.contains("b"));
    EXPECT_EQ(device_.live_bytes(0), 8 * MiB);
}

TEST_F(TextureCacheTest, EvictsAndRetriesWhenTheDeviceIsOutOfMemory) {
    StrictMock<MockObserver> observer;
    {
        InSequence order;
        EXPECT_CALL(observer, on_loaded("a", 8 * MiB));
        EXPECT_CALL(observer, on_evicted("a"));
        EXPECT_CALL(observer, on_loaded("b", 8 * MiB));
    }
    auto& cache = make_cache(64 * MiB, observer);
    ASSERT_TRUE(cache.load("a", 8 * MiB));

    device_.fail_nth_allocation(1);  // the device refuses the next allocation once
    ASSERT_TRUE(cache.load("b", 8 * MiB));
    EXPECT_EQ(device_.calls().allocate_failed, 1u);
}

TEST_F(TextureCacheTest, ReportsOutOfMemoryWhenNothingCanBeEvicted) {
    StrictMock<MockObserver> observer;
    EXPECT_CALL(observer, on_out_of_memory("huge"));
    auto& cache = make_cache(1024 * MiB, observer);
    // Bigger than the whole VRAM heap: the mock fails it like a real device would.
    EXPECT_FALSE(cache.load("huge", 65 * MiB));
    EXPECT_EQ(cache.resident_bytes(), 0u);
}

TEST_F(TextureCacheTest, UploadMapsFlushesAndReleasesTheStagingMemory) {
    NiceMock<MockObserver> observer;
    auto& cache = make_cache(32 * MiB, observer);
    ASSERT_TRUE(cache.load("albedo", 1 * MiB));
    const std::vector<std::byte> pixels(1000, std::byte{0x7f});  // not a multiple of the atom: reaches the end

    ASSERT_TRUE(cache.upload("albedo", pixels));

    const auto calls = device_.calls();
    EXPECT_EQ(calls.map, 1u);
    EXPECT_EQ(calls.unmap, 1u);
    EXPECT_EQ(calls.flush, 1u);
    EXPECT_EQ(device_.live_bytes(1), 0u) << "staging memory must be released after the upload";
    EXPECT_EQ(device_.peak_live_bytes(1), 1000u);
}

// Habit 3: fail each fallible device call of a scenario in turn. Whatever fails,
// the cache must stay consistent: no misuse, no leak (checked in TearDown).
TEST_F(TextureCacheTest, SurvivesAFailureAtEveryStep) {
    const std::vector<std::byte> pixels(4096, std::byte{1});
    // The fallible calls of the scenario: 1 allocate "a", 2 allocate staging,
    // 3 map, 4 flush, 5 allocate "b" (the cache then evicts "a" and retries),
    // 6: nothing fails.
    const bool expect_a_uploaded[] = {false, false, false, false, true, true};
    for (std::uint64_t step = 1; step <= 6; ++step) {
        SCOPED_TRACE("failing fallible call " + std::to_string(step));
        NiceMock<MockObserver> observer;
        auto& cache = make_cache(32 * MiB, observer);
        device_.fail_nth_call(step);
        const bool loaded_a = cache.load("a", 2 * MiB);
        const bool uploaded = loaded_a && cache.upload("a", pixels);
        EXPECT_EQ(uploaded, expect_a_uploaded[step - 1]);
        EXPECT_TRUE(cache.load("b", 2 * MiB));
        EXPECT_EQ(cache.contains("a"), step >= 2 && step != 5);
        cache_.reset();
        EXPECT_EQ(device_.live_object_count(), 0u);
        EXPECT_EQ(device_.calls().injected_failures, std::min<std::uint64_t>(step, 5));
        device_.clear_faults();
    }
}

// What the mock reports when the code under test gets the contract wrong. Here
// the handler only records, and the test inspects the reports.
TEST(MockDeviceCatchesBugs, DeallocatingMappedMemoryIsReported) {
    MockDevice device(small_gpu());
    device.set_misuse_handler({});  // record only
    auto staging = device.allocate_memory({.size = 4096, .memory_type = 1});
    ASSERT_TRUE(staging.has_value());
    ASSERT_TRUE(device.map_memory(*staging, 0, 4096).has_value());
    device.deallocate_memory(*staging);  // bug: forgot unmap_memory

    const auto reports = device.misuse_reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].kind, MisuseKind::deallocate_while_mapped);
}

TEST(MockDeviceCatchesBugs, UnalignedFlushOfNonCoherentMemoryIsReported) {
    MockDevice device(small_gpu());
    device.set_misuse_handler({});
    auto staging = device.allocate_memory({.size = 4096, .memory_type = 1});
    ASSERT_TRUE(staging.has_value());
    ASSERT_TRUE(device.map_memory(*staging, 0, 4096).has_value());
    // bug: a 100-byte flush in the middle of non-coherent memory (atom is 256 bytes)
    const gpu_alloc::MappedMemoryRange<gpu_alloc::mock::MockMemory> range{&*staging, 256, 100};
    ASSERT_TRUE(device.flush_memory_ranges({&range, 1}).has_value());
    device.unmap_memory(*staging);
    device.deallocate_memory(*staging);

    ASSERT_EQ(device.misuse_count(), 1u);
    EXPECT_EQ(device.misuse_reports()[0].kind, MisuseKind::range_misaligned);
}

}  // namespace
