// Tests of the device-profile loader and the cost model: the shipped profiles
// load with the values read off the devices, the cost model interpolates and
// borrows as documented, and every kind of malformed profile is refused with a
// message that names the field, without aborting.
#include <gpu_alloc/mock/device_profile.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace gpu_alloc::mock {
namespace {

using ::testing::HasSubstr;

std::string profile_path(const char* file) { return std::string(GPU_ALLOC_PROFILE_DIR) + "/" + file; }

std::string read_text(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return {};
    std::string text;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
    std::fclose(f);
    return text;
}

// A small valid profile; tests break one field of it at a time.
const std::string valid_profile = R"({
  "name": "test device",
  "memory_heaps": [
    { "size": 1073741824, "flags": ["device_local"] },
    { "size": 536870912, "flags": [] }
  ],
  "memory_types": [
    { "heap": 0, "props": ["device_local"] },
    { "heap": 1, "props": ["host_visible", "host_coherent"] },
    { "heap": 1, "props": ["host_visible", "host_cached"] }
  ],
  "max_memory_allocation_count": 4096,
  "max_memory_allocation_size": 1073741824,
  "non_coherent_atom_size": 64,
  "buffer_image_granularity": 1024,
  "buffer_device_address": false
})";

// valid_profile with the first occurrence of `from` replaced by `to`.
std::string with(const std::string& from, const std::string& to) {
    std::string text = valid_profile;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' is not in the valid profile";
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

// The error message of parsing `text`; fails the test if it parses.
std::string error_of(const std::string& text) {
    auto r = parse_profile(text);
    EXPECT_FALSE(r.has_value()) << "expected an error for:\n" << text;
    if (r.has_value()) return {};
    EXPECT_FALSE(r.error().message.empty());
    return r.error().message;
}

TEST(DeviceProfile, H100LoadsWithTheMeasuredValues) {
    auto r = load_profile(profile_path("nvidia-h100-vulkan.json"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    const DeviceProfile& p = *r;
    EXPECT_EQ(p.name, "NVIDIA H100 80GB HBM3");
    const DeviceProperties& props = p.properties;
    EXPECT_TRUE(is_valid(props));
    ASSERT_EQ(props.memory_types.size(), 5u);
    ASSERT_EQ(props.memory_heaps.size(), 2u);
    EXPECT_EQ(props.memory_heaps[0].size, 85520809984u);
    EXPECT_EQ(props.memory_heaps[0].flags, MemoryHeapFlags::device_local);
    EXPECT_EQ(props.memory_heaps[1].size, 101361423360u);
    EXPECT_EQ(props.memory_heaps[1].flags, MemoryHeapFlags::none);
    EXPECT_EQ(props.memory_types[0], (MemoryType{1, MemoryPropertyFlags::none}));
    EXPECT_EQ(props.memory_types[1], (MemoryType{0, MemoryPropertyFlags::device_local}));
    EXPECT_EQ(props.memory_types[2],
              (MemoryType{1, MemoryPropertyFlags::host_visible | MemoryPropertyFlags::host_coherent}));
    EXPECT_EQ(props.memory_types[3], (MemoryType{1, MemoryPropertyFlags::host_visible |
                                                        MemoryPropertyFlags::host_coherent |
                                                        MemoryPropertyFlags::host_cached}));
    EXPECT_EQ(props.memory_types[4], (MemoryType{0, MemoryPropertyFlags::device_local |
                                                        MemoryPropertyFlags::host_visible |
                                                        MemoryPropertyFlags::host_coherent}));
    EXPECT_EQ(props.max_memory_allocation_count, 4294967295u);
    EXPECT_EQ(props.max_memory_allocation_size, 4292870144u);
    EXPECT_EQ(props.non_coherent_atom_size, 64u);
    EXPECT_EQ(props.buffer_image_granularity, 1024u);
    EXPECT_TRUE(props.buffer_device_address);
    EXPECT_THAT(p.extensions, ::testing::Contains("VK_EXT_memory_budget"));
    EXPECT_EQ(p.extensions.size(), 6u);
    EXPECT_FALSE(p.cost.empty());
}

TEST(DeviceProfile, LavapipeLoadsWithoutCostModel) {
    auto r = load_profile(profile_path("lavapipe-vulkan.json"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    const DeviceProperties& props = r->properties;
    EXPECT_EQ(r->name, "llvmpipe (LLVM 15.0.6, 256 bits)");
    ASSERT_EQ(props.memory_types.size(), 1u);
    ASSERT_EQ(props.memory_heaps.size(), 1u);
    EXPECT_EQ(props.memory_heaps[0].size, 2147483648u);
    EXPECT_EQ(props.memory_types[0].props,
              MemoryPropertyFlags::device_local | MemoryPropertyFlags::host_visible |
                  MemoryPropertyFlags::host_coherent | MemoryPropertyFlags::host_cached);
    EXPECT_EQ(props.max_memory_allocation_size, 2147483648u);
    EXPECT_EQ(props.buffer_image_granularity, 64u);
    EXPECT_EQ(r->extensions.size(), 4u);
    EXPECT_TRUE(r->cost.empty());
    EXPECT_EQ(r->cost.allocate_us(0, 1 << 20), 0.0);
    EXPECT_EQ(r->cost.free_us(0, 1 << 20), 0.0);
}

// -- Cost model -----------------------------------------------------------------

class H100Cost : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = load_profile(profile_path("nvidia-h100-vulkan.json"));
        ASSERT_TRUE(r.has_value()) << r.error().message;
        cost_ = r->cost;
    }
    static constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
    CostModel cost_;
};

TEST_F(H100Cost, MeasuredSizesGiveTheMeasuredValues) {
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 64 * KiB), 263);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 1 * MiB), 296);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 16 * MiB), 670);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 256 * MiB), 5558);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 1 * GiB), 24041);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(4, 16 * MiB), 319);
    EXPECT_DOUBLE_EQ(cost_.free_us(1, 256 * MiB), 3296);
}

