#include <gpu_alloc/json_dump.hpp>

#include <cstdio>
#include <string_view>

namespace gpu_alloc {
namespace {

void write_string(std::ostream& out, std::string_view s) {
    out << '"';
    for (char c : s) {
        switch (c) {
            case '"': out << "\\\""; break;
            case '\\': out << "\\\\"; break;
            case '\n': out << "\\n"; break;
            case '\r': out << "\\r"; break;
            case '\t': out << "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out << buf;
                } else {
                    out << c;
                }
        }
    }
    out << '"';
}

void write_stats(std::ostream& out, const MemoryStats& s) {
    out << "{\"device_objects\":" << s.device_objects << ",\"reserved_bytes\":" << s.reserved_bytes
        << ",\"used_bytes\":" << s.used_bytes << ",\"requested_bytes\":" << s.requested_bytes
        << ",\"block_count\":" << s.block_count << ",\"largest_free_range\":" << s.largest_free_range
        << ",\"peak_device_objects\":" << s.peak_device_objects << ",\"peak_reserved_bytes\":" << s.peak_reserved_bytes
        << ",\"device_allocations\":" << s.device_allocations << ",\"device_frees\":" << s.device_frees << '}';
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
    out << "{\"schema\":\"gpu_alloc.dump\",\"version\":1,\"device\":{\"memory_heaps\":[";
    for (std::size_t h = 0; h < props.memory_heaps.size(); ++h) {
        if (h) out << ',';
        out << "{\"size\":" << props.memory_heaps[h].size << ",\"flags\":";
        write_string(out, to_string(props.memory_heaps[h].flags));
        out << '}';
    }
    out << "],\"memory_types\":[";
    for (std::size_t t = 0; t < props.memory_types.size(); ++t) {
        if (t) out << ',';
        out << "{\"heap\":" << props.memory_types[t].heap << ",\"props\":";
        write_string(out, to_string(props.memory_types[t].props));
        out << '}';
    }
    out << "],\"max_memory_allocation_count\":" << props.max_memory_allocation_count
        << ",\"max_memory_allocation_size\":" << props.max_memory_allocation_size
        << ",\"non_coherent_atom_size\":" << props.non_coherent_atom_size
        << ",\"buffer_image_granularity\":" << props.buffer_image_granularity << "},";
    out << "\"config\":{\"max_chunk_size\":" << config.max_chunk_size << ",\"min_chunk_size\":" << config.min_chunk_size
        << ",\"dedicated_threshold\":" << config.dedicated_threshold << ",\"slab_max_size\":" << config.slab_max_size
        << ",\"linear_max_size\":" << config.linear_max_size << ",\"spare_chunks\":" << config.spare_chunks << "},";
    out << "\"total\":";
    write_stats(out, stats.total);
    out << ",\"heaps\":[";
    for (std::size_t h = 0; h < stats.heaps.size(); ++h) {
        if (h) out << ',';
        write_stats(out, stats.heaps[h]);
    }
    out << "],\"memory_types\":[";
    for (std::size_t t = 0; t < stats.memory_types.size(); ++t) {
        if (t) out << ',';
        write_stats(out, stats.memory_types[t]);
    }
    out << "],\"blocks_tracked\":" << (snapshot.blocks_tracked ? "true" : "false") << ",\"chunks\":[";
    for (std::size_t i = 0; i < snapshot.chunks.size(); ++i) {
        const ChunkSnapshot& c = snapshot.chunks[i];
        if (i) out << ',';
        out << "{\"id\":" << c.id << ",\"memory_type\":" << c.memory_type << ",\"heap\":" << c.heap
            << ",\"size\":" << c.size << ",\"strategy\":\"" << to_string(c.strategy) << "\",\"used_bytes\":" << c.used_bytes
            << ",\"block_count\":" << c.block_count << ",\"largest_free_range\":" << c.largest_free_range
            << ",\"mapped\":" << (c.mapped ? "true" : "false") << ",\"imported\":" << (c.imported ? "true" : "false")
            << ",\"blocks\":[";
        for (std::size_t b = 0; b < c.blocks.size(); ++b) {
            const BlockSnapshot& blk = c.blocks[b];
            if (b) out << ',';
            out << "{\"offset\":" << blk.offset << ",\"size\":" << blk.size << ",\"usage\":";
            write_string(out, to_string(blk.usage));
            out << ",\"kind\":\"" << kind_name(blk.kind) << "\",\"name\":";
            write_string(out, blk.name);
            out << '}';
        }
        out << "]}";
    }
    out << "]}";
}

}  // namespace gpu_alloc
