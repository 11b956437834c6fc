// The fuzz harness shared by the four sub-allocation strategies: decode an
// operation sequence, run it against the strategy and a reference model, and
// check the SubAllocator contract (sub_allocator.hpp) plus validate() after
// every step.
//
// The model is the set of live allocations as the strategy returned them.
// After each step: validate() holds; stats() counts exactly the model's live
// allocations and requested bytes; empty() agrees; every live range is inside
// [0, capacity), aligned as asked, and disjoint from every other one (with
// Traits::reserved_from_offset, the whole reserved range is checked, not just
// the requested bytes). Each refusal is checked against the documented error
// (invalid_size / invalid_alignment for bad arguments), and each strategy adds
// what it can promise exactly (Traits::check_result): e.g. the buddy
// allocator never answers out_of_space while a large enough free block exists.
//
// Operations (opcode byte % 8): 0-3 allocate, 4-5 free one, 6 free the most
// recent, 7 free everything. Arguments follow the opcode (fuzz_input.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <gpu_alloc/sub_allocator.hpp>

#include "fuzz_input.hpp"

namespace gpu_alloc::fuzz {

/// At most this many operations per input: keeps one execution short.
inline constexpr int max_strategy_ops = 512;

/// What check_result gets to judge one allocate() call.
struct AllocateCall {
    std::uint64_t size = 0;
    std::uint64_t alignment = 0;
    SubAllocatorStats before{};  ///< stats() just before the call
    bool was_empty = false;      ///< empty() just before the call
};

inline bool is_power_of_two(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

/// Runs the input against a strategy made by Traits::make (see the file comment).
/// Traits: static std::optional<S> make(FuzzInput&); static constexpr bool
/// reserved_from_offset; static void check_result(const S&, const AllocateCall&,
/// const Result<SubAllocation, SubAllocationError>&); static void after_step(const S&,
/// const std::vector<SubAllocation>& live) (extra per-strategy checks);
/// static void on_free(const S&, const SubAllocation&, bool last) (before the free).
template <class S, class Traits>
void run_strategy(FuzzInput& in) {
    std::optional<S> made = Traits::make(in);
    if (!made) return;
    S& s = *made;
    const std::uint64_t capacity = s.capacity();
    std::vector<SubAllocation> live;

    auto check_all = [&] {
        GPU_ALLOC_FUZZ_CHECK(s.validate());
        const SubAllocatorStats st = s.stats();
        std::uint64_t requested = 0;
        std::map<std::uint64_t, std::uint64_t> ranges;  // start -> end
        for (const SubAllocation& a : live) {
            requested += a.size;
            const std::uint64_t span = Traits::reserved_from_offset ? a.reserved : a.size;
            GPU_ALLOC_FUZZ_CHECK(a.offset <= capacity && span <= capacity - a.offset);
            auto [it, fresh] = ranges.emplace(a.offset, a.offset + span);
            GPU_ALLOC_FUZZ_CHECK(fresh);
            if (it != ranges.begin()) GPU_ALLOC_FUZZ_CHECK(std::prev(it)->second <= it->first);
            if (std::next(it) != ranges.end()) GPU_ALLOC_FUZZ_CHECK(it->second <= std::next(it)->first);
        }
        GPU_ALLOC_FUZZ_CHECK(st.capacity == capacity);
        GPU_ALLOC_FUZZ_CHECK(st.allocation_count == live.size());
        GPU_ALLOC_FUZZ_CHECK(st.requested_bytes == requested);
        GPU_ALLOC_FUZZ_CHECK(st.used_bytes >= st.requested_bytes);
        GPU_ALLOC_FUZZ_CHECK(st.used_bytes <= capacity);
        GPU_ALLOC_FUZZ_CHECK(st.largest_free_range <= capacity);
        GPU_ALLOC_FUZZ_CHECK(s.empty() == live.empty());
        Traits::after_step(s, live);
    };
    auto free_at = [&](std::size_t i) {
        Traits::on_free(s, live[i], live.size() == 1);
        s.free(live[i]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    };

    check_all();
    for (int step = 0; step < max_strategy_ops && in.more(); ++step) {
        const std::uint8_t op = in.byte() % 8;
        if (op < 4) {
            AllocateCall call;
            // Mostly sizes up to the capacity, now and then past it or zero.
            const std::uint8_t shape = in.byte();
            call.size = shape % 16 == 0 ? 0 : in.log_size(shape % 16 == 1 ? ~std::uint64_t{0} : capacity);
            const std::uint8_t align_shape = in.byte();
            if (align_shape % 32 == 0) call.alignment = 0;
            else if (align_shape % 32 == 1) call.alignment = in.integer(3) | 3;  // never a power of two
            else call.alignment = std::uint64_t{1} << (in.byte() % (align_shape % 32 == 2 ? 64 : 24));
            call.before = s.stats();
            call.was_empty = s.empty();
            auto r = s.allocate(call.size, call.alignment);
            const bool bad_argument = !r && (r.error() == SubAllocationError::invalid_size ||
                                             r.error() == SubAllocationError::invalid_alignment);
            if (call.size == 0 || !is_power_of_two(call.alignment)) GPU_ALLOC_FUZZ_CHECK(bad_argument);
            if (r) {
                GPU_ALLOC_FUZZ_CHECK(r->size == call.size);
                GPU_ALLOC_FUZZ_CHECK(r->offset % call.alignment == 0);
                GPU_ALLOC_FUZZ_CHECK(r->reserved >= r->size);
            }
            Traits::check_result(s, call, r);
            if (r) live.push_back(*r);
        } else if (op < 6) {
            if (!live.empty()) free_at(static_cast<std::size_t>(in.below(live.size())));
        } else if (op == 6) {
            if (!live.empty()) free_at(live.size() - 1);
        } else {
            while (!live.empty()) free_at(live.size() - 1);
        }
        check_all();
    }
    while (!live.empty()) free_at(static_cast<std::size_t>(in.below(live.size())));
    check_all();
}

}  // namespace gpu_alloc::fuzz