TEST_F(H100Cost, InterpolatesLinearlyInSize) {
    const double mid = static_cast<double>(64 * KiB + 1 * MiB) / 2;
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, static_cast<std::uint64_t>(mid)), 263 + (296 - 263) / 2.0);
    // A quarter of the way from 16 MiB to 256 MiB.
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 16 * MiB + 60 * MiB), 670 + (5558 - 670) / 4.0);
    EXPECT_DOUBLE_EQ(cost_.free_us(1, 16 * MiB + 60 * MiB), 431 + (3296 - 431) / 4.0);
}

TEST_F(H100Cost, ClampsBelowAndScalesAbove) {
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 1), 263);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 4 * KiB), 263);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 2 * GiB), 2 * 24041);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(1, 4 * GiB), 4 * 24041);
    EXPECT_DOUBLE_EQ(cost_.free_us(1, 2 * GiB), 2 * 23310);
}

TEST_F(H100Cost, UnmeasuredTypeBorrowsTheClosestTypeOfItsHeap) {
    // Type 0 (heap 1, no flags): type 2 (heap 1, 2 flags apart) beats type 3 (3 apart).
    EXPECT_EQ(cost_.allocate_source(0), 2);
    EXPECT_EQ(cost_.allocate_source(1), 1);
    EXPECT_EQ(cost_.allocate_source(5), -1);
    EXPECT_DOUBLE_EQ(cost_.allocate_us(0, 1 * MiB), 526);
    EXPECT_EQ(cost_.allocate_us(99, 1 * MiB), 0.0);
    EXPECT_EQ(cost_.free_us(99, 1 * MiB), 0.0);
}

