// The JSON dump (schema in docs/json-schema.md). Written into a string with
// std::to_chars, so neither the stream's locale nor its format flags (std::hex,
// a thousands separator) change a number, and then written to the stream at once.
// Strings are escaped and made valid UTF-8: a byte that does not start or
// continue a well-formed sequence becomes U+FFFD.
#include <gpu_alloc/json_dump.hpp>

#include <charconv>
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>

namespace gpu_alloc {
namespace {

class Json {
public:
    Json& raw(std::string_view s) {
        out_ += s;
        return *this;
    }
    Json& num(std::uint64_t v) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, r.ptr);
        return *this;
    }
    Json& boolean(bool v) { return raw(v ? "true" : "false"); }
    Json& str(std::string_view s) {
        out_ += '"';
        for (std::size_t i = 0; i < s.size();) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x80) {
                escape_ascii(static_cast<char>(c));
                ++i;
                continue;
            }
            const std::size_t n = utf8_length(s, i);
            if (n == 0) {
                out_ += "\xEF\xBF\xBD";  // U+FFFD
                ++i;
            } else {
                out_.append(s.substr(i, n));
                i += n;
            }
        }
        out_ += '"';
        return *this;
    }
    const std::string& text() const noexcept { return out_; }

private:
    void escape_ascii(char c) {
        switch (c) {
            case '"': out_ += "\\\""; return;
            case '\\': out_ += "\\\\"; return;
            case '\n': out_ += "\\n"; return;
            case '\r': out_ += "\\r"; return;
            case '\t': out_ += "\\t"; return;
            default: break;
        }
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out_ += buf;
        } else {
            out_ += c;
        }
    }
    /// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
    /// forms, no surrogates, at most U+10FFFF), or 0.
    static std::size_t utf8_length(std::string_view s, std::size_t i) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
        else if (b0 >= 0xE0 && b0 <= 0xEF) {
            n = 3;
            if (b0 == 0xE0) lo = 0xA0;
            if (b0 == 0xED) hi = 0x9F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            n = 4;
            if (b0 == 0xF0) lo = 0x90;
            if (b0 == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (i + n > s.size()) return 0;
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            const unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
            if (b < min || b > max) return 0;
        }
        return n;
    }
    std::string out_;
};

void write_stats(Json& j, const MemoryStats& s) {
    j.raw("{\"device_objects\":").num(s.device_objects).raw(",\"reserved_bytes\":").num(s.reserved_bytes);
    j.raw(",\"used_bytes\":").num(s.used_bytes).raw(",\"requested_bytes\":").num(s.requested_bytes);
    j.raw(",\"block_count\":").num(s.block_count).raw(",\"largest_free_range\":").num(s.largest_free_range);
    j.raw(",\"peak_device_objects\":").num(s.peak_device_objects).raw(",\"peak_reserved_bytes\":").num(s.peak_reserved_bytes);
    j.raw(",\"device_allocations\":").num(s.device_allocations).raw(",\"device_frees\":").num(s.device_frees).raw("}");
}

const char* kind_name(ResourceKind k) {
    switch (k) {
        case ResourceKind::linear: return "linear";
        case ResourceKind::optimal: return "optimal";
        case ResourceKind::unknown: return "unknown";
    }
    return "unknown";
}

}  // namespace

void write_allocator_json(std::ostream& out, const DeviceProperties& props, const Config& config,
                          const Statistics& stats, const AllocatorSnapshot& snapshot) {
    Json j;
    j.raw("{\"schema\":\"gpu_alloc.dump\",\"version\":1,\"device\":{\"memory_heaps\":[");
    for (std::size_t h = 0; h < props.memory_heaps.size(); ++h) {
        if (h) j.raw(",");
        j.raw("{\"size\":").num(props.memory_heaps[h].size).raw(",\"flags\":").str(to_string(props.memory_heaps[h].flags)).raw("}");
    }
    j.raw("],\"memory_types\":[");
    for (std::size_t t = 0; t < props.memory_types.size(); ++t) {
        if (t) j.raw(",");
        j.raw("{\"heap\":").num(props.memory_types[t].heap).raw(",\"props\":").str(to_string(props.memory_types[t].props)).raw("}");
    }
    j.raw("],\"max_memory_allocation_count\":").num(props.max_memory_allocation_count);
    j.raw(",\"max_memory_allocation_size\":").num(props.max_memory_allocation_size);
    j.raw(",\"non_coherent_atom_size\":").num(props.non_coherent_atom_size);
    j.raw(",\"buffer_image_granularity\":").num(props.buffer_image_granularity).raw("},");
    j.raw("\"config\":{\"max_chunk_size\":").num(config.max_chunk_size).raw(",\"min_chunk_size\":").num(config.min_chunk_size);
    j.raw(",\"dedicated_threshold\":").num(config.dedicated_threshold).raw(",\"slab_max_size\":").num(config.slab_max_size);
    j.raw(",\"linear_max_size\":").num(config.linear_max_size).raw(",\"spare_chunks\":").num(config.spare_chunks).raw("},");
    j.raw("\"total\":");
    write_stats(j, stats.total);
    j.raw(",\"heaps\":[");
    for (std::size_t h = 0; h < stats.heaps.size(); ++h) {
        if (h) j.raw(",");
        write_stats(j, stats.heaps[h]);
    }
    j.raw("],\"memory_types\":[");
    for (std::size_t t = 0; t < stats.memory_types.size(); ++t) {
        if (t) j.raw(",");
        write_stats(j, stats.memory_types[t]);
    }
    j.raw("],\"blocks_tracked\":").boolean(snapshot.blocks_tracked).raw(",\"chunks\":[");
    for (std::size_t i = 0; i < snapshot.chunks.size(); ++i) {
        const ChunkSnapshot& c = snapshot.chunks[i];
        if (i) j.raw(",");
        j.raw("{\"id\":").num(c.id).raw(",\"memory_type\":").num(c.memory_type).raw(",\"heap\":").num(c.heap);
        j.raw(",\"size\":").num(c.size).raw(",\"strategy\":").str(to_string(c.strategy)).raw(",\"used_bytes\":").num(c.used_bytes);
        j.raw(",\"block_count\":").num(c.block_count).raw(",\"largest_free_range\":").num(c.largest_free_range);
        j.raw(",\"mapped\":").boolean(c.mapped).raw(",\"imported\":").boolean(c.imported).raw(",\"blocks\":[");
        for (std::size_t b = 0; b < c.blocks.size(); ++b) {
            const BlockSnapshot& blk = c.blocks[b];
            if (b) j.raw(",");
            j.raw("{\"offset\":").num(blk.offset).raw(",\"size\":").num(blk.size).raw(",\"usage\":").str(to_string(blk.usage));
            j.raw(",\"kind\":\"").raw(kind_name(blk.kind)).raw("\",\"name\":").str(blk.name).raw("}");
        }
        j.raw("]}");
    }
    j.raw("]}");
    out.write(j.text().data(), static_cast<std::streamsize>(j.text().size()));
}

}  // namespace gpu_alloc
