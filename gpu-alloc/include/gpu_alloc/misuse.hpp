// Contract violations the allocator detects: giving back a block that holds no
// memory (moved from, or given back already) or one from another allocator,
// and destroying the allocator with memory still alive.
//
// They are reported, counted (GpuAllocator::misuse_count) and otherwise
// ignored: the allocator's state stays intact. The default handler prints to
// stderr; tests and debug builds may install one that fails or aborts.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>

namespace gpu_alloc {

enum class AllocatorMisuse : std::uint8_t {
    empty_block,    ///< deallocate of a block holding no memory (double free, use after move)
    foreign_block,  ///< deallocate of a block from another allocator
    allocator_destroyed_with_live_memory,
};

constexpr std::string_view to_string(AllocatorMisuse k) noexcept {
    switch (k) {
        case AllocatorMisuse::empty_block: return "empty block";
        case AllocatorMisuse::foreign_block: return "foreign block";
        case AllocatorMisuse::allocator_destroyed_with_live_memory: return "allocator destroyed with live memory";
    }
    return "unknown misuse";
}

/// Called for every detected contract violation.
using AllocatorMisuseHandler = void (*)(AllocatorMisuse kind, const char* what);

namespace detail {
inline void default_misuse_handler(AllocatorMisuse kind, const char* what) {
    std::fprintf(stderr, "gpu_alloc: misuse (%.*s): %s\n", static_cast<int>(to_string(kind).size()),
                 to_string(kind).data(), what);
}
inline AllocatorMisuseHandler& misuse_handler() noexcept {
    static AllocatorMisuseHandler handler = &default_misuse_handler;
    return handler;
}
}  // namespace detail

/// Replaces the misuse handler (process-wide); returns the previous one.
inline AllocatorMisuseHandler set_misuse_handler(AllocatorMisuseHandler handler) noexcept {
    return std::exchange(detail::misuse_handler(), handler ? handler : &detail::default_misuse_handler);
}

}  // namespace gpu_alloc