TEST_F(H100Cost, UnmeasuredFreeScalesAllocateByTheMeasuredRatio) {
    const double ratio = (274.0 / 263 + 293.0 / 296 + 431.0 / 670 + 3296.0 / 5558 + 23310.0 / 24041) / 5;
    EXPECT_NEAR(cost_.free_to_allocate_ratio(), ratio, 1e-12);
    EXPECT_NEAR(cost_.free_us(2, 1 * MiB), 526 * ratio, 1e-9);
    EXPECT_NEAR(cost_.free_us(4, 1 * GiB), 31381 * ratio, 1e-9);
    EXPECT_NEAR(cost_.free_us(0, 16 * MiB), 5209 * ratio, 1e-9);
}

TEST(CostModel, EmptyModelCostsNothing) {
    CostModel model;
    EXPECT_TRUE(model.empty());
    EXPECT_EQ(model.allocate_us(0, 1 << 20), 0.0);
    EXPECT_EQ(model.free_us(0, 1 << 20), 0.0);
    EXPECT_EQ(model.allocate_source(0), -1);
}

TEST(CostModel, OtherHeapIsUsedWhenTheOwnHeapHasNoMeasurement) {
    DeviceProperties props;
    props.memory_heaps = {{1 << 30, MemoryHeapFlags::device_local}, {1 << 30, MemoryHeapFlags::none}};
    props.memory_types = {{0, MemoryPropertyFlags::device_local}, {1, MemoryPropertyFlags::host_visible}};
    CostModel model = CostModel::from_measurements(props, {{{1000, 10.0}, {2000, 30.0}}}, {});
    EXPECT_EQ(model.allocate_source(1), 0);
    EXPECT_DOUBLE_EQ(model.allocate_us(1, 1500), 20.0);
    EXPECT_DOUBLE_EQ(model.free_us(1, 1500), 0.0);  // no free measurements at all
    EXPECT_DOUBLE_EQ(model.free_to_allocate_ratio(), 1.0);
}

TEST(CostModel, FreeIsBorrowedWhenNoTypeWasMeasuredBothWays) {
    DeviceProperties props;
    props.memory_heaps = {{1 << 30, MemoryHeapFlags::device_local}};
    props.memory_types = {{0, MemoryPropertyFlags::device_local},
                          {0, MemoryPropertyFlags::device_local | MemoryPropertyFlags::host_visible}};
    // Allocate measured for type 0 only, free for type 1 only: no ratio can be measured.
    CostModel model = CostModel::from_measurements(props, {{{4096, 5.0}}}, {{}, {{4096, 7.0}}});
    EXPECT_DOUBLE_EQ(model.free_us(0, 4096), 7.0);
    EXPECT_DOUBLE_EQ(model.free_us(1, 8192), 14.0);
    EXPECT_DOUBLE_EQ(model.allocate_us(1, 4096), 5.0);
}

TEST(CostModel, SinglePointCurveClampsAndScales) {
    DeviceProperties props;
    props.memory_heaps = {{1 << 30, MemoryHeapFlags::device_local}};
    props.memory_types = {{0, MemoryPropertyFlags::device_local}};
    CostModel model = CostModel::from_measurements(props, {{{1 << 20, 100.0}}}, {{{1 << 20, 50.0}}});
    EXPECT_DOUBLE_EQ(model.allocate_us(0, 1), 100.0);
    EXPECT_DOUBLE_EQ(model.allocate_us(0, 3 << 20), 300.0);
    EXPECT_DOUBLE_EQ(model.free_us(0, 2 << 20), 100.0);
}

// Every size a cost can be asked for, up to 2^64 - 1: each power of two and its
// neighbours.
std::vector<std::uint64_t> every_size_class() {
    std::vector<std::uint64_t> sizes{0, 1, 2, 3};
    for (int bit = 2; bit < 64; ++bit) {
        const std::uint64_t p = std::uint64_t{1} << bit;
        sizes.insert(sizes.end(), {p - 1, p, p + 1});
    }
    sizes.push_back(~std::uint64_t{0});
    return sizes;
}

