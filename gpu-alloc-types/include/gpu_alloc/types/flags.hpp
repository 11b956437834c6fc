// Bit flags of the contract: memory properties, heap flags, allocation flags.
//
// Each is an enum class with the bitwise operators defined, so that
// `MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_coherent`
// reads like Vulkan's flags while staying type-safe. `contains(set, bits)`
// asks whether every bit of `bits` is in `set`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <type_traits>

namespace gpu_alloc {

/// Enables |, &, ^, ~ and their assignments on an enum class used as a bit set.
template <class E>
struct EnableBitmaskOperators : std::false_type {};

template <class E>
concept BitmaskEnum = std::is_enum_v<E> && EnableBitmaskOperators<E>::value;

template <BitmaskEnum E>
constexpr E operator|(E a, E b) noexcept {
    using U = std::underlying_type_t<E>;
    return static_cast<E>(static_cast<U>(a) | static_cast<U>(b));
}
template <BitmaskEnum E>
constexpr E operator&(E a, E b) noexcept {
    using U = std::underlying_type_t<E>;
    return static_cast<E>(static_cast<U>(a) & static_cast<U>(b));
}
template <BitmaskEnum E>
constexpr E operator^(E a, E b) noexcept {
    using U = std::underlying_type_t<E>;
    return static_cast<E>(static_cast<U>(a) ^ static_cast<U>(b));
}
template <BitmaskEnum E>
constexpr E operator~(E a) noexcept {
    using U = std::underlying_type_t<E>;
    return static_cast<E>(~static_cast<U>(a));
}
template <BitmaskEnum E>
constexpr E& operator|=(E& a, E b) noexcept { return a = a | b; }
template <BitmaskEnum E>
constexpr E& operator&=(E& a, E b) noexcept { return a = a & b; }

/// True when every bit of `bits` is set in `set` (true for empty `bits`).
template <BitmaskEnum E>
constexpr bool contains(E set, E bits) noexcept { return (set & bits) == bits; }
/// True when at least one bit of `bits` is set in `set`.
template <BitmaskEnum E>
constexpr bool intersects(E set, E bits) noexcept {
    return static_cast<std::underlying_type_t<E>>(set & bits) != 0;
}
/// True when no bit is set.
template <BitmaskEnum E>
constexpr bool is_empty(E set) noexcept { return static_cast<std::underlying_type_t<E>>(set) == 0; }

/// Properties of a memory type (the same bits as VkMemoryPropertyFlagBits).
enum class MemoryPropertyFlags : std::uint32_t {
    none = 0,
    device_local = 1u << 0,      ///< fastest for the device
    host_visible = 1u << 1,      ///< can be mapped for host access
    host_coherent = 1u << 2,     ///< host writes need no flush, device writes no invalidate
    host_cached = 1u << 3,       ///< host reads are cached (fast read-back)
    lazily_allocated = 1u << 4,  ///< committed on use (tile memory; transient attachments)
    protected_memory = 1u << 5,  ///< protected content; never mappable
};
template <>
struct EnableBitmaskOperators<MemoryPropertyFlags> : std::true_type {};

/// Flags of a memory heap.
enum class MemoryHeapFlags : std::uint32_t {
    none = 0,
    device_local = 1u << 0,
    multi_instance = 1u << 1,
};
template <>
struct EnableBitmaskOperators<MemoryHeapFlags> : std::true_type {};

/// Flags passed to MemoryDevice::allocate_memory.
enum class AllocationFlags : std::uint32_t {
    none = 0,
    /// The memory may back buffers whose device address is taken
    /// (VkMemoryAllocateFlagsInfo with VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT).
    device_address = 1u << 0,
};
template <>
struct EnableBitmaskOperators<AllocationFlags> : std::true_type {};

namespace detail {
template <class E, std::size_t N>
std::string flags_to_string(E flags, const char* const (&names)[N]) {
    auto bits = static_cast<std::uint32_t>(flags);
    if (bits == 0) return "none";
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (bits & (1u << i)) {
            if (!out.empty()) out += '|';
            out += names[i];
            bits &= ~(1u << i);
        }
    }
    if (bits != 0) {
        if (!out.empty()) out += '|';
        out += "0x" + [](std::uint32_t v) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "%x", v);
            return std::string(buf);
        }(bits);
    }
    return out;
}
}  // namespace detail

/// "device_local|host_visible", or "none".
inline std::string to_string(MemoryPropertyFlags flags) {
    static constexpr const char* names[] = {"device_local", "host_visible",     "host_coherent",
                                            "host_cached",  "lazily_allocated", "protected"};
    return detail::flags_to_string(flags, names);
}
inline std::string to_string(MemoryHeapFlags flags) {
    static constexpr const char* names[] = {"device_local", "multi_instance"};
    return detail::flags_to_string(flags, names);
}
inline std::string to_string(AllocationFlags flags) {
    static constexpr const char* names[] = {"device_address"};
    return detail::flags_to_string(flags, names);
}
inline std::ostream& operator<<(std::ostream& os, MemoryPropertyFlags f) { return os << to_string(f); }
inline std::ostream& operator<<(std::ostream& os, MemoryHeapFlags f) { return os << to_string(f); }
inline std::ostream& operator<<(std::ostream& os, AllocationFlags f) { return os << to_string(f); }

}  // namespace gpu_alloc
