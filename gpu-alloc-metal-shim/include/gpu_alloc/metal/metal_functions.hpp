// MetalFunctions: the narrow seam between the portable Metal adapter and Metal.
//
// The adapter's thinking (which storage modes become which memory types, how
// big a heap must be, what the budget is, what flush and invalidate mean) is
// portable C++ and is unit-tested on every platform. Everything that calls
// Metal is behind this table of plain function pointers, filled on Apple
// platforms by metal_apple.hpp's create_metal_functions (an Objective-C++ file)
// and in tests by a fake backed by host memory. The split is mimalloc's "prim"
// layer: a few primitive operations, no policy.
//
// The table speaks Metal's own vocabulary and numbers (MTLStorageMode,
// MTLCPUCacheMode, MTLHazardTrackingMode keep their raw values), so the
// Objective-C++ side only casts. A "heap" here is the memory object the
// allocator sub-allocates: an MTLHeap where Metal allows one for the storage
// mode, otherwise one MTLBuffer (see MetalBacking), or a token holding no
// memory for memoryless storage.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gpu_alloc {

/// MTLStorageMode, with Metal's raw values.
enum class MetalStorageMode : std::uint8_t {
    shared = 0,      ///< one copy, visible to CPU and GPU (system memory, or unified memory)
    managed = 1,     ///< macOS only: a CPU copy and a GPU copy, synchronized explicitly
    private_ = 2,    ///< GPU only (`private` is a keyword)
    memoryless = 3,  ///< tile memory of Apple GPUs: transient render targets, no backing memory
};

/// MTLCPUCacheMode, with Metal's raw values.
enum class MetalCpuCacheMode : std::uint8_t {
    default_cache = 0,   ///< CPU reads are cached
    write_combined = 1,  ///< CPU writes are combined, CPU reads are slow (upload only)
};

/// MTLHazardTrackingMode, with Metal's raw values.
enum class MetalHazardTracking : std::uint8_t {
    default_ = 0,   ///< Metal's default: untracked for heaps (`default` is a keyword)
    untracked = 1,  ///< the application orders accesses with fences and events
    tracked = 2,    ///< Metal tracks hazards between resources of the heap
};

/// How a memory object of a storage mode is made (decided by the portable core).
enum class MetalBacking : std::uint8_t {
    /// An MTLHeap of type placement; host-visible ones also get an MTLBuffer
    /// placed at offset 0 covering the whole heap, whose contents pointer is the
    /// mapping. Resources are placed at the allocator's offsets.
    heap = 0,
    /// One MTLBuffer (newBufferWithLength:options:), for storage modes Metal
    /// cannot put in a heap on this device (managed; shared on Macs without
    /// Apple silicon). Resources are (buffer, offset) ranges or linear textures
    /// made from the buffer.
    buffer = 1,
    /// No memory at all: memoryless textures are made by the device directly;
    /// the memory object only carries the allocator's bookkeeping.
    none = 2,
};

/// The options of a heap or resource: MTLResourceOptions as three fields.
struct MetalResourceOptions {
    MetalStorageMode storage_mode = MetalStorageMode::private_;            ///< MTLResourceStorageMode*
    MetalCpuCacheMode cpu_cache_mode = MetalCpuCacheMode::default_cache;    ///< MTLResourceCPUCacheMode*
    MetalHazardTracking hazard_tracking = MetalHazardTracking::untracked;  ///< MTLResourceHazardTrackingMode*

    friend bool operator==(const MetalResourceOptions&, const MetalResourceOptions&) = default;
};

/// The MTLResourceOptions bits of `options` (cache mode << 0, storage mode << 4,
/// hazard tracking << 8, as Metal packs them), for newBufferWithLength:options:offset:
/// and friends: `static_cast<MTLResourceOptions>(to_mtl_resource_options(o))`.
constexpr std::uint64_t to_mtl_resource_options(MetalResourceOptions options) noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(options.cpu_cache_mode)} << 0) |
           (std::uint64_t{static_cast<std::uint8_t>(options.storage_mode)} << 4) |
           (std::uint64_t{static_cast<std::uint8_t>(options.hazard_tracking)} << 8);
}