// Whether every cost of every type (and one past the last) is finite, >= 0 and
// within CostModel::max_cost_us; the first failure is added to the test.
void expect_bounded(const CostModel& model, std::uint32_t type_count) {
    for (std::uint32_t t = 0; t <= type_count; ++t) {
        for (std::uint64_t size : every_size_class()) {
            const double a = model.allocate_us(t, size);
            const double f = model.free_us(t, size);
            const bool ok = std::isfinite(a) && a >= 0.0 && a <= CostModel::max_cost_us && std::isfinite(f) &&
                            f >= 0.0 && f <= CostModel::max_cost_us;
            if (!ok) {
                ADD_FAILURE() << "type " << t << ", size " << size << ": allocate " << a << " us, free " << f << " us";
                return;
            }
        }
    }
    EXPECT_TRUE(std::isfinite(model.free_to_allocate_ratio()));
}

DeviceProperties two_types() {
    DeviceProperties props;
    props.memory_heaps = {{1 << 24, MemoryHeapFlags::device_local}};
    props.memory_types = {{0, MemoryPropertyFlags::device_local},
                          {0, MemoryPropertyFlags::device_local | MemoryPropertyFlags::host_visible |
                                  MemoryPropertyFlags::host_coherent}};
    return props;
}

// The two profiles the fuzz target found (tests/fuzz/corpus/profile/regression-*):
// a 1e308 us measurement (extrapolated to a large size: inf) and a 1e-320 us
// allocate cost (free / allocate: inf, and 0 * inf: NaN). parse_profile refuses
// both, naming the field.
TEST(DeviceProfile, CostsThatWouldOverflowTheModelAreRefused) {
    auto measured = [](const std::string& allocate, const std::string& free) {
        std::string text = valid_profile;
        text.insert(text.rfind('}'), R"(, "measured_vkAllocateMemory_median_us": )" + allocate +
                                         R"(, "measured_vkFreeMemory_median_us": )" + free);
        return text;
    };
    EXPECT_THAT(error_of(measured(R"({ "type0": { "1": 1e308 } })", R"({ "type0": { "1": 1 } })")),
                HasSubstr("measured_vkAllocateMemory_median_us.type0.1: 1e+308 microseconds is out of range"));
    EXPECT_THAT(error_of(measured(R"({ "type0": { "1": 1 } })", R"({ "type1_x": { "1GiB": 1e308 } })")),
                HasSubstr("measured_vkFreeMemory_median_us.type1_x.1GiB: 1e+308 microseconds is out of range"));
    EXPECT_THAT(error_of(measured(R"({ "type0": { "64KiB": 1e-320 } })", R"({ "type0": { "64KiB": 1 } })")),
                HasSubstr("measured_vkAllocateMemory_median_us.type0.64KiB: "));
    EXPECT_THAT(error_of(measured(R"({ "type0": { "64KiB": 1e-320 } })", R"({ "type0": { "64KiB": 1 } })")),
                HasSubstr("microseconds is out of range (0, or 0.001 to 1e9"));
    EXPECT_THAT(error_of(measured(R"({ "type0": { "1": 1000000001 } })", R"({})")), HasSubstr("out of range"));
    EXPECT_THAT(error_of(measured(R"({ "type0": { "1": 0.0009 } })", R"({})")), HasSubstr("out of range"));

    // The bounds themselves, and 0, are accepted; the model stays finite for every size.
    auto r = parse_profile(measured(R"({ "type0": { "1": 1e9 }, "type2": { "1": 0.001 } })",
                                    R"({ "type2": { "1": 1e9 }, "type0": { "1": 0 } })"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    expect_bounded(r->cost, 3);
    EXPECT_DOUBLE_EQ(r->cost.allocate_us(0, 1), 1e9);
    EXPECT_LT(r->cost.allocate_us(0, ~std::uint64_t{0}), CostModel::max_cost_us);  // not even clamped
}

// The same inputs given to the model directly (which parse_profile would have
// refused): it bounds every cost instead of answering inf or NaN.
TEST(CostModel, EveryCostIsFiniteWhateverTheMeasurements) {
    const DeviceProperties props = two_types();
    const CostModel huge = CostModel::from_measurements(props, {{{1, 1e308}}}, {{{1, 1e308}}});
    expect_bounded(huge, 2);
    EXPECT_EQ(huge.allocate_us(0, ~std::uint64_t{0}), CostModel::max_cost_us);
    EXPECT_EQ(huge.free_us(1, ~std::uint64_t{0}), CostModel::max_cost_us);

    const CostModel tiny = CostModel::from_measurements(props, {{{65536, 1e-320}}}, {{{65536, 1.0}}});
    expect_bounded(tiny, 2);
    EXPECT_DOUBLE_EQ(tiny.free_us(0, 65536), 1.0);

    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const CostModel broken =
        CostModel::from_measurements(props, {{{1, inf}, {2, nan}}, {{4096, -5.0}}}, {{{1, nan}}, {{1, inf}}});
    expect_bounded(broken, 2);
    EXPECT_EQ(broken.allocate_us(0, 1), CostModel::max_cost_us);
    EXPECT_EQ(broken.allocate_us(1, 4096), 0.0);

    // Several huge ratios: their mean does not overflow either.
    const CostModel ratios = CostModel::from_measurements(
        props, {{{1, 1e-300}, {2, 1e-300}, {3, 1e-300}}}, {{{1, 1e300}, {2, 1e300}, {3, 1e300}}});
    expect_bounded(ratios, 2);
    EXPECT_EQ(ratios.free_to_allocate_ratio(), CostModel::max_cost_us);
}

TEST(DeviceProfile, MeasurementKeysAcceptPlainBytesAndUnits) {
    std::string text = valid_profile;
    text.insert(text.rfind('}'), R"(, "measured_vkAllocateMemory_median_us": {
        "type0": { "4096": 10, "8KiB": 20.5 } })");
    auto r = parse_profile(text);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_DOUBLE_EQ(r->cost.allocate_us(0, 6144), 15.25);
}

// -- Malformed profiles ---------------------------------------------------------

TEST(DeviceProfile, TheValidTestProfileParses) {
    auto r = parse_profile(valid_profile);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->properties.memory_types.size(), 3u);
    EXPECT_TRUE(r->extensions.empty());
    EXPECT_TRUE(r->cost.empty());
}

