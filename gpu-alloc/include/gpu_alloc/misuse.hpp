// Contract violations the allocator detects: giving back a block that holds no
// memory (moved from, or given back already) or one from another allocator,
// and destroying the allocator with memory still alive.
//
// They are reported, counted (GpuAllocator::misuse_count) and otherwise
// ignored: the allocator's state stays intact. The default handler prints to
// stderr; tests and debug builds may install one that fails or aborts.
#pragma once

#include <cstdint>
#include <string_view>

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

/// Called for every detected contract violation. The default prints to stderr.
using AllocatorMisuseHandler = void (*)(AllocatorMisuse kind, const char* what);
/// The same, with the user data given to set_misuse_callback.
using AllocatorMisuseCallback = void (*)(AllocatorMisuse kind, const char* what, void* user_data);

/// Replaces the misuse handler (process-wide; null restores the default);
/// returns the previous plain handler (null when a callback was installed).
AllocatorMisuseHandler set_misuse_handler(AllocatorMisuseHandler handler) noexcept;
/// Installs a misuse callback with user data (process-wide; null restores the default).
void set_misuse_callback(AllocatorMisuseCallback callback, void* user_data) noexcept;

namespace detail {
/// Calls the installed handler (block_ops.cpp).
void report_misuse(AllocatorMisuse kind, const char* what) noexcept;
}  // namespace detail

}  // namespace gpu_alloc