/// MTLSizeAndAlign: bytes a resource takes in a heap and its required offset alignment.
struct MetalSizeAndAlign {
    std::uint64_t size = 0;   ///< bytes; 0 means Metal rejected the description
    std::uint64_t align = 0;  ///< bytes, a power of two
};

/// The fields of an MTLTextureDescriptor that decide its size in a heap; the
/// enums are Metal's raw values (MTLTextureType, MTLPixelFormat, MTLTextureUsage).
struct MetalTextureDescription {
    std::uint32_t texture_type = 2;    ///< MTLTextureType; 2 = MTLTextureType2D
    std::uint32_t pixel_format = 70;   ///< MTLPixelFormat; 70 = MTLPixelFormatRGBA8Unorm
    std::uint32_t width = 1;           ///< texels
    std::uint32_t height = 1;          ///< texels
    std::uint32_t depth = 1;           ///< texels
    std::uint32_t mipmap_level_count = 1;
    std::uint32_t array_length = 1;
    std::uint32_t sample_count = 1;
    std::uint32_t usage = 1;           ///< MTLTextureUsage bits; 1 = MTLTextureUsageShaderRead
    MetalResourceOptions options{};    ///< filled by the adapter for each memory type asked about
    /// Whether a memoryless texture would do (a render target whose contents
    /// never leave tile memory); read only by MetalMemoryDevice::texture_requirements.
    bool transient_render_target = false;
};

/// A memory object made by MetalFunctions::create_heap. Opaque bits: the
/// Apple side stores a pointer to its own record; the fake an index. 0 is never
/// a valid handle. A trivial type (no member initializer; write `MetalHeap{}`
/// for the null handle), so that DynMemoryDeviceAdapter may memcpy it.
struct MetalHeap {
    std::uint64_t bits;
    friend bool operator==(const MetalHeap&, const MetalHeap&) = default;
};

/// Everything create_heap needs.
struct MetalHeapDescription {
    /// Bytes of the heap or buffer, > 0; already rounded by the adapter (see
    /// MetalMemoryDevice::memory_object_size).
    std::uint64_t size = 0;
    /// Host-visible heaps only: bytes of the MTLBuffer placed at offset 0 whose
    /// contents pointer is the mapping (the size the allocator asked for; the
    /// adapter made `size` at least heapBufferSizeAndAlign(covering_length).size).
    /// 0 otherwise.
    std::uint64_t covering_length = 0;
    /// Storage mode, CPU cache mode and hazard tracking of the heap or buffer (and covering buffer).
    MetalResourceOptions options{};
    /// What to make: a placement heap, a buffer, or nothing (memoryless).
    MetalBacking backing = MetalBacking::heap;
};

/// A range of a memory object, for synchronize_ranges.
struct MetalRange {
    MetalHeap heap{};
    std::uint64_t offset = 0;  ///< bytes from the start of the memory object
    std::uint64_t size = 0;    ///< bytes
};

/// How a table operation ended.
enum class MetalStatus : std::uint8_t {
    ok,
    out_of_device_memory,  ///< Metal returned nil for a new object
    out_of_host_memory,    ///< the table's own bookkeeping could not allocate
};

/// What the device reports about itself, read once when the table is made.
struct MetalDeviceInfo {
    /// MTLDevice.hasUnifiedMemory: CPU and GPU share one memory (Apple silicon, Intel iGPUs).
    bool unified_memory = false;
    /// Heaps may have shared storage (Apple GPU family, i.e. Apple silicon and iOS);
    /// on other Macs heaps must be private.
    bool shared_heaps = false;
    /// Managed storage exists (macOS).
    bool managed_storage = false;
    /// Memoryless storage exists (Apple GPU family).
    bool memoryless_storage = false;
    /// Buffers have a GPU address (MTLBuffer.gpuAddress, Metal 3).
    bool gpu_address = false;
    /// MTLDevice.recommendedMaxWorkingSetSize at creation, bytes; 0 when unknown (iOS < 16).
    std::uint64_t recommended_max_working_set_size = 0;
    /// NSProcessInfo.physicalMemory, bytes.
    std::uint64_t system_memory_size = 0;
    /// MTLDevice.maxBufferLength, bytes: the largest MTLBuffer, hence the largest
    /// host-visible memory object (its mapping is one buffer).
    std::uint64_t max_buffer_length = 0;
    /// Alignment of a (buffer, offset) binding, bytes, a power of two: 256 for
    /// constant buffers on Macs without Apple silicon, the strictest case.
    std::uint64_t buffer_offset_alignment = 256;
};