TEST(DeviceProfile, UnknownKeysAreIgnored) {
    auto r = parse_profile(with(R"("name": "test device",)",
                                R"("name": "test device", "source": "somewhere", "future": {"x": [1, 2]},)"));
    EXPECT_TRUE(r.has_value());
}

TEST(DeviceProfile, BadJsonIsReportedWithItsPosition) {
    EXPECT_THAT(error_of(R"({ "name": )"), HasSubstr("invalid JSON"));
    EXPECT_THAT(error_of(R"({ "name": "x", })"), HasSubstr("line 1"));
    EXPECT_THAT(error_of(""), HasSubstr("invalid JSON"));
    EXPECT_THAT(error_of("[1, 2]"), HasSubstr("must be a JSON object, got an array"));
    EXPECT_THAT(error_of("null"), HasSubstr("must be a JSON object"));
}

TEST(DeviceProfile, MissingFieldsAreNamed) {
    EXPECT_EQ(error_of(with(R"("name": "test device",)", "")), "name: missing (required)");
    EXPECT_EQ(error_of(with(R"("buffer_device_address": false)", R"("x": 0)")),
              "buffer_device_address: missing (required)");
    EXPECT_EQ(error_of(with(R"({ "heap": 0, "props": ["device_local"] })", R"({ "props": ["device_local"] })")),
              "memory_types[0].heap: missing (required)");
    EXPECT_EQ(error_of(with(R"("size": 536870912, )", "")), "memory_heaps[1].size: missing (required)");
    EXPECT_EQ(error_of(with(R"("non_coherent_atom_size": 64,)", "")), "non_coherent_atom_size: missing (required)");
}

