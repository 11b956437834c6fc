// Requests the allocator tests make again and again.
#pragma once

#include <cstdint>

#include <gpu_alloc/request.hpp>

namespace gpu_alloc::test {

/// A buffer (linear resource) request.
inline Request buffer(std::uint64_t size, UsageFlags usage = UsageFlags::fast_device_access,
                      std::uint64_t alignment = 256) {
    Request r;
    r.size = size;
    r.alignment = alignment;
    r.usage = usage;
    r.kind = ResourceKind::linear;
    return r;
}

/// An optimal-tiling image request, device-local.
inline Request image(std::uint64_t size, std::uint64_t alignment = 1024) {
    Request r = buffer(size, UsageFlags::fast_device_access, alignment);
    r.kind = ResourceKind::optimal;
    return r;
}

}  // namespace gpu_alloc::test
