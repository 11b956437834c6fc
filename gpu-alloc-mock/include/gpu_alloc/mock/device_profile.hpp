// Device profiles: the memory of a real device, read off it once and stored as
// JSON (data/profiles/*.json), so that tests, benchmarks and the trace replay
// tool can run on "an H100" or "lavapipe" without that device.
//
// A profile holds the DeviceProperties a backend adapter would report, the
// device's extensions, and, where they were measured, the driver's cost of
// creating and destroying memory objects (CostModel). The loader is strict: a
// profile with a missing field, a value of the wrong type, a heap index out of
// range, an unknown flag name or a limit that is not a power of two is refused
// with a message naming the field, never guessed at. Keys it does not know
// ("source", "notes", "resource_requirements", ...) are ignored.
//
// The JSON format (see data/profiles/nvidia-h100-vulkan.json):
//
//   {
//     "name": "NVIDIA H100 80GB HBM3",                          required, string
//     "memory_heaps": [ { "size": 85520809984,                  required, 1..16 heaps
//                         "flags": ["device_local"] } ],        device_local, multi_instance
//     "memory_types": [ { "heap": 0,                            required, 1..32 types
//                         "props": ["device_local"] } ],        device_local, host_visible,
//                                                               host_coherent, host_cached,
//                                                               lazily_allocated, protected
//     "max_memory_allocation_count": 4096,                      required, 1..2^32-1
//     "max_memory_allocation_size": 4292870144,                 required, > 0
//     "non_coherent_atom_size": 64,                             required, power of two
//     "buffer_image_granularity": 1024,                         required, power of two
//     "buffer_device_address": true,                            required, bool
//     "extensions": ["VK_EXT_memory_budget"],                   optional, strings
//     "measured_vkAllocateMemory_median_us": {                  optional, see CostModel;
//         "type1_device_local": { "64KiB": 263, "1MiB": 296 } },  microseconds: 0, or
//                                                               0.001 (1 ns) to 1e9 (~17 min)
//     "measured_vkFreeMemory_median_us": { ... }                optional, same shape
//   }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::mock {

/// Why a profile was refused: what is wrong and where, e.g.
/// "memory_types[2].heap: 7 is out of range (2 heaps)".
struct ProfileError {
    std::string message;
};

/// One measured point of a cost curve: creating (or destroying) an object of
/// `size` bytes took `us` microseconds (median).
struct CostPoint {
    std::uint64_t size = 0;  ///< bytes, > 0
    double us = 0.0;         ///< microseconds, >= 0

    friend bool operator==(const CostPoint&, const CostPoint&) = default;
};

/// The modeled driver cost of vkAllocateMemory / vkFreeMemory (or their
/// equivalents) per memory type and object size, built from a profile's
/// measurements.
///
/// Between two measured sizes the cost is interpolated linearly in size; below
/// the smallest measured size it is that size's cost (creating any object has a
/// fixed cost); above the largest it grows in proportion to size
/// (cost(largest) * size / largest: large objects cost per page).
///
/// Memory types without their own measurements borrow a curve:
/// - allocate: the measured type on the same heap whose property flags differ
///   from this type's in the fewest bits (lowest index on a tie); if no type of
///   that heap was measured, the measured type on any heap chosen the same way.
///   On the H100 profile, type 0 (heap 1, no flags) borrows type 2 (heap 1,
///   host_visible|host_coherent: 2 bits apart, against 3 for type 3).
/// - free: the type's allocate cost (own or borrowed) times free_to_allocate_ratio(),
///   the mean of free(s) / allocate(s) over every measured free point s of the
///   types measured both ways. If no type was measured both ways, the free curve
///   is borrowed like the allocate curve, from the types with free measurements.
///
/// A model without any measurement is empty(): every cost is 0.
///
/// Every cost it answers is finite, >= 0 and at most max_cost_us, for every
/// size up to 2^64 - 1 (so a sum of costs over any number of calls stays
/// finite too). A profile's measurements, limited to [min_measured_us,
/// max_measured_us] by parse_profile, never reach that bound; the model clamps
/// what would exceed it (a curve given to from_measurements directly, an
/// extrapolation, a free/allocate ratio over a tiny allocate cost).
class CostModel {
public:
    /// The smallest non-zero measured cost a profile may give: a nanosecond.
    static constexpr double min_measured_us = 1e-3;
    /// The largest measured cost a profile may give: 1e9 us, about 17 minutes.
    static constexpr double max_measured_us = 1e9;
    /// The most any modeled cost can be (about 3e16 years).
    static constexpr double max_cost_us = 1e30;