TEST(DeviceProfile, WrongTypesAreNamed) {
    EXPECT_EQ(error_of(with(R"("heap": 0,)", R"("heap": "0",)")),
              "memory_types[0].heap: expected an unsigned integer, got a string");
    EXPECT_EQ(error_of(with(R"("size": 1073741824,)", R"("size": -1,)")),
              "memory_heaps[0].size: expected an unsigned integer, got a negative number");
    EXPECT_EQ(error_of(with(R"("max_memory_allocation_count": 4096)", R"("max_memory_allocation_count": 40.5)")),
              "max_memory_allocation_count: expected an unsigned integer, got a non-integer number");
    EXPECT_EQ(error_of(with(R"("buffer_device_address": false)", R"("buffer_device_address": 0)")),
              "buffer_device_address: expected true or false, got a number");
    EXPECT_EQ(error_of(with(R"("name": "test device")", R"("name": 7)")), "name: expected a string, got a number");
    EXPECT_THAT(error_of(with(R"("flags": ["device_local"])", R"("flags": "device_local")")),
                HasSubstr("memory_heaps[0].flags: expected an array"));
    EXPECT_THAT(error_of(with(R"("props": ["device_local"])", R"("props": [1])")),
                HasSubstr("memory_types[0].props[0]: expected a name, got a number"));
    EXPECT_EQ(error_of(with(R"("memory_types": [)", R"("memory_types": 5, "x": [)")),
              "memory_types: expected an array, got a number");
    EXPECT_THAT(error_of(with(R"({ "heap": 0, "props": ["device_local"] })", "3")),
                HasSubstr("memory_types[0]: expected an object, got a number"));
}

TEST(DeviceProfile, HeapIndexOutOfRange) {
    EXPECT_EQ(error_of(with(R"({ "heap": 1, "props": ["host_visible", "host_cached"] })",
                            R"({ "heap": 7, "props": ["host_visible", "host_cached"] })")),
              "memory_types[2].heap: 7 is out of range (2 heaps)");
}

