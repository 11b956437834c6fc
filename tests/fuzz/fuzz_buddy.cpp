// libFuzzer target: BuddyAllocator against the reference model of
// strategy_harness.hpp, plus the buddy's exact promises: create() fails exactly
// on the documented arguments; a valid request takes a block of
// max(bit_ceil(size), alignment, min_block_size) and is refused with
// out_of_space only when no free block that large exists.
#include <algorithm>
#include <bit>
#include <optional>

#include <gpu_alloc/buddy.hpp>

#include "strategy_harness.hpp"

namespace {

using gpu_alloc::BuddyAllocator;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;
using namespace gpu_alloc::fuzz;

struct BuddyTraits {
    static constexpr bool reserved_from_offset = true;

    static std::optional<BuddyAllocator> make(FuzzInput& in) {
        const std::uint8_t shape = in.byte();
        const std::uint64_t min_block = shape % 16 == 0 ? in.integer(2) : in.power_of_two(16);
        const std::uint64_t capacity = in.log_size(std::uint64_t{1} << (shape % 4 == 0 ? 40 : 24));
        auto made = BuddyAllocator::create(capacity, min_block);
        const bool valid = is_power_of_two(min_block) && capacity >= min_block;
        GPU_ALLOC_FUZZ_CHECK(static_cast<bool>(made) == valid);
        if (!made) return std::nullopt;
        GPU_ALLOC_FUZZ_CHECK(made->capacity() == capacity / min_block * min_block);
        GPU_ALLOC_FUZZ_CHECK(made->max_block_size() == std::bit_floor(made->capacity()));
        return std::move(*made);
    }

    static void check_result(const BuddyAllocator& b, const AllocateCall& call,
                             const gpu_alloc::Result<SubAllocation, SubAllocationError>& r) {
        if (call.size == 0 || !is_power_of_two(call.alignment)) return;
        if (call.size > b.max_block_size() || call.alignment > b.max_block_size()) {
            GPU_ALLOC_FUZZ_CHECK(!r && r.error() != SubAllocationError::out_of_space);
            return;
        }
        const std::uint64_t need = std::max({std::bit_ceil(call.size), call.alignment, b.min_block_size()});
        if (need <= call.before.largest_free_range) {
            GPU_ALLOC_FUZZ_CHECK(r);
            GPU_ALLOC_FUZZ_CHECK(r->reserved == need);
            GPU_ALLOC_FUZZ_CHECK(r->offset % need == 0);
        } else {
            GPU_ALLOC_FUZZ_CHECK(!r && r.error() == SubAllocationError::out_of_space);
        }
    }

    static void after_step(const BuddyAllocator&, const std::vector<SubAllocation>&) {}
    static void on_free(const BuddyAllocator&, const SubAllocation&, bool) {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(data, size);
    run_strategy<BuddyAllocator, BuddyTraits>(in);
    return 0;
}
