// libFuzzer target: FreeListAllocator against the reference model of
// strategy_harness.hpp, plus the free list's documented search guarantee: a
// valid request is never refused with out_of_space while a free block of at
// least (size + alignment - 1) * (1 + 1/64) + 1 bytes exists (free_list.hpp,
// "Worst-case overhead"), and an allocation reserves exactly its size.
#include <optional>

#include <gpu_alloc/free_list.hpp>

#include "strategy_harness.hpp"

namespace {

using gpu_alloc::FreeListAllocator;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;
using namespace gpu_alloc::fuzz;

struct FreeListTraits {
    static constexpr bool reserved_from_offset = true;

    static std::optional<FreeListAllocator> make(FuzzInput& in) {
        const std::uint8_t shape = in.byte();
        const std::uint64_t capacity = shape % 32 == 0 ? 0 : in.log_size(std::uint64_t{1} << (shape % 4 == 0 ? 44 : 24));
        auto made = FreeListAllocator::create(capacity);
        GPU_ALLOC_FUZZ_CHECK(static_cast<bool>(made) == (capacity > 0));
        if (!made) return std::nullopt;
        return std::move(*made);
    }

    static void check_result(const FreeListAllocator& f, const AllocateCall& call,
                             const gpu_alloc::Result<SubAllocation, SubAllocationError>& r) {
        if (r) GPU_ALLOC_FUZZ_CHECK(r->reserved == r->size);
        if (call.size == 0 || !is_power_of_two(call.alignment)) return;
        if (call.size > f.capacity()) {
            GPU_ALLOC_FUZZ_CHECK(!r && r.error() == SubAllocationError::invalid_size);
            return;
        }
        if (r) return;
        GPU_ALLOC_FUZZ_CHECK(r.error() == SubAllocationError::out_of_space);
        const std::uint64_t padded = call.size + (call.alignment - 1);  // alignment <= 2^63, size <= capacity < 2^45
        if (padded < call.size) return;
        const std::uint64_t guaranteed = padded + padded / 64 + 1;
        GPU_ALLOC_FUZZ_CHECK(call.before.largest_free_range < guaranteed);
    }

    static void after_step(const FreeListAllocator&, const std::vector<SubAllocation>&) {}
    static void on_free(const FreeListAllocator&, const SubAllocation&, bool) {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(data, size);
    run_strategy<FreeListAllocator, FreeListTraits>(in);
    return 0;
}
