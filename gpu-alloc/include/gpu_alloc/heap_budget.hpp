// Bytes per heap: what this allocator has taken, and how much it may take.
//
// The budget of a heap is what the device reports (VK_EXT_memory_budget, DXGI,
// Metal's working set) when it can, refreshed on a policy rather than on every
// allocation (the query is not free: wgpu #9769), else a fixed fraction of the
// heap's size. Usage by others (other processes, other allocators) is taken from
// the device's report at the last refresh: the check for a new device memory
// object of N bytes on heap h is
//     others[h] + ours[h] + N <= budget[h]
// where ours[h] is exact (updated atomically on every object created and
// destroyed). Reservations are compare-and-swap loops, so concurrent allocations
// cannot jointly overshoot the budget.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include <gpu_alloc/types/device.hpp>
#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc {

class HeapBudgetTracker {
public:
    /// Budgets start at `fraction` of each heap's size.
    HeapBudgetTracker(const DeviceProperties& props, double fraction) noexcept;

    /// Why a reservation was refused.
    enum class Refusal : std::uint8_t { none, over_budget, over_heap_size };

    /// Takes `bytes` on `heap` for a new device memory object, if the budget allows.
    Refusal try_reserve(std::uint32_t heap, std::uint64_t bytes) noexcept;
    /// Takes `bytes` regardless of the budget (imported memory that already exists).
    void force_reserve(std::uint32_t heap, std::uint64_t bytes) noexcept;
    /// Gives back bytes of a destroyed (or never created) device memory object.
    void release(std::uint32_t heap, std::uint64_t bytes) noexcept;

    /// Takes the device's report: budget and total usage per heap (entries beyond
    /// the heap count are ignored).
    void update_from_device(std::span<const HeapBudget> reported) noexcept;

    /// Bytes of device memory objects this allocator holds on `heap`.
    std::uint64_t used(std::uint32_t heap) const noexcept { return heaps_[heap].ours.load(std::memory_order_relaxed); }
    /// Current budget of `heap`, bytes.
    std::uint64_t budget(std::uint32_t heap) const noexcept { return heaps_[heap].budget.load(std::memory_order_relaxed); }
    /// Usage by others at the last refresh, bytes.
    std::uint64_t others(std::uint32_t heap) const noexcept { return heaps_[heap].others.load(std::memory_order_relaxed); }
    /// Whether the heap is at or beyond its budget now.
    bool over_budget(std::uint32_t heap) const noexcept { return used(heap) + others(heap) > budget(heap); }

    /// Counts one device allocation and says whether the budget should be queried
    /// again before it (every `interval` device allocations; 0 = never).
    bool refresh_due(std::uint32_t interval) noexcept;

private:
    struct alignas(64) Heap {
        std::atomic<std::uint64_t> ours{0};
        std::atomic<std::uint64_t> budget{0};
        std::atomic<std::uint64_t> others{0};
        std::uint64_t size = 0;
    };
    std::array<Heap, max_memory_heaps> heaps_{};
    std::uint32_t heap_count_ = 0;
    std::atomic<std::uint64_t> allocations_since_refresh_{0};
    std::atomic<bool> refreshed_once_{false};
};

}  // namespace gpu_alloc
