// Device properties and helpers shared by the allocator tests.
#pragma once

#include <cstdint>
#include <string>

#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc::test {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

/// The constrained device of the core tests: small heaps, a non-coherent type,
/// few objects, a coarse granularity.
///   heap 0: 256 MiB device-local          type 0: device_local
///   heap 1: 256 MiB device-local          type 1: device_local | host_visible | host_coherent (ReBAR)
///   heap 2: 1 GiB system memory           type 2: host_visible | host_cached (non-coherent)
///                                         type 3: host_visible | host_coherent
inline DeviceProperties constrained_device() {
    using F = MemoryPropertyFlags;
    DeviceProperties p;
    p.memory_heaps = {{256 * MiB, MemoryHeapFlags::device_local},
                      {256 * MiB, MemoryHeapFlags::device_local},
                      {1 * GiB, MemoryHeapFlags::none}};
    p.memory_types = {{0, F::device_local},
                      {1, F::device_local | F::host_visible | F::host_coherent},
                      {2, F::host_visible | F::host_cached},
                      {2, F::host_visible | F::host_coherent}};
    p.max_memory_allocation_count = 4096;
    p.max_memory_allocation_size = 256 * MiB;
    p.non_coherent_atom_size = 256;
    p.buffer_image_granularity = 65536;
    p.buffer_device_address = false;
    return p;
}

inline mock::DeviceProfile load_shipped_profile(const std::string& file) {
    auto profile = mock::load_profile(std::string(GPU_ALLOC_PROFILE_DIR) + "/" + file);
    if (!profile) {
        std::fprintf(stderr, "cannot load %s: %s\n", file.c_str(), profile.error().message.c_str());
        std::abort();
    }
    return std::move(*profile);
}

}  // namespace gpu_alloc::test
