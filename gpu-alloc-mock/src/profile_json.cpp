// The device-profile loader and the driver cost model (device_profile.hpp).
//
// Built without exceptions: nlohmann::json is used with JSON_NOEXCEPTION, where
// anything that would throw aborts instead. So the JSON is parsed with
// allow_exceptions = false, and every value's type is checked before it is read;
// nothing here calls at(), get<T>() on an unchecked value, or dump() on a string.
// Syntax errors are located by a second, SAX-only pass that records the
// parser's own message.
#include <gpu_alloc/mock/device_profile.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

namespace gpu_alloc::mock {

namespace detail {
namespace {

using nlohmann::json;

// -- JSON syntax errors ------------------------------------------------------

// A SAX consumer that accepts everything and keeps the first parse error.
struct SyntaxErrorCatcher {
    std::string message;

    bool null() { return true; }
    bool boolean(bool) { return true; }
    bool number_integer(json::number_integer_t) { return true; }
    bool number_unsigned(json::number_unsigned_t) { return true; }
    bool number_float(json::number_float_t, const json::string_t&) { return true; }
    bool string(json::string_t&) { return true; }
    bool binary(json::binary_t&) { return true; }
    bool start_object(std::size_t) { return true; }
    bool key(json::string_t&) { return true; }
    bool end_object() { return true; }
    bool start_array(std::size_t) { return true; }
    bool end_array() { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
        if (message.empty()) message = ex.what();
        return false;
    }
};

std::string syntax_error_message(std::string_view text) {
    SyntaxErrorCatcher catcher;
    json::sax_parse(text.begin(), text.end(), &catcher);
    if (catcher.message.empty()) return "invalid JSON";
    return "invalid JSON: " + catcher.message;
}

// -- Checked field access ----------------------------------------------------

Unexpected<ProfileError> fail(std::string message) { return unexpected(ProfileError{std::move(message)}); }

// How a value's type reads in a message: "a string", "a negative number", ...
std::string describe(const json& value) {
    if (value.is_number_integer() && !value.is_number_unsigned()) return "a negative number";
    if (value.is_number_float()) return "a non-integer number";
    std::string type = value.type_name();
    const bool vowel = !type.empty() && std::strchr("aeiou", type[0]) != nullptr;
    return (vowel ? "an " : "a ") + type;
}

std::string join_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t i) {
    return parent + "[" + std::to_string(i) + "]";
}

// The member `key` of `object`, or an error "<path>: missing".
Result<const json*, ProfileError> required(const json& object, const std::string& parent, std::string_view key) {
    auto it = object.find(key);
    if (it == object.end()) return fail(join_path(parent, key) + ": missing (required)");
    return &*it;
}

Result<std::uint64_t, ProfileError> read_unsigned(const json& value, const std::string& path) {
    if (!value.is_number_unsigned())
        return fail(path + ": expected an unsigned integer, got " + describe(value));
    return value.get<std::uint64_t>();
}

Result<std::uint64_t, ProfileError> read_power_of_two(const json& value, const std::string& path) {
    auto v = read_unsigned(value, path);
    if (!v) return v;
    if (!std::has_single_bit(*v)) return fail(path + ": " + std::to_string(*v) + " is not a power of two");
    return *v;
}

Result<bool, ProfileError> read_bool(const json& value, const std::string& path) {
    if (!value.is_boolean()) return fail(path + ": expected true or false, got " + describe(value));
    return value.get<bool>();
}

Result<std::string, ProfileError> read_string(const json& value, const std::string& path) {
    if (!value.is_string()) return fail(path + ": expected a string, got " + describe(value));
    return value.get<std::string>();
}

// Reads an array of flag names into a bit set, given the names of bits 0, 1, ...
template <class Flags, std::size_t N>
Result<Flags, ProfileError> read_flags(const json& value, const std::string& path,
                                       const std::string_view (&names)[N]) {
    if (!value.is_array()) return fail(path + ": expected an array of names, got " + describe(value));
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const json& item = value[i];
        const std::string item_path = index_path(path, i);
        if (!item.is_string()) return fail(item_path + ": expected a name, got " + describe(item));
        const std::string& name = item.get_ref<const std::string&>();
        std::size_t bit = N;
        for (std::size_t b = 0; b < N; ++b)
            if (names[b] == name) bit = b;
        if (bit == N) {
            std::string known;
            for (std::string_view n : names) known += (known.empty() ? "" : ", ") + std::string(n);
            return fail(item_path + ": unknown name \"" + name + "\" (known: " + known + ")");
        }
        if (bits & (1u << bit)) return fail(item_path + ": \"" + name + "\" is repeated");
        bits |= 1u << bit;
    }
    return static_cast<Flags>(bits);
}

constexpr std::string_view heap_flag_names[] = {"device_local", "multi_instance"};
constexpr std::string_view property_names[] = {"device_local", "host_visible",     "host_coherent",
                                               "host_cached",  "lazily_allocated", "protected"};

// -- Properties ----------------------------------------------------------------

Result<std::vector<MemoryHeap>, ProfileError> read_heaps(const json& root) {
    auto field = required(root, "", "memory_heaps");
    if (!field) return unexpected(field.error());
    const json& heaps = **field;
    if (!heaps.is_array()) return fail("memory_heaps: expected an array, got " + describe(heaps));
    if (heaps.empty() || heaps.size() > max_memory_heaps)
        return fail("memory_heaps: " + std::to_string(heaps.size()) + " heaps, expected 1 to " +
                    std::to_string(max_memory_heaps));
    std::vector<MemoryHeap> out;
    for (std::size_t i = 0; i < heaps.size(); ++i) {
        const std::string path = index_path("memory_heaps", i);
        const json& heap = heaps[i];
        if (!heap.is_object()) return fail(path + ": expected an object, got " + describe(heap));
        auto size_field = required(heap, path, "size");
        if (!size_field) return unexpected(size_field.error());
        auto size = read_unsigned(**size_field, path + ".size");
        if (!size) return unexpected(size.error());
        if (*size == 0) return fail(path + ".size: must be > 0");
        auto flags_field = required(heap, path, "flags");
        if (!flags_field) return unexpected(flags_field.error());
        auto flags = read_flags<MemoryHeapFlags>(**flags_field, path + ".flags", heap_flag_names);
        if (!flags) return unexpected(flags.error());
        out.push_back(MemoryHeap{*size, *flags});
    }
    return out;
}

Result<std::vector<MemoryType>, ProfileError> read_types(const json& root, std::size_t heap_count) {
    auto field = required(root, "", "memory_types");
    if (!field) return unexpected(field.error());
    const json& types = **field;
    if (!types.is_array()) return fail("memory_types: expected an array, got " + describe(types));
    if (types.empty() || types.size() > max_memory_types)
        return fail("memory_types: " + std::to_string(types.size()) + " types, expected 1 to " +
                    std::to_string(max_memory_types));
    std::vector<MemoryType> out;
    for (std::size_t i = 0; i < types.size(); ++i) {
        const std::string path = index_path("memory_types", i);
        const json& type = types[i];
        if (!type.is_object()) return fail(path + ": expected an object, got " + describe(type));
        auto heap_field = required(type, path, "heap");
        if (!heap_field) return unexpected(heap_field.error());
        auto heap = read_unsigned(**heap_field, path + ".heap");
        if (!heap) return unexpected(heap.error());
        if (*heap >= heap_count)
            return fail(path + ".heap: " + std::to_string(*heap) + " is out of range (" +
                        std::to_string(heap_count) + (heap_count == 1 ? " heap)" : " heaps)"));
        auto props_field = required(type, path, "props");
        if (!props_field) return unexpected(props_field.error());
        auto props = read_flags<MemoryPropertyFlags>(**props_field, path + ".props", property_names);
        if (!props) return unexpected(props.error());
        out.push_back(MemoryType{static_cast<std::uint32_t>(*heap), *props});
    }
    return out;
}

Result<DeviceProperties, ProfileError> read_properties(const json& root) {
    DeviceProperties props;
    auto heaps = read_heaps(root);
    if (!heaps) return unexpected(heaps.error());
    props.memory_heaps = std::move(*heaps);
    auto types = read_types(root, props.memory_heaps.size());
    if (!types) return unexpected(types.error());
    props.memory_types = std::move(*types);

    auto count_field = required(root, "", "max_memory_allocation_count");
    if (!count_field) return unexpected(count_field.error());
    auto count = read_unsigned(**count_field, "max_memory_allocation_count");
    if (!count) return unexpected(count.error());
    if (*count == 0 || *count > std::numeric_limits<std::uint32_t>::max())
        return fail("max_memory_allocation_count: " + std::to_string(*count) + " is out of range (1 to 4294967295)");
    props.max_memory_allocation_count = static_cast<std::uint32_t>(*count);

    auto size_field = required(root, "", "max_memory_allocation_size");
    if (!size_field) return unexpected(size_field.error());
    auto max_size = read_unsigned(**size_field, "max_memory_allocation_size");
    if (!max_size) return unexpected(max_size.error());
    if (*max_size == 0) return fail("max_memory_allocation_size: must be > 0");
    props.max_memory_allocation_size = *max_size;

    auto atom_field = required(root, "", "non_coherent_atom_size");
    if (!atom_field) return unexpected(atom_field.error());
    auto atom = read_power_of_two(**atom_field, "non_coherent_atom_size");
    if (!atom) return unexpected(atom.error());
    props.non_coherent_atom_size = *atom;

    auto granularity_field = required(root, "", "buffer_image_granularity");
    if (!granularity_field) return unexpected(granularity_field.error());
    auto granularity = read_power_of_two(**granularity_field, "buffer_image_granularity");
    if (!granularity) return unexpected(granularity.error());
    props.buffer_image_granularity = *granularity;

    auto bda_field = required(root, "", "buffer_device_address");
    if (!bda_field) return unexpected(bda_field.error());
    auto bda = read_bool(**bda_field, "buffer_device_address");
    if (!bda) return unexpected(bda.error());
    props.buffer_device_address = *bda;

    if (!is_valid(props)) return fail("the properties do not satisfy gpu_alloc::is_valid()");
    return props;
}

// -- Measurements ----------------------------------------------------------------

// "type1_device_local" -> 1. Accepts "type<digits>" alone or followed by '_' and a label.
bool parse_type_key(std::string_view key, std::uint64_t& index) {
    constexpr std::string_view prefix = "type";
    if (key.substr(0, prefix.size()) != prefix) return false;
    std::size_t i = prefix.size();
    if (i == key.size()) return false;
    index = 0;
    for (; i < key.size() && key[i] >= '0' && key[i] <= '9'; ++i) {
        if (index > 1000) return false;  // far beyond max_memory_types; stops overflow
        index = index * 10 + static_cast<std::uint64_t>(key[i] - '0');
    }
    if (i == prefix.size()) return false;
    return i == key.size() || key[i] == '_';
}

// "64KiB" -> 65536. Plain digits are bytes; units B, KiB, MiB, GiB, TiB.
bool parse_size_key(std::string_view key, std::uint64_t& bytes) {
    std::size_t i = 0;
    std::uint64_t value = 0;
    for (; i < key.size() && key[i] >= '0' && key[i] <= '9'; ++i) {
        const auto digit = static_cast<std::uint64_t>(key[i] - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
        value = value * 10 + digit;
    }
    if (i == 0) return false;
    const std::string_view unit = key.substr(i);
    unsigned shift = 0;
    if (unit.empty() || unit == "B") shift = 0;
    else if (unit == "KiB") shift = 10;
    else if (unit == "MiB") shift = 20;
    else if (unit == "GiB") shift = 30;
    else if (unit == "TiB") shift = 40;
    else return false;
    if (value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return false;
    bytes = value << shift;
    return bytes > 0;
}

// Reads one "measured_..._median_us" table into per-type points (empty when absent).
Result<std::vector<std::vector<CostPoint>>, ProfileError> read_measurements(const json& root, std::string_view key,
                                                                            std::size_t type_count) {
    std::vector<std::vector<CostPoint>> out(type_count);
    auto it = root.find(key);
    if (it == root.end()) return out;
    const std::string table_path(key);
    if (!it->is_object()) return fail(table_path + ": expected an object, got " + describe(*it));
    for (auto type_it = it->begin(); type_it != it->end(); ++type_it) {
        const std::string type_path = table_path + "." + type_it.key();
        std::uint64_t type = 0;
        if (!parse_type_key(type_it.key(), type))
            return fail(type_path + ": expected a key \"type<N>\" or \"type<N>_<label>\"");
        if (type >= type_count)
            return fail(type_path + ": memory type " + std::to_string(type) + " is out of range (" +
                        std::to_string(type_count) + " types)");
        if (!out[type].empty())
            return fail(type_path + ": memory type " + std::to_string(type) + " is measured twice");
        const json& points = type_it.value();
        if (!points.is_object()) return fail(type_path + ": expected an object, got " + describe(points));
        if (points.empty()) return fail(type_path + ": no measurements");
        for (auto point_it = points.begin(); point_it != points.end(); ++point_it) {
            const std::string point_path = type_path + "." + point_it.key();
            std::uint64_t size = 0;
            if (!parse_size_key(point_it.key(), size))
                return fail(point_path + ": expected a size such as \"64KiB\", \"1MiB\", \"1GiB\" or bytes");
            const json& us = point_it.value();
            if (!us.is_number()) return fail(point_path + ": expected a number of microseconds, got " + describe(us));
            const double value = us.get<double>();
            if (!std::isfinite(value) || value < 0.0)
                return fail(point_path + ": " + us.dump() + " is not a duration (finite, >= 0)");
            // Bounds that keep every modeled cost finite (CostModel): a huge cost
            // extrapolated to a huge size, or a free/allocate ratio over a
            // subnormal allocate cost, would overflow.
            if (value > CostModel::max_measured_us || (value != 0.0 && value < CostModel::min_measured_us))
                return fail(point_path + ": " + us.dump() +
                            " microseconds is out of range (0, or 0.001 to 1e9: a nanosecond to about 17 minutes)");
            for (const CostPoint& p : out[type])
                if (p.size == size) return fail(point_path + ": size " + std::to_string(size) + " is measured twice");
            out[type].push_back(CostPoint{size, value});
        }
    }
    return out;
}

}  // namespace
}  // namespace detail

// -- Loading -------------------------------------------------------------------------------

Result<DeviceProfile, ProfileError> parse_profile(std::string_view json_text) {
    using nlohmann::json;
    const json root = json::parse(json_text.begin(), json_text.end(), nullptr, false);
    if (root.is_discarded()) return detail::fail(detail::syntax_error_message(json_text));
    if (!root.is_object()) return detail::fail("the profile must be a JSON object, got " + detail::describe(root));

    DeviceProfile profile;
    auto name_field = detail::required(root, "", "name");
    if (!name_field) return unexpected(name_field.error());
    auto name = detail::read_string(**name_field, "name");
    if (!name) return unexpected(name.error());
    if (name->empty()) return detail::fail("name: must not be empty");
    profile.name = std::move(*name);

    auto props = detail::read_properties(root);
    if (!props) return unexpected(props.error());
    profile.properties = std::move(*props);

    if (auto it = root.find("extensions"); it != root.end()) {
        if (!it->is_array()) return detail::fail("extensions: expected an array of strings, got " + detail::describe(*it));
        for (std::size_t i = 0; i < it->size(); ++i) {
            auto ext = detail::read_string((*it)[i], detail::index_path("extensions", i));
            if (!ext) return unexpected(ext.error());
            profile.extensions.push_back(std::move(*ext));
        }
    }

    const std::size_t type_count = profile.properties.memory_types.size();
    auto allocate = detail::read_measurements(root, "measured_vkAllocateMemory_median_us", type_count);
    if (!allocate) return unexpected(allocate.error());
    auto free = detail::read_measurements(root, "measured_vkFreeMemory_median_us", type_count);
    if (!free) return unexpected(free.error());
    profile.cost = CostModel::from_measurements(profile.properties, std::move(*allocate), std::move(*free));
    return profile;
}

Result<DeviceProfile, ProfileError> load_profile(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return detail::fail(path + ": cannot open: " + std::strerror(errno));
    std::string text;
    char buffer[1 << 14];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
    const bool read_failed = std::ferror(file) != 0;
    std::fclose(file);
    if (read_failed) return detail::fail(path + ": cannot read");
    auto profile = parse_profile(text);
    if (!profile) return detail::fail(path + ": " + profile.error().message);
    return profile;
}

}  // namespace gpu_alloc::mock
