// Why an allocation failed. Every error leaves the allocator exactly as it was.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace gpu_alloc {

/// The kind of failure.
enum class AllocationErrorKind : std::uint8_t {
    out_of_device_memory,        ///< every suitable memory type's heap is full
    out_of_host_memory,          ///< the device or the allocator ran out of host memory
    no_compatible_memory_types,  ///< no memory type satisfies both the type mask and the usage
    too_many_objects,            ///< creating a device memory object would pass max_memory_allocation_count
    over_budget,                 ///< the heap budget would be exceeded
    invalid_request,             ///< the request itself is wrong; see InvalidRequest
};

/// What is wrong with an invalid request.
enum class InvalidRequest : std::uint8_t {
    none,
    zero_size,                  ///< Request::size == 0
    alignment_not_power_of_two, ///< Request::alignment is 0 or not a power of two
    alignment_too_large,        ///< no memory object can be that aligned within max_memory_allocation_size
    size_too_large,             ///< larger than max_memory_allocation_size
    empty_memory_type_mask,     ///< Request::memory_types names no existing memory type
    device_address_unsupported, ///< UsageFlags::device_address on a device without the feature
};

/// An allocation failure: the kind, and for invalid_request, what is invalid.
struct AllocationError {
    AllocationErrorKind kind = AllocationErrorKind::out_of_device_memory;
    InvalidRequest invalid = InvalidRequest::none;

    static constexpr AllocationError invalid_request(InvalidRequest what) noexcept {
        return {AllocationErrorKind::invalid_request, what};
    }
    friend constexpr bool operator==(const AllocationError&, const AllocationError&) = default;
    friend constexpr bool operator==(const AllocationError& e, AllocationErrorKind k) noexcept {
        return e.kind == k;
    }
};

constexpr std::string_view to_string(AllocationErrorKind k) noexcept {
    switch (k) {
        case AllocationErrorKind::out_of_device_memory: return "out of device memory";
        case AllocationErrorKind::out_of_host_memory: return "out of host memory";
        case AllocationErrorKind::no_compatible_memory_types: return "no compatible memory types";
        case AllocationErrorKind::too_many_objects: return "too many device memory objects";
        case AllocationErrorKind::over_budget: return "over budget";
        case AllocationErrorKind::invalid_request: return "invalid request";
    }
    return "unknown allocation error";
}

constexpr std::string_view to_string(InvalidRequest r) noexcept {
    switch (r) {
        case InvalidRequest::none: return "none";
        case InvalidRequest::zero_size: return "size is zero";
        case InvalidRequest::alignment_not_power_of_two: return "alignment is not a power of two";
        case InvalidRequest::alignment_too_large: return "alignment is larger than any memory object can be";
        case InvalidRequest::size_too_large: return "size exceeds max_memory_allocation_size";
        case InvalidRequest::empty_memory_type_mask: return "memory type mask names no memory type of the device";
        case InvalidRequest::device_address_unsupported: return "device address requested but not supported";
    }
    return "unknown";
}

/// "invalid request: size is zero", "over budget", ...
inline std::string to_string(const AllocationError& e) {
    std::string out(to_string(e.kind));
    if (e.kind == AllocationErrorKind::invalid_request) {
        out += ": ";
        out += to_string(e.invalid);
    }
    return out;
}

inline std::ostream& operator<<(std::ostream& os, const AllocationError& e) { return os << to_string(e); }
inline std::ostream& operator<<(std::ostream& os, AllocationErrorKind k) { return os << to_string(k); }

}  // namespace gpu_alloc
