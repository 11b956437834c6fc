// libFuzzer target: SlabAllocator against the reference model of
// strategy_harness.hpp, plus the slab's own promises: create() accepts
// exactly the configurations SlabConfig documents; an allocation takes a slot
// of its class (reserved == the class's slot size, a multiple of the
// alignment); requests beyond max_slot_size are bad arguments; and a request
// that fits a slot never fails on an allocator with no live allocation.
#include <optional>

#include <gpu_alloc/slab.hpp>

#include "strategy_harness.hpp"

namespace {

using gpu_alloc::SlabAllocator;
using gpu_alloc::SlabConfig;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;
using namespace gpu_alloc::fuzz;

struct SlabTraits {
    static constexpr bool reserved_from_offset = true;
    static inline std::uint64_t max_slot = 0;

    static std::optional<SlabAllocator> make(FuzzInput& in) {
        const std::uint8_t shape = in.byte();
        SlabConfig config;
        config.page_size = shape % 16 == 0 ? in.integer(3) : in.power_of_two(23);
        config.max_slot_size = shape % 16 == 1 ? in.integer(3) : in.power_of_two(23);
        const std::uint64_t pages = shape % 32 == 2 ? 0 : 1 + in.below(shape % 4 == 0 ? 4096 : 64);
        std::uint64_t capacity = pages * config.page_size;
        if (shape % 32 == 3) capacity += 1 + in.below(config.page_size == 0 ? 1 : config.page_size);
        auto made = SlabAllocator::create(capacity, config);
        const bool valid = is_power_of_two(config.page_size) && is_power_of_two(config.max_slot_size) &&
                           config.max_slot_size >= SlabAllocator::min_slot_size &&
                           config.max_slot_size <= config.page_size && config.page_size <= SlabAllocator::max_page_size &&
                           capacity > 0 && capacity % config.page_size == 0;
        GPU_ALLOC_FUZZ_CHECK(static_cast<bool>(made) == valid);
        if (!made) return std::nullopt;
        GPU_ALLOC_FUZZ_CHECK(made->page_size() == config.page_size);
        max_slot = config.max_slot_size;
        return std::move(*made);
    }

    static void check_result(const SlabAllocator& s, const AllocateCall& call,
                             const gpu_alloc::Result<SubAllocation, SubAllocationError>& r) {
        if (r) {
            GPU_ALLOC_FUZZ_CHECK(r->metadata < s.class_count());
            GPU_ALLOC_FUZZ_CHECK(r->reserved == s.class_slot_size(r->metadata));
            GPU_ALLOC_FUZZ_CHECK(r->reserved % call.alignment == 0);
        }
        if (call.size == 0 || !is_power_of_two(call.alignment)) return;
        if (call.size > max_slot || call.alignment > max_slot) {
            GPU_ALLOC_FUZZ_CHECK(!r && r.error() != SubAllocationError::out_of_space);
            return;
        }
        if (call.was_empty) GPU_ALLOC_FUZZ_CHECK(r);
        if (!r) GPU_ALLOC_FUZZ_CHECK(r.error() == SubAllocationError::out_of_space);
    }

    static void after_step(const SlabAllocator& s, const std::vector<SubAllocation>& live) {
        GPU_ALLOC_FUZZ_CHECK(s.pages_in_use() * s.page_size() <= s.capacity());
        if (live.empty()) GPU_ALLOC_FUZZ_CHECK(s.pages_in_use() == 0);
    }
    static void on_free(const SlabAllocator&, const SubAllocation&, bool) {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(data, size);
    run_strategy<SlabAllocator, SlabTraits>(in);
    return 0;
}
