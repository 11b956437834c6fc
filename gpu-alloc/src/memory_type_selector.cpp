#include <gpu_alloc/memory_type_selector.hpp>

#include <algorithm>

namespace gpu_alloc {

bool MemoryTypeSelector::is_compatible(UsageFlags usage, MemoryPropertyFlags props) noexcept {
    // Protected memory needs a protected context; the allocator never hands it out.
    if (contains(props, MemoryPropertyFlags::protected_memory)) return false;
    if (needs_host_access(usage) && !contains(props, MemoryPropertyFlags::host_visible)) return false;
    // Lazily allocated memory only suits transient attachments the host never sees.
    if (contains(props, MemoryPropertyFlags::lazily_allocated) &&
        (!contains(usage, UsageFlags::transient) || needs_host_access(usage)))
        return false;
    return true;
}

std::uint32_t MemoryTypeSelector::preference(UsageFlags usage, MemoryPropertyFlags props) noexcept {
    const bool host = needs_host_access(usage);
    const bool wants_device_local = is_empty(usage & ~UsageFlags::transient & ~UsageFlags::device_address) ||
                                    contains(usage, UsageFlags::fast_device_access);
    const bool device_local = contains(props, MemoryPropertyFlags::device_local);
    const bool host_visible = contains(props, MemoryPropertyFlags::host_visible);
    const bool cached = contains(props, MemoryPropertyFlags::host_cached);
    const bool coherent = contains(props, MemoryPropertyFlags::host_coherent);
    const bool lazy = contains(props, MemoryPropertyFlags::lazily_allocated);

    std::uint32_t score = 0;
    if (device_local != wants_device_local) score += 8;
    if (host_visible != host) score += 4;
    // Read-back wants cached memory; uploads want write-combined (uncached) memory.
    if (host && cached != contains(usage, UsageFlags::download)) score += 2;
    // Host access is simplest on coherent memory (no flushes).
    if (host && !coherent) score += 1;
    // Transient attachments prefer lazily allocated memory where it exists.
    if (contains(usage, UsageFlags::transient) && !host && !lazy) score += 1;
    // The ReBAR rule: keep device-local host-visible memory for the host's use.
    if (!host && device_local && host_visible) score += 32;
    return score;
}

MemoryTypeSelector::MemoryTypeSelector(const DeviceProperties& props) {
    const auto type_count = static_cast<std::uint32_t>(std::min<std::size_t>(props.memory_types.size(), max_memory_types));
    for (std::uint32_t u = 0; u < usage_flag_combinations; ++u) {
        const auto usage = static_cast<UsageFlags>(u);
        MemoryTypeList& list = lists_[u];
        for (std::uint32_t t = 0; t < type_count; ++t)
            if (is_compatible(usage, props.memory_types[t].props)) list.types[list.count++] = static_cast<std::uint8_t>(t);
        // Stable: among equals, the device's own order (drivers list better types first).
        std::stable_sort(list.types.begin(), list.types.begin() + list.count, [&](std::uint8_t a, std::uint8_t b) {
            return preference(usage, props.memory_types[a].props) < preference(usage, props.memory_types[b].props);
        });
    }
}

}  // namespace gpu_alloc
