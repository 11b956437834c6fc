// Metal storage modes and CPU cache modes as gpu-alloc memory types and heaps.
//
// Metal has no memory types: a resource's storage mode (shared, managed,
// private, memoryless) and CPU cache mode decide where it lives and how the CPU
// reaches it. The allocator thinks in Vulkan-style memory types with property
// flags, so this file makes one memory type per (storage mode, cache mode)
// pair the device offers, and one or two heaps, from what the device reports
// (MetalDeviceInfo). It is pure data in, data out, and is tested on every
// platform with the profiles of an Apple-silicon Mac, a Mac with a discrete
// GPU and an Intel Mac with integrated graphics.
//
// The mapping, and why (docs/metal.md has the same table):
//
//   storage    cache           unified memory                     discrete GPU (2 heaps)
//   private    -               device_local                       device_local, heap 0 (VRAM)
//   managed    default_cache   (not offered: same as shared)      device_local|host_visible|host_cached,
//                                                                 heap 0: non-coherent (didModifyRange: /
//                                                                 a blit back), GPU copy in VRAM
//   shared     write_combined  device_local|host_visible|         host_visible|host_coherent, heap 1
//                              host_coherent
//   shared     default_cache   device_local|host_visible|         host_visible|host_coherent|host_cached,
//                              host_coherent|host_cached          heap 1 (system memory)
//   memoryless -               device_local|lazily_allocated      (not offered: Apple GPUs only)
//
// Heaps: unified memory is one device_local heap of recommendedMaxWorkingSetSize
// bytes (the physical memory when Metal does not say); a discrete GPU has a
// device_local heap of recommendedMaxWorkingSetSize bytes (Metal reports no
// VRAM size; this is the closest figure it gives) and a system heap of the
// physical memory size.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>
#include <vector>

#include <gpu_alloc/metal/metal_functions.hpp>
#include <gpu_alloc/types/flags.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// Choices the device cannot make for the application.
struct MetalDeviceOptions {
    /// Hazard tracking of every heap and buffer the adapter creates. Metal's
    /// heap default is untracked: the application orders accesses with fences.
    MetalHazardTracking hazard_tracking = MetalHazardTracking::untracked;
    /// Also offer write-combined shared memory types (fast CPU writes, slow CPU
    /// reads), which the allocator prefers for uploads.
    bool write_combined_types = true;
    /// DeviceProperties::max_memory_allocation_count. Metal sets no limit, but
    /// every live heap costs a kernel object and a useHeap:/residency entry per
    /// pass, so the allocator is held to this many.
    std::uint32_t max_memory_objects = 4096;
};

/// Why a Metal memory device could not be set up.
enum class MetalInitError : std::uint8_t {
    incomplete_functions,  ///< a MetalFunctions pointer is null
    invalid_device_info,   ///< a size the model needs is 0, or the options are unusable
};

/// "incomplete function table", "invalid device info".
constexpr std::string_view to_string(MetalInitError e) noexcept {
    switch (e) {
        case MetalInitError::incomplete_functions: return "incomplete function table";
        case MetalInitError::invalid_device_info: return "invalid device info";
    }
    return "unknown MetalInitError";
}
inline std::ostream& operator<<(std::ostream& os, MetalInitError e) { return os << to_string(e); }

/// What one gpu-alloc memory type is in Metal terms.
struct MetalMemoryType {
    MetalStorageMode storage_mode = MetalStorageMode::private_;          ///< of every object of the type
    MetalCpuCacheMode cpu_cache_mode = MetalCpuCacheMode::default_cache;  ///< default_cache for private/memoryless
    MetalBacking backing = MetalBacking::heap;                            ///< see metal_backing()

    friend bool operator==(const MetalMemoryType&, const MetalMemoryType&) = default;
};

/// DeviceProperties and, parallel to its memory types, their Metal meaning.
struct MetalMemoryModel {
    DeviceProperties properties;         ///< what GpuAllocator is given
    std::vector<MetalMemoryType> types;  ///< types[i] describes properties.memory_types[i]
    bool unified_memory = false;         ///< one heap (true) or VRAM + system (false)
};

/// Bytes a (buffer, offset) range or a flushed range is rounded to on managed
/// memory: MTLBlitCommandEncoder copies on macOS need offsets and sizes that are
/// multiples of 4, and invalidate is such a copy. Reported as non_coherent_atom_size.
inline constexpr std::uint64_t metal_non_coherent_atom_size = 4;

/// The property flags of a (storage mode, cache mode) pair; see the table at the
/// top of this file. Returns none for pairs the adapter never offers (managed on
/// unified memory).
MemoryPropertyFlags metal_memory_property_flags(MetalStorageMode storage, MetalCpuCacheMode cache,
                                                bool unified_memory) noexcept;

/// How a memory object of `storage` is made on this device: a placement MTLHeap
/// where Metal allows one (private always; shared with info.shared_heaps), one
/// MTLBuffer otherwise (managed; shared on Macs without Apple silicon), nothing
/// for memoryless.
MetalBacking metal_backing(MetalStorageMode storage, const MetalDeviceInfo& info) noexcept;

/// Builds the memory model of a device. Errors: invalid_device_info when
/// max_buffer_length is 0, a heap would have size 0 (unified: both
/// recommended_max_working_set_size and system_memory_size are 0; discrete:
/// either is 0), buffer_offset_alignment is not a power of two, or
/// options.max_memory_objects is 0.
Result<MetalMemoryModel, MetalInitError> build_metal_memory_model(const MetalDeviceInfo& info,
                                                                  const MetalDeviceOptions& options);

}  // namespace gpu_alloc
