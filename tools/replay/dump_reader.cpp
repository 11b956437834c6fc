#include "dump_reader.hpp"

#include <nlohmann/json.hpp>

namespace gpu_alloc::replay {
namespace {

using nlohmann::json;

bool read_u64(const json& object, const char* key, std::uint64_t& out) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned()) return false;
    out = it->get<std::uint64_t>();
    return true;
}

/// "device_local|host_visible" -> flags; unknown names are errors.
template <class Flags>
bool read_flags(const json& object, const char* key, Flags& out,
                std::initializer_list<std::pair<const char*, Flags>> names) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return false;
    const std::string& text = it->get_ref<const std::string&>();
    out = static_cast<Flags>(0);
    if (text == "none") return true;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('|', start), text.size());
        const std::string name = text.substr(start, end - start);
        bool known = false;
        for (const auto& [n, bit] : names)
            if (name == n) {
                out = out | bit;
                known = true;
            }
        if (!known) return false;
        start = end + 1;
    }
    return true;
}

bool read_strategy(const json& chunk, StrategyKind& out) {
    auto it = chunk.find("strategy");
    if (it == chunk.end() || !it->is_string()) return false;
    for (StrategyKind k : {StrategyKind::free_list, StrategyKind::buddy, StrategyKind::slab, StrategyKind::linear,
                           StrategyKind::dedicated})
        if (it->get_ref<const std::string&>() == to_string(k)) {
            out = k;
            return true;
        }
    return false;
}

}  // namespace

Result<AllocatorDump, std::string> parse_allocator_dump(std::string_view json_text) {
    using F = MemoryPropertyFlags;
    const json root = json::parse(json_text.begin(), json_text.end(), nullptr, false);
    if (root.is_discarded() || !root.is_object()) return unexpected(std::string("not a JSON object"));
    auto schema = root.find("schema");
    if (schema == root.end() || !schema->is_string() || *schema != "gpu_alloc.dump")
        return unexpected(std::string("schema is not \"gpu_alloc.dump\""));
    AllocatorDump dump;
    auto device = root.find("device");
    if (device == root.end() || !device->is_object()) return unexpected(std::string("device: missing"));
    auto heaps = device->find("memory_heaps");
    auto types = device->find("memory_types");
    if (heaps == device->end() || !heaps->is_array() || types == device->end() || !types->is_array())
        return unexpected(std::string("device: memory_heaps and memory_types must be arrays"));
    for (const json& h : *heaps) {
        MemoryHeap heap;
        if (!h.is_object() || !read_u64(h, "size", heap.size) ||
            !read_flags(h, "flags", heap.flags,
                        {{"device_local", MemoryHeapFlags::device_local}, {"multi_instance", MemoryHeapFlags::multi_instance}}))
            return unexpected(std::string("device.memory_heaps: malformed entry"));
        dump.properties.memory_heaps.push_back(heap);
    }
    for (const json& t : *types) {
        MemoryType type;
        std::uint64_t heap = 0;
        if (!t.is_object() || !read_u64(t, "heap", heap) || heap >= dump.properties.memory_heaps.size() ||
            !read_flags(t, "props", type.props,
                        {{"device_local", F::device_local}, {"host_visible", F::host_visible},
                         {"host_coherent", F::host_coherent}, {"host_cached", F::host_cached},
                         {"lazily_allocated", F::lazily_allocated}, {"protected", F::protected_memory}}))
            return unexpected(std::string("device.memory_types: malformed entry"));
        type.heap = static_cast<std::uint32_t>(heap);
        dump.properties.memory_types.push_back(type);
    }
    std::uint64_t granularity = 1, atom = 64, max_count = 0;
    read_u64(*device, "buffer_image_granularity", granularity);
    read_u64(*device, "non_coherent_atom_size", atom);
    read_u64(*device, "max_memory_allocation_size", dump.properties.max_memory_allocation_size);
    if (read_u64(*device, "max_memory_allocation_count", max_count))
        dump.properties.max_memory_allocation_count = static_cast<std::uint32_t>(std::min<std::uint64_t>(max_count, UINT32_MAX));
    dump.properties.buffer_image_granularity = granularity;
    dump.properties.non_coherent_atom_size = atom;

    if (auto total = root.find("total"); total != root.end() && total->is_object())
        read_u64(*total, "requested_bytes", dump.requested_bytes);
    auto tracked = root.find("blocks_tracked");
    dump.snapshot.blocks_tracked = tracked != root.end() && tracked->is_boolean() && tracked->get<bool>();

    auto chunks = root.find("chunks");
    if (chunks == root.end() || !chunks->is_array()) return unexpected(std::string("chunks: missing"));
    for (const json& c : *chunks) {
        ChunkSnapshot chunk;
        std::uint64_t memory_type = 0, heap = 0;
        if (!c.is_object() || !read_u64(c, "id", chunk.id) || !read_u64(c, "memory_type", memory_type) ||
            memory_type >= dump.properties.memory_types.size() || !read_u64(c, "heap", heap) || !read_u64(c, "size", chunk.size) ||
            !read_strategy(c, chunk.strategy))
            return unexpected("chunks[" + std::to_string(dump.snapshot.chunks.size()) + "]: malformed");
        chunk.memory_type = static_cast<std::uint32_t>(memory_type);
        chunk.heap = static_cast<std::uint32_t>(heap);
        read_u64(c, "used_bytes", chunk.used_bytes);
        read_u64(c, "block_count", chunk.block_count);
        read_u64(c, "largest_free_range", chunk.largest_free_range);
        if (auto blocks = c.find("blocks"); blocks != c.end() && blocks->is_array()) {
            for (const json& b : *blocks) {
                BlockSnapshot block;
                if (!b.is_object() || !read_u64(b, "offset", block.offset) || !read_u64(b, "size", block.size) ||
                    block.offset > chunk.size || block.size > chunk.size - block.offset)
                    return unexpected("chunks[" + std::to_string(dump.snapshot.chunks.size()) + "].blocks: malformed");
                read_flags(b, "usage", block.usage,
                           {{"fast_device_access", UsageFlags::fast_device_access}, {"host_access", UsageFlags::host_access},
                            {"upload", UsageFlags::upload}, {"download", UsageFlags::download},
                            {"transient", UsageFlags::transient}, {"device_address", UsageFlags::device_address}});
                if (auto kind = b.find("kind"); kind != b.end() && kind->is_string())
                    block.kind = *kind == "linear" ? ResourceKind::linear
                                 : *kind == "optimal" ? ResourceKind::optimal : ResourceKind::unknown;
                if (auto name = b.find("name"); name != b.end() && name->is_string()) block.name = name->get<std::string>();
                chunk.blocks.push_back(std::move(block));
            }
        }
        dump.snapshot.chunks.push_back(std::move(chunk));
    }
    return dump;
}

}  // namespace gpu_alloc::replay
