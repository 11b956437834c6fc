// Picks memory types for a usage: every type that can serve it, best first.
//
// The order follows the Rust gpu-alloc's rule, a weighted count of mismatches
// between what the usage wants and what the type has (device-local weighs most,
// then host-visible, cached, coherent), with one addition, the ReBAR rule:
// device-local + host-visible types (resizable BAR, AMD's 256 MiB window) are
// put last for requests without host access, so that they are not used up by
// resources the host never touches. Lists are computed once per usage
// combination at construction; a lookup is an array index.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <gpu_alloc/request.hpp>
#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc {

/// Memory types suitable for one usage, best first.
struct MemoryTypeList {
    std::array<std::uint8_t, max_memory_types> types{};
    std::uint32_t count = 0;

    std::span<const std::uint8_t> as_span() const noexcept { return {types.data(), count}; }
};

class MemoryTypeSelector {
public:
    explicit MemoryTypeSelector(const DeviceProperties& props);

    /// Suitable types for `usage`, best first (the request's mask is applied by the caller).
    const MemoryTypeList& types_for(UsageFlags usage) const noexcept {
        return lists_[static_cast<std::uint32_t>(usage) & (usage_flag_combinations - 1)];
    }

    /// Whether memory type `props` can serve `usage` at all.
    static bool is_compatible(UsageFlags usage, MemoryPropertyFlags props) noexcept;
    /// Lower is better; only meaningful for compatible types.
    static std::uint32_t preference(UsageFlags usage, MemoryPropertyFlags props) noexcept;

private:
    std::array<MemoryTypeList, usage_flag_combinations> lists_{};
};

}  // namespace gpu_alloc
