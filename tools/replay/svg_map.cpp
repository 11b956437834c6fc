// Drawing of the memory map; see svg_map.hpp for the layout.
#include "svg_map.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "report.hpp"

namespace gpu_alloc::replay {

namespace {

constexpr double page_width = 1400.0;
constexpr double label_width = 400.0;
constexpr double bar_x = label_width + 10.0;
constexpr double bar_width = page_width - bar_x - 16.0;
constexpr double strip_width = 6.0;
constexpr const char* free_colour = "#e4e4e4";

enum class UsageClass : std::uint8_t { device_buffer, device_image, upload, transient, download, host, other, count };

struct ClassStyle {
    const char* colour;
    const char* label;
};
constexpr ClassStyle class_styles[] = {
    {"#3f6fd1", "device-local buffer"}, {"#8a4fcf", "device-local image"}, {"#e8862a", "upload"},
    {"#f3c623", "upload, transient"},   {"#2f9e55", "download"},           {"#1fb3b0", "host access"},
    {"#7d7d7d", "other"},
};

struct StrategyStyle {
    StrategyKind kind;
    const char* colour;
};
constexpr StrategyStyle strategy_styles[] = {
    {StrategyKind::free_list, "#1b3a75"}, {StrategyKind::buddy, "#b8321f"}, {StrategyKind::slab, "#2d7a3a"},
    {StrategyKind::linear, "#c79a00"},    {StrategyKind::dedicated, "#333333"},
};

const char* strategy_colour(StrategyKind kind) {
    for (const StrategyStyle& s : strategy_styles)
        if (s.kind == kind) return s.colour;
    return "#000000";
}

UsageClass classify(const BlockSnapshot& b) {
    if (contains(b.usage, UsageFlags::transient)) return UsageClass::transient;
    if (contains(b.usage, UsageFlags::download)) return UsageClass::download;
    if (contains(b.usage, UsageFlags::upload)) return UsageClass::upload;
    if (contains(b.usage, UsageFlags::host_access)) return UsageClass::host;
    if (contains(b.usage, UsageFlags::fast_device_access) || b.usage == UsageFlags::none)
        return b.kind == ResourceKind::linear ? UsageClass::device_buffer : UsageClass::device_image;
    return UsageClass::other;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
    return buf;
}

void rect(std::string& svg, double x, double y, double w, double h, const char* fill) {
    svg += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
           "\" fill=\"" + fill + "\"/>";
}

void text(std::string& svg, double x, double y, std::string_view content, int size = 12, const char* weight = "normal") {
    svg += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + std::to_string(size) +
           "\" font-weight=\"" + weight + "\">" + xml_escape(content) + "</text>\n";
}

std::string type_description(const DeviceProperties& props, std::uint32_t type) {
    if (type >= props.memory_types.size()) return "type " + std::to_string(type);
    std::string flags = to_string(props.memory_types[type].props);
    // Short forms, so that the label column stays narrow.
    auto replace = [&flags](std::string_view from, std::string_view to) {
        for (std::size_t p = flags.find(from); p != std::string::npos; p = flags.find(from, p + to.size()))
            flags.replace(p, from.size(), to);
    };
    replace("device_local", "DL");
    replace("host_visible", "HV");
    replace("host_coherent", "HC");
    replace("host_cached", "HCa");
    replace("lazily_allocated", "lazy");
    return "type " + std::to_string(type) + " " + flags;
}

// Draws one object's blocks in [x0, x0 + width) at height y.
void draw_blocks(std::string& svg, const ChunkSnapshot& chunk, double x0, double width, double y, double h,
                 std::vector<bool>& used_classes) {
    const double scale = chunk.size == 0 ? 0.0 : width / static_cast<double>(chunk.size);
    double run_start = -1.0;
    double run_end = -1.0;
    int run_class = -1;
    auto flush = [&] {
        if (run_class < 0) return;
        const double w = std::max(run_end - run_start, 1.0);
        rect(svg, x0 + run_start, y, std::min(w, width - run_start), h, class_styles[run_class].colour);
        svg += '\n';
    };
    for (const BlockSnapshot& b : chunk.blocks) {
        const int cls = static_cast<int>(classify(b));
        used_classes[static_cast<std::size_t>(cls)] = true;
        const double s = static_cast<double>(b.offset) * scale;
        const double e = static_cast<double>(b.offset + b.size) * scale;
        if (cls == run_class && s - std::max(run_end, run_start + 1.0) < 0.34) {
            run_end = std::max(run_end, e);
            continue;
        }
        flush();
        run_start = s;
        run_end = e;
        run_class = cls;
    }
    flush();
}

}  // namespace

SvgSection render_svg_section(const AllocatorSnapshot& snapshot, const DeviceProperties& props, const SvgMapInfo& info) {
    std::uint64_t reserved = 0;
    std::uint64_t used = 0;
    std::uint64_t requested = 0;
    std::uint64_t blocks = 0;
    for (const ChunkSnapshot& c : snapshot.chunks) {
        reserved += c.size;
        used += c.used_bytes;
        blocks += c.block_count;
        for (const BlockSnapshot& b : c.blocks) requested += b.size;
    }
    if (!snapshot.blocks_tracked) requested = info.requested_bytes;

    const std::size_t rows = snapshot.chunks.size();
    const std::size_t drawn = std::min(rows, info.max_rows);
    const double row_height = std::clamp(12000.0 / static_cast<double>(std::max<std::size_t>(drawn, 1)), 3.0, 18.0);
    const double row_gap = row_height >= 8.0 ? 3.0 : 1.0;
    const bool labels = row_height >= 10.0;
    const double header_height = 150.0;
    const double height = header_height + static_cast<double>(drawn) * (row_height + row_gap) +
                          (drawn < rows ? 60.0 : 40.0);

    std::string svg;

    // Title and totals.
    text(svg, 16, 26,
         "gpu-alloc memory map: " + info.trace + " on " + info.device + ", policy " + info.policy, 16, "bold");
    text(svg, 16, 46,
         "at peak reservation: after operation " + std::to_string(info.op_index + 1) + " of " +
             std::to_string(info.ops));
    char overhead[32];
    std::snprintf(overhead, sizeof overhead, "%.3f",
                  requested == 0 ? 0.0 : static_cast<double>(reserved) / static_cast<double>(requested));
    text(svg, 16, 66,
         std::to_string(rows) + " device memory objects, " + format_bytes(reserved) + " reserved; " +
             std::to_string(blocks) + " blocks, " + format_bytes(requested) + " requested (overhead " + overhead +
             "); " + format_bytes(used) + " used with rounding, " + format_bytes(reserved - std::min(reserved, used)) +
             " free");

    // Legend: usage colours, free space, strategy strips.
    std::vector<bool> used_classes(static_cast<std::size_t>(UsageClass::count), false);
    std::string body;
    double y = header_height;
    for (std::size_t i = 0; i < drawn; ++i) {
        const ChunkSnapshot& c = snapshot.chunks[i];
        rect(body, bar_x, y, bar_width, row_height, free_colour);
        rect(body, bar_x - strip_width - 2, y, strip_width, row_height, strategy_colour(c.strategy));
        body += '\n';
        if (snapshot.blocks_tracked) {
            draw_blocks(body, c, bar_x, bar_width, y, row_height, used_classes);
        } else if (c.used_bytes > 0 && c.size > 0) {
            rect(body, bar_x, y, std::max(1.0, bar_width * static_cast<double>(c.used_bytes) / static_cast<double>(c.size)),
                 row_height, class_styles[static_cast<int>(UsageClass::other)].colour);
            body += '\n';
            used_classes[static_cast<std::size_t>(UsageClass::other)] = true;
        }
        if (labels) {
            const std::string label = "#" + std::to_string(c.id) + " " + type_description(props, c.memory_type) + " " +
                                      to_string(c.strategy) + " " + format_bytes(c.size) + " " +
                                      percent(c.used_bytes, c.size) + " used";
            text(body, 16, y + row_height - 4, label, 11);
        }
        y += row_height + row_gap;
    }
    if (drawn < rows) {
        std::uint64_t rest = 0;
        for (std::size_t i = drawn; i < rows; ++i) rest += snapshot.chunks[i].size;
        text(body, 16, y + 16,
             std::to_string(rows - drawn) + " more device memory objects (" + format_bytes(rest) + ") not drawn");
    }

    double lx = 16;
    const double ly = 86;
    for (std::size_t k = 0; k < used_classes.size(); ++k) {
        if (!used_classes[k]) continue;
        rect(svg, lx, ly, 14, 14, class_styles[k].colour);
        text(svg, lx + 20, ly + 12, class_styles[k].label);
        lx += 30 + 7.5 * static_cast<double>(std::string_view(class_styles[k].label).size());
    }
    rect(svg, lx, ly, 14, 14, free_colour);
    text(svg, lx + 20, ly + 12, "free");
    lx = 16;
    const double sy = 110;
    text(svg, lx, sy + 12, "strategy (strip):");
    lx += 150;
    for (const StrategyStyle& s : strategy_styles) {
        rect(svg, lx, sy, 6, 14, s.colour);
        text(svg, lx + 12, sy + 12, to_string(s.kind));
        lx += 40 + 7.5 * static_cast<double>(std::string_view(to_string(s.kind)).size());
    }
    text(svg, 16, 140,
         "one row per device memory object, each row scaled to its own object (label: id, memory type, strategy, size, "
         "used)",
         11);
    svg += body;
    return SvgSection{std::move(svg), height};
}

std::string assemble_svg(std::span<const SvgSection> sections) {
    double height = 0;
    for (const SvgSection& s : sections) height += s.height;
    std::string svg;
    std::size_t size = 1024;
    for (const SvgSection& s : sections) size += s.body.size() + 64;
    svg.reserve(size);
    svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(page_width) + "\" height=\"" + num(height) +
           "\" viewBox=\"0 0 " + num(page_width) + " " + num(height) +
           "\" font-family=\"DejaVu Sans Mono, monospace\">\n";
    rect(svg, 0, 0, page_width, height, "#ffffff");
    svg += '\n';
    double top = 0;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        if (i > 0) {  // a rule between traces
            rect(svg, 16, top - 12, page_width - 32, 1, "#999999");
            svg += '\n';
        }
        svg += "<g transform=\"translate(0," + num(top) + ")\">\n";
        svg += sections[i].body;
        svg += "</g>\n";
        top += sections[i].height;
    }
    svg += "</svg>\n";
    return svg;
}

std::string render_svg_map(const AllocatorSnapshot& snapshot, const DeviceProperties& props, const SvgMapInfo& info) {
    const SvgSection section = render_svg_section(snapshot, props, info);
    return assemble_svg(std::span<const SvgSection>(&section, 1));
}

}  // namespace gpu_alloc::replay
