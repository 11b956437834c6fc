// FakeMetal: a MetalFunctions table over host memory, for testing the Metal
// adapter where no Metal exists.
//
// It behaves like the Metal calls the table names, as far as a test can see:
// shared objects are one host buffer seen by "CPU" and "GPU" alike; managed
// objects have a CPU copy and a separate GPU copy, moved only by
// did_modify_range (CPU -> GPU) and synchronize_ranges (GPU -> CPU), so a
// missing flush or invalidate shows up as stale bytes; private objects hold no
// host memory. It counts every call, fails on request, rejects what Metal
// would reject (shared heaps on a Mac without Apple silicon, a covering buffer
// larger than its heap, unaligned blit ranges) with a gtest failure, and
// reports every memory object still alive when it is destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include <gpu_alloc/metal/metal_functions.hpp>

namespace gpu_alloc::mock {

/// The device a FakeMetal pretends to be: what it reports, and the sizes and
/// alignments its heap queries answer.
struct FakeMetalProfile {
    const char* name = "";
    MetalDeviceInfo info{};
    /// heapBufferSizeAndAlign: size rounded up to this, align this; per MetalStorageMode value.
    std::uint64_t buffer_alignment[4] = {16384, 16384, 16384, 16384};
    /// heapTextureSizeAndAlign: likewise, per MetalStorageMode value.
    std::uint64_t texture_alignment[4] = {16384, 16384, 16384, 16384};
};

/// Apple-silicon-like: unified memory (1 GiB working set), shared heaps,
/// memoryless, managed storage (macOS), 16 KiB pages (64 KiB for private textures).
FakeMetalProfile apple_silicon_profile();
/// Discrete-Mac-like (AMD): 2 GiB VRAM working set, 4 GiB system memory,
/// private heaps only, managed storage, 64 KiB heap alignment.
FakeMetalProfile discrete_mac_profile();
/// Intel-Mac-with-integrated-graphics-like: unified memory but no shared heaps,
/// no memoryless, 4 KiB alignment.
FakeMetalProfile intel_integrated_profile();

/// A MetalFunctions table over host memory. Thread-safe. See the file comment.
class FakeMetal {
public:
    explicit FakeMetal(const FakeMetalProfile& profile);
    FakeMetal(const FakeMetal&) = delete;
    FakeMetal& operator=(const FakeMetal&) = delete;
    /// Adds a gtest failure for every memory object still alive.
    ~FakeMetal();

    /// The table; its context is this object.
    const MetalFunctions& functions() const noexcept { return functions_; }
    MetalFunctions& functions() noexcept { return functions_; }

    /// How often each table function was called.
    struct Calls {
        std::uint32_t create_heap = 0;
        std::uint32_t destroy_heap = 0;
        std::uint32_t contents = 0;
        std::uint32_t did_modify_range = 0;
        std::uint32_t synchronize_ranges = 0;
        std::uint32_t synchronized_ranges = 0;  ///< ranges over all synchronize_ranges calls
        std::uint32_t heap_buffer_size_and_align = 0;
        std::uint32_t heap_texture_size_and_align = 0;
        std::uint32_t current_allocated_size = 0;
        std::uint32_t recommended_max_working_set_size = 0;
    };
    Calls calls() const;

    // --- Failure injection (each consumed by the next matching call) ---

    /// The next `count` create_heap calls fail with `status`.
    void fail_next_creates(MetalStatus status, std::uint32_t count = 1);
    /// The next contents call returns null.
    void fail_next_contents();
    /// The next synchronize_ranges call fails with `status`.
    void fail_next_synchronize(MetalStatus status);
    /// heapBufferSizeAndAlign answers {0, 0} (Metal's "cannot") for lengths above this.
    void reject_buffer_lengths_above(std::uint64_t length);
    /// What recommended_max_working_set_size reports from now on (0: unknown).
    void set_working_set(std::uint64_t bytes);
    /// Bytes of resources made outside the allocator, added to currentAllocatedSize.
    void set_external_allocated(std::uint64_t bytes);

    // --- What the fake GPU sees ---

    /// Writes bytes as the GPU would: into the GPU copy of managed memory, the
    /// single copy of shared memory.
    void gpu_write(MetalHeap heap, std::uint64_t offset, std::span<const std::byte> bytes);
    /// Reads what the GPU sees.
    std::vector<std::byte> gpu_read(MetalHeap heap, std::uint64_t offset, std::uint64_t size) const;

    // --- Inspection ---

    /// A memory object as the fake keeps it.
    struct Object {
        MetalHeapDescription description;
        std::vector<std::byte> cpu;  ///< host-visible objects: the CPU's bytes (shared: the only copy)
        std::vector<std::byte> gpu;  ///< managed objects: the GPU's copy
    };
    std::size_t live_objects() const;
    /// The description a live object was created with (asserts it is live).
    MetalHeapDescription description(MetalHeap heap) const;
    /// Every did_modify_range call, in order.
    std::vector<MetalRange> modified_ranges() const;
    /// Every range passed to synchronize_ranges, in order.
    std::vector<MetalRange> synchronized_ranges() const;
    /// Every texture description heapTextureSizeAndAlign was asked about.
    std::vector<MetalTextureDescription> texture_queries() const;
    /// Sum of live object sizes (memoryless excluded): the fake's currentAllocatedSize before external bytes.
    std::uint64_t live_bytes() const;

private:
    static FakeMetal& self(void* context) { return *static_cast<FakeMetal*>(context); }
    static MetalStatus create_heap(void* context, const MetalHeapDescription& description, MetalHeap* out);
    static void destroy_heap(void* context, MetalHeap heap);
    static std::byte* contents(void* context, MetalHeap heap);
    static void did_modify_range(void* context, MetalHeap heap, std::uint64_t offset, std::uint64_t size);
    static MetalStatus synchronize_ranges(void* context, const MetalRange* ranges, std::size_t count);
    static MetalSizeAndAlign heap_buffer_size_and_align(void* context, std::uint64_t length,
                                                        MetalResourceOptions options);
    static MetalSizeAndAlign heap_texture_size_and_align(void* context, const MetalTextureDescription& description);
    static std::uint64_t current_allocated_size(void* context);
    static std::uint64_t recommended_max_working_set_size(void* context);

    MetalSizeAndAlign buffer_size_and_align_locked(std::uint64_t length, MetalResourceOptions options) const;
    Object* find_locked(MetalHeap heap);
    const Object* find_locked(MetalHeap heap) const;

    FakeMetalProfile profile_;
    MetalFunctions functions_{};

    mutable std::mutex mutex_;
    std::map<std::uint64_t, Object> objects_;
    std::uint64_t next_handle_ = 0x1000;
    mutable Calls calls_{};
    std::uint32_t failing_creates_ = 0;
    MetalStatus create_failure_ = MetalStatus::ok;
    bool fail_contents_ = false;
    std::optional<MetalStatus> synchronize_failure_;
    std::uint64_t max_buffer_query_length_ = UINT64_MAX;
    std::uint64_t working_set_ = 0;
    std::uint64_t external_allocated_ = 0;
    std::vector<MetalRange> modified_;
    std::vector<MetalRange> synchronized_;
    std::vector<MetalTextureDescription> texture_queries_;
};

}  // namespace gpu_alloc::mock