    /// The empty model: every cost is 0.
    CostModel() = default;

    /// Builds a model for `memory_type_count` memory types of `props`.
    /// `allocate[i]` / `free[i]` are the measured points of memory type i, in any
    /// order (an empty vector: not measured); the vectors may be shorter than the
    /// type count (the missing types are unmeasured).
    /// Requires: is_valid(props); every size > 0 and distinct within a type; at
    /// most props.memory_types.size() entries each. (parse_profile checks all of
    /// this before it calls here.) A cost that is not finite or outside
    /// [0, max_cost_us] is clamped into it (NaN counts as 0).
    static CostModel from_measurements(const DeviceProperties& props,
                                       std::vector<std::vector<CostPoint>> allocate,
                                       std::vector<std::vector<CostPoint>> free);

    /// Modeled microseconds to create an object of `size` bytes of `memory_type`.
    /// Returns 0 when empty() or when memory_type is out of range.
    double allocate_us(std::uint32_t memory_type, std::uint64_t size) const noexcept;
    /// Modeled microseconds to destroy such an object. Returns 0 when empty() or
    /// when memory_type is out of range.
    double free_us(std::uint32_t memory_type, std::uint64_t size) const noexcept;
    /// True when the profile had no measurements.
    bool empty() const noexcept { return allocate_curves_.empty() && free_curves_.empty(); }

    /// The measured type whose allocate curve `memory_type` uses (itself when it was
    /// measured), or -1 when there is none (empty model, index out of range).
    int allocate_source(std::uint32_t memory_type) const noexcept;
    /// The scale applied to allocate costs for types without free measurements
    /// (see the class comment); 1.0 when no type was measured both ways.
    double free_to_allocate_ratio() const noexcept { return free_ratio_; }

private:
    // Per memory type, the (sorted) curve it uses; empty when the model has no
    // allocate (free) measurements at all.
    std::vector<std::vector<CostPoint>> allocate_curves_;
    std::vector<std::vector<CostPoint>> free_curves_;
    // Per memory type: true when its free cost is allocate_us * free_ratio_.
    std::vector<bool> free_from_allocate_;
    std::vector<int> allocate_source_;
    double free_ratio_ = 1.0;
};

/// A device as read off real hardware.
struct DeviceProfile {
    std::string name;                     ///< e.g. "NVIDIA H100 80GB HBM3"
    DeviceProperties properties;          ///< satisfies gpu_alloc::is_valid()
    std::vector<std::string> extensions;  ///< e.g. "VK_EXT_memory_budget"
    CostModel cost;                       ///< empty when nothing was measured
};

/// Parses a profile from JSON text (format at the top of this file).
/// Returns: the profile; its properties satisfy is_valid(), and its cost model
/// answers finite costs (see CostModel).
/// Errors: ProfileError naming the field and the problem, for malformed JSON, a
/// missing required field, a value of the wrong type or out of range, an unknown
/// flag or property name, a limit that is not a power of two, a malformed
/// measurement key ("type<N>_...", sizes "64KiB", "1MiB", "16MiB", "1GiB", or
/// plain bytes), a measured cost that is negative, not finite, or neither 0 nor
/// within [CostModel::min_measured_us, CostModel::max_measured_us] (such as
/// 1e308, or 1e-320). Never aborts, whatever the input.
Result<DeviceProfile, ProfileError> parse_profile(std::string_view json_text);

/// Reads the file at `path` and parses it with parse_profile.
/// Errors: ProfileError "<path>: cannot open: <reason>" when the file cannot be
/// read, or the parse error prefixed with "<path>: ".
Result<DeviceProfile, ProfileError> load_profile(const std::string& path);

}  // namespace gpu_alloc::mock
