#include <gpu_alloc/heap_budget.hpp>

#include <algorithm>

namespace gpu_alloc {

HeapBudgetTracker::HeapBudgetTracker(const DeviceProperties& props, double fraction) noexcept {
    heap_count_ = static_cast<std::uint32_t>(std::min<std::size_t>(props.memory_heaps.size(), max_memory_heaps));
    fraction = std::clamp(fraction, 0.0, 1.0);
    for (std::uint32_t h = 0; h < heap_count_; ++h) {
        heaps_[h].size = props.memory_heaps[h].size;
        heaps_[h].budget.store(static_cast<std::uint64_t>(static_cast<double>(props.memory_heaps[h].size) * fraction),
                               std::memory_order_relaxed);
    }
}

HeapBudgetTracker::Refusal HeapBudgetTracker::try_reserve(std::uint32_t heap, std::uint64_t bytes) noexcept {
    Heap& h = heaps_[heap];
    std::uint64_t ours = h.ours.load(std::memory_order_relaxed);
    for (;;) {
        if (bytes > h.size || ours > h.size - bytes) return Refusal::over_heap_size;
        const std::uint64_t others_now = h.others.load(std::memory_order_relaxed);
        const std::uint64_t budget_now = h.budget.load(std::memory_order_relaxed);
        if (others_now + ours + bytes > budget_now) return Refusal::over_budget;
        if (h.ours.compare_exchange_weak(ours, ours + bytes, std::memory_order_relaxed)) return Refusal::none;
    }
}

void HeapBudgetTracker::force_reserve(std::uint32_t heap, std::uint64_t bytes) noexcept {
    heaps_[heap].ours.fetch_add(bytes, std::memory_order_relaxed);
}

void HeapBudgetTracker::release(std::uint32_t heap, std::uint64_t bytes) noexcept {
    heaps_[heap].ours.fetch_sub(bytes, std::memory_order_relaxed);
}

void HeapBudgetTracker::update_from_device(std::span<const HeapBudget> reported) noexcept {
    const std::size_t n = std::min<std::size_t>(reported.size(), heap_count_);
    for (std::size_t i = 0; i < n; ++i) {
        Heap& h = heaps_[i];
        const std::uint64_t ours = h.ours.load(std::memory_order_relaxed);
        // The device's usage includes ours; whatever exceeds it belongs to others.
        h.others.store(reported[i].usage > ours ? reported[i].usage - ours : 0, std::memory_order_relaxed);
        h.budget.store(reported[i].budget, std::memory_order_relaxed);
    }
    refreshed_once_.store(true, std::memory_order_relaxed);
}

bool HeapBudgetTracker::refresh_due(std::uint32_t interval) noexcept {
    if (interval == 0) return false;
    const std::uint64_t n = allocations_since_refresh_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!refreshed_once_.load(std::memory_order_relaxed) || n >= interval) {
        allocations_since_refresh_.store(0, std::memory_order_relaxed);
        return true;
    }
    return false;
}

}  // namespace gpu_alloc