TEST(DeviceProfile, UnknownFlagNames) {
    EXPECT_THAT(error_of(with(R"(["host_visible", "host_coherent"])", R"(["host_visible", "host_coherant"])")),
                HasSubstr(R"(memory_types[1].props[1]: unknown name "host_coherant")"));
    EXPECT_THAT(error_of(with(R"("flags": ["device_local"])", R"("flags": ["device_local", "fast"])")),
                HasSubstr(R"(memory_heaps[0].flags[1]: unknown name "fast")"));
    EXPECT_THAT(error_of(with(R"(["host_visible", "host_coherent"])", R"(["host_visible", "host_visible"])")),
                HasSubstr("repeated"));
    auto r = parse_profile(with(R"("props": ["device_local"])", R"("props": ["device_local", "protected", "lazily_allocated"])"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->properties.memory_types[0].props, MemoryPropertyFlags::device_local |
                                                       MemoryPropertyFlags::protected_memory |
                                                       MemoryPropertyFlags::lazily_allocated);
}

TEST(DeviceProfile, LimitsAreChecked) {
    EXPECT_EQ(error_of(with(R"("non_coherent_atom_size": 64)", R"("non_coherent_atom_size": 48)")),
              "non_coherent_atom_size: 48 is not a power of two");
    EXPECT_EQ(error_of(with(R"("buffer_image_granularity": 1024)", R"("buffer_image_granularity": 0)")),
              "buffer_image_granularity: 0 is not a power of two");
    EXPECT_THAT(error_of(with(R"("max_memory_allocation_count": 4096)", R"("max_memory_allocation_count": 0)")),
                HasSubstr("max_memory_allocation_count: 0 is out of range"));
    EXPECT_THAT(
        error_of(with(R"("max_memory_allocation_count": 4096)", R"("max_memory_allocation_count": 4294967296)")),
        HasSubstr("out of range"));
    EXPECT_EQ(error_of(with(R"("max_memory_allocation_size": 1073741824)", R"("max_memory_allocation_size": 0)")),
              "max_memory_allocation_size: must be > 0");
    EXPECT_EQ(error_of(with(R"("size": 1073741824,)", R"("size": 0,)")), "memory_heaps[0].size: must be > 0");
}

TEST(DeviceProfile, CountsAreChecked) {
    EXPECT_EQ(error_of(with(R"("memory_heaps": [)", R"("memory_heaps": [], "x": [)")),
              "memory_heaps: 0 heaps, expected 1 to 16");
    std::string types;
    for (int i = 0; i < 33; ++i) types += std::string(i ? "," : "") + R"({ "heap": 0, "props": [] })";
    EXPECT_EQ(error_of(with(R"({ "heap": 0, "props": ["device_local"] },)", types + ",")),
              "memory_types: 35 types, expected 1 to 32");
}

TEST(DeviceProfile, MalformedMeasurementsAreNamed) {
    auto measured = [](const std::string& table) {
        std::string text = valid_profile;
        text.insert(text.rfind('}'), R"(, "measured_vkAllocateMemory_median_us": )" + table);
        return text;
    };
    EXPECT_THAT(error_of(measured(R"({ "typeX": { "1MiB": 1 } })")), HasSubstr("typeX: expected a key"));
    EXPECT_THAT(error_of(measured(R"({ "type9_x": { "1MiB": 1 } })")),
                HasSubstr("memory type 9 is out of range (3 types)"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "1MB": 1 } })")),
                HasSubstr("measured_vkAllocateMemory_median_us.type1.1MB: expected a size"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "1MiB": "fast" } })")),
                HasSubstr("expected a number of microseconds, got a string"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "1MiB": -3 } })")), HasSubstr("not a duration"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "1MiB": 1, "1024KiB": 2 } })")), HasSubstr("measured twice"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "1MiB": 1 }, "type1_again": { "1MiB": 1 } })")),
                HasSubstr("measured twice"));
    EXPECT_THAT(error_of(measured(R"({ "type1": {} })")), HasSubstr("no measurements"));
    EXPECT_THAT(error_of(measured(R"([1])")), HasSubstr("expected an object, got an array"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "99999999999999999999GiB": 1 } })")), HasSubstr("expected a size"));
    EXPECT_THAT(error_of(measured(R"({ "type1": { "0": 1 } })")), HasSubstr("expected a size"));
}

TEST(DeviceProfile, LoadReportsUnreadableFiles) {
    auto r = load_profile("/nonexistent/profile.json");
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/profile.json: cannot open"));
}

// Every prefix and thousands of random byte changes of a real profile: each must
// either parse into valid properties or give an error, never abort.
TEST(DeviceProfile, DamagedProfilesNeverAbort) {
    const std::string text = read_text(profile_path("nvidia-h100-vulkan.json"));
    ASSERT_FALSE(text.empty());
    // Every prefix that stops before the closing brace is an incomplete object.
    const std::size_t end = text.rfind('}');
    std::size_t errors = 0;
    for (std::size_t n = 0; n < end; ++n) {
        auto r = parse_profile(std::string_view(text).substr(0, n));
        if (r.has_value()) EXPECT_TRUE(is_valid(r->properties));
        else errors += !r.error().message.empty();
    }
    EXPECT_EQ(errors, end);

    std::mt19937_64 rng(1234);
    const char replacements[] = "{}[]\",:-0123456789.eEtruefalsnl \\x\x01\xff";
    for (int i = 0; i < 3000; ++i) {
        std::string damaged = text;
        const int changes = 1 + static_cast<int>(rng() % 3);
        for (int c = 0; c < changes; ++c)
            damaged[rng() % damaged.size()] = replacements[rng() % (sizeof replacements - 1)];
        auto r = parse_profile(damaged);
        if (r.has_value()) EXPECT_TRUE(is_valid(r->properties));
        else EXPECT_FALSE(r.error().message.empty());
    }
}

}  // namespace
}  // namespace gpu_alloc::mock
