// libFuzzer target: the device-profile loader (gpu_alloc::mock::parse_profile).
//
// Whatever the bytes, parse_profile returns (never aborts, never reads out of
// bounds), and an error carries a message. A profile it accepts must be one the
// rest of the project can use: its properties satisfy is_valid(), its cost
// model answers finite, non-negative costs for every size up to 2^64 - 1
// (corpus/profile/regression-*.json: a 1e308 us and a 1e-320 us measurement
// once gave inf and NaN), and a MockDevice built from it
// serves a GpuAllocator that allocates, maps (when host visible) and frees a
// small block in every memory type without misuse and without leaking.
#include <cmath>
#include <string_view>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include "fuzz_input.hpp"

namespace {

using namespace gpu_alloc;
using Memory = gpu_alloc::mock::MockMemory;

void exercise(const gpu_alloc::mock::DeviceProfile& profile) {
    const DeviceProperties& props = profile.properties;
    GPU_ALLOC_FUZZ_CHECK(is_valid(props));
    // Every modeled cost is finite, >= 0 and bounded, for every size up to
    // 2^64 - 1: each power of two and its neighbours (the curves are linear
    // between and beyond their points), in every type and one past the last.
    GPU_ALLOC_FUZZ_CHECK(std::isfinite(profile.cost.free_to_allocate_ratio()));
    for (std::uint32_t t = 0; t <= props.memory_types.size(); ++t) {
        for (int bit = 0; bit <= 64; ++bit) {
            const std::uint64_t p = bit == 64 ? ~std::uint64_t{0} : std::uint64_t{1} << bit;
            for (std::uint64_t size : {p - 1, p, p + (bit == 64 ? 0 : 1)}) {
                const double a = profile.cost.allocate_us(t, size);
                const double f = profile.cost.free_us(t, size);
                GPU_ALLOC_FUZZ_CHECK(std::isfinite(a) && a >= 0.0 && a <= gpu_alloc::mock::CostModel::max_cost_us);
                GPU_ALLOC_FUZZ_CHECK(std::isfinite(f) && f >= 0.0 && f <= gpu_alloc::mock::CostModel::max_cost_us);
            }
        }
    }
    gpu_alloc::mock::MockDeviceOptions options;
    options.abort_on_misuse = true;
    auto device = gpu_alloc::mock::MockDevice::from_profile(profile, options);
    GpuAllocator<Memory> allocator(props, Config::for_device(props));
    for (std::uint32_t t = 0; t < props.memory_types.size() && t < 32; ++t) {
        Request r;
        r.size = 256;
        r.alignment = 256;
        r.memory_types = 1u << t;
        r.kind = ResourceKind::linear;
        auto b = allocator.allocate(device, r);
        // A heap may be too small for any chunk; the allocator must say so, not break.
        if (!b) {
            GPU_ALLOC_FUZZ_CHECK(b.error() != AllocationErrorKind::invalid_request &&
                                 b.error() != AllocationErrorKind::no_compatible_memory_types);
            continue;
        }
        GPU_ALLOC_FUZZ_CHECK(b->memory_type() == t && b->size() == 256);
        if (contains(b->props(), MemoryPropertyFlags::host_visible)) {
            const std::byte bytes[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
            GPU_ALLOC_FUZZ_CHECK(b->write_bytes(device, 0, bytes));
        }
        allocator.deallocate(device, std::move(*b));
    }
    allocator.cleanup(device);
    GPU_ALLOC_FUZZ_CHECK(device.live_object_count() == 0);
    GPU_ALLOC_FUZZ_CHECK(device.misuse_count() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto profile = gpu_alloc::mock::parse_profile(text);
    if (!profile) {
        GPU_ALLOC_FUZZ_CHECK(!profile.error().message.empty());
        return 0;
    }
    exercise(*profile);
    return 0;
}
