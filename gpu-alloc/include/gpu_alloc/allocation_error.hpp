// Why an allocation failed. Every error leaves the allocator exactly as it was.
#pragma once

#include <cstdint>
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
    memory_already_owned,       ///< import_memory of a handle the allocator already owns
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
        case InvalidRequest::memory_already_owned: return "the memory object is already owned by the allocator";
    }
    return "unknown";
}

/// "invalid request: size is zero", "over budget", ...
constexpr std::string_view to_string(const AllocationError& e) noexcept {
    if (e.kind != AllocationErrorKind::invalid_request) return to_string(e.kind);
    switch (e.invalid) {
        case InvalidRequest::none: return "invalid request";
        case InvalidRequest::zero_size: return "invalid request: size is zero";
        case InvalidRequest::alignment_not_power_of_two: return "invalid request: alignment is not a power of two";
        case InvalidRequest::alignment_too_large:
            return "invalid request: alignment is larger than any memory object can be";
        case InvalidRequest::size_too_large: return "invalid request: size exceeds max_memory_allocation_size";
        case InvalidRequest::empty_memory_type_mask:
            return "invalid request: memory type mask names no memory type of the device";
        case InvalidRequest::device_address_unsupported:
            return "invalid request: device address requested but not supported";
        case InvalidRequest::memory_already_owned:
            return "invalid request: the memory object is already owned by the allocator";
    }
    return "invalid request";
}

}  // namespace gpu_alloc