/// The table. Every function pointer must be set; `context` is passed back
/// unchanged. Functions on different memory objects may be called from
/// different threads at once; never two on the same object.
struct MetalFunctions {
    void* context = nullptr;
    MetalDeviceInfo device{};

    /// Creates a memory object as `description` says. On ok, *out is a new non-zero handle.
    MetalStatus (*create_heap)(void* context, const MetalHeapDescription& description, MetalHeap* out) = nullptr;
    /// Destroys a memory object made by create_heap (and its covering buffer).
    void (*destroy_heap)(void* context, MetalHeap heap) = nullptr;
    /// Host address of byte 0 of a host-visible memory object, or null when it cannot be had.
    std::byte* (*contents)(void* context, MetalHeap heap) = nullptr;
    /// Managed storage: tells Metal the CPU wrote [offset, offset + size) (MTLBuffer didModifyRange:).
    void (*did_modify_range)(void* context, MetalHeap heap, std::uint64_t offset, std::uint64_t size) = nullptr;
    /// Managed storage: copies the GPU's bytes of each range into the CPU copy
    /// and waits for it. Offsets and sizes are multiples of 4 (a blit rule on macOS).
    MetalStatus (*synchronize_ranges)(void* context, const MetalRange* ranges, std::size_t count) = nullptr;
    /// MTLDevice heapBufferSizeAndAlignWithLength:options:.
    MetalSizeAndAlign (*heap_buffer_size_and_align)(void* context, std::uint64_t length,
                                                    MetalResourceOptions options) = nullptr;
    /// MTLDevice heapTextureSizeAndAlignWithDescriptor:.
    MetalSizeAndAlign (*heap_texture_size_and_align)(void* context, const MetalTextureDescription& description) = nullptr;
    /// MTLDevice.currentAllocatedSize, bytes (every resource of the device, not only ours).
    std::uint64_t (*current_allocated_size)(void* context) = nullptr;
    /// MTLDevice.recommendedMaxWorkingSetSize now, bytes; 0 when unknown.
    std::uint64_t (*recommended_max_working_set_size)(void* context) = nullptr;
};

/// Whether every function pointer of `functions` is set.
constexpr bool is_complete(const MetalFunctions& functions) noexcept {
    return functions.create_heap && functions.destroy_heap && functions.contents && functions.did_modify_range &&
           functions.synchronize_ranges && functions.heap_buffer_size_and_align &&
           functions.heap_texture_size_and_align && functions.current_allocated_size &&
           functions.recommended_max_working_set_size;
}

/// "shared", "managed", "private", "memoryless".
constexpr const char* to_string(MetalStorageMode mode) noexcept {
    switch (mode) {
        case MetalStorageMode::shared: return "shared";
        case MetalStorageMode::managed: return "managed";
        case MetalStorageMode::private_: return "private";
        case MetalStorageMode::memoryless: return "memoryless";
    }
    return "unknown";
}

/// "default_cache", "write_combined".
constexpr const char* to_string(MetalCpuCacheMode mode) noexcept {
    switch (mode) {
        case MetalCpuCacheMode::default_cache: return "default_cache";
        case MetalCpuCacheMode::write_combined: return "write_combined";
    }
    return "unknown";
}

/// "heap", "buffer", "none".
constexpr const char* to_string(MetalBacking backing) noexcept {
    switch (backing) {
        case MetalBacking::heap: return "heap";
        case MetalBacking::buffer: return "buffer";
        case MetalBacking::none: return "none";
    }
    return "unknown";
}

}  // namespace gpu_alloc
