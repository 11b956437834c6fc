// libFuzzer target: LinearAllocator against the reference model of
// strategy_harness.hpp, plus an exact model of its bump pointer: each
// allocation lands at the pointer padded up to the alignment, out_of_space
// exactly when that does not fit, and free() resets the pointer when the last
// allocation goes and rolls it back when the most recent one goes.
#include <optional>

#include <gpu_alloc/linear.hpp>

#include "strategy_harness.hpp"

namespace {

using gpu_alloc::LinearAllocator;
using gpu_alloc::SubAllocation;
using gpu_alloc::SubAllocationError;
using namespace gpu_alloc::fuzz;

struct LinearTraits {
    static constexpr bool reserved_from_offset = false;  // reserved counts the padding before the offset
    static inline std::uint64_t head = 0;                 // the model's bump pointer

    static std::optional<LinearAllocator> make(FuzzInput& in) {
        const std::uint8_t shape = in.byte();
        const std::uint64_t capacity = shape % 32 == 0 ? 0 : in.log_size(std::uint64_t{1} << (shape % 4 == 0 ? 62 : 20));
        head = 0;
        return LinearAllocator(capacity);
    }

    static void check_result(const LinearAllocator& l, const AllocateCall& call,
                             const gpu_alloc::Result<SubAllocation, SubAllocationError>& r) {
        const std::uint64_t cap = l.capacity();
        if (call.size == 0 || call.size > cap) {
            GPU_ALLOC_FUZZ_CHECK(!r && r.error() == SubAllocationError::invalid_size);
            return;
        }
        if (!is_power_of_two(call.alignment) || call.alignment > cap) {
            GPU_ALLOC_FUZZ_CHECK(!r && r.error() == SubAllocationError::invalid_alignment);
            return;
        }
        const std::uint64_t padding = (0 - head) & (call.alignment - 1);
        const bool fits = padding <= cap - head && call.size <= cap - head - padding;
        GPU_ALLOC_FUZZ_CHECK(static_cast<bool>(r) == fits);
        if (!r) {
            GPU_ALLOC_FUZZ_CHECK(r.error() == SubAllocationError::out_of_space);
            return;
        }
        GPU_ALLOC_FUZZ_CHECK(r->offset == head + padding);
        GPU_ALLOC_FUZZ_CHECK(r->reserved == padding + call.size);
        head = r->offset + r->size;
    }

    static void on_free(const LinearAllocator&, const SubAllocation& a, bool last) {
        if (last) head = 0;
        else if (a.offset + a.size == head) head = a.offset + a.size - a.reserved;
    }

    static void after_step(const LinearAllocator& l, const std::vector<SubAllocation>&) {
        GPU_ALLOC_FUZZ_CHECK(l.position() == head);
        GPU_ALLOC_FUZZ_CHECK(l.stats().used_bytes == head);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(data, size);
    run_strategy<LinearAllocator, LinearTraits>(in);
    return 0;
}
