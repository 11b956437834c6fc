// Errors a MemoryDevice reports. Shortages are values, never exceptions.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace gpu_alloc {

/// A device ran out of memory (VK_ERROR_OUT_OF_DEVICE_MEMORY / _HOST_MEMORY, E_OUTOFMEMORY).
enum class OutOfMemory : std::uint8_t {
    out_of_device_memory,
    out_of_host_memory,
};

/// Mapping device memory failed.
enum class DeviceMapError : std::uint8_t {
    out_of_device_memory,
    out_of_host_memory,
    /// The driver could not map (VK_ERROR_MEMORY_MAP_FAILED: no address space, ...).
    map_failed,
};

constexpr std::string_view to_string(OutOfMemory e) noexcept {
    switch (e) {
        case OutOfMemory::out_of_device_memory: return "out of device memory";
        case OutOfMemory::out_of_host_memory: return "out of host memory";
    }
    return "unknown OutOfMemory";
}

constexpr std::string_view to_string(DeviceMapError e) noexcept {
    switch (e) {
        case DeviceMapError::out_of_device_memory: return "out of device memory";
        case DeviceMapError::out_of_host_memory: return "out of host memory";
        case DeviceMapError::map_failed: return "map failed";
    }
    return "unknown DeviceMapError";
}

inline std::ostream& operator<<(std::ostream& os, OutOfMemory e) { return os << to_string(e); }
inline std::ostream& operator<<(std::ostream& os, DeviceMapError e) { return os << to_string(e); }

}  // namespace gpu_alloc
