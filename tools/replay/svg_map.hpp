// The memory map: an SVG picture of every device memory object and the blocks
// in it at one moment (gpu-alloc-replay --svg draws the moment of peak
// reservation).
//
// Layout: one row per device memory object, in the snapshot's order (memory
// type, then creation). Each row spans the full width, scaled to its own
// object (the label on the left gives the object's size, memory type,
// strategy and how full it is), so that a 4 KiB dedicated object and a 1 GiB
// chunk are both readable. The row's background is free space (light grey);
// blocks are drawn over it, coloured by usage (device-local buffers, images,
// upload, transient upload, download, host), and a strip at the left of each
// row gives the object's strategy colour. Fragmentation reads as grey gaps
// between blocks; a mostly grey row is a chunk kept alive by a few blocks.
// The legend and the totals (objects, reserved, requested, overhead) sit on top.
// Several traces make one document: their sections stacked top to bottom.
//
// Size: blocks closer than a third of a pixel with the same colour are merged
// into one rectangle and every rectangle is at least one pixel wide, so even
// 100,000 blocks give a file of a few MB at most; past max_rows objects the
// rest are summarized in one line instead of drawn.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc::replay {

/// What the picture is of, for its title and totals.
struct SvgMapInfo {
    std::string trace;                      ///< trace name
    std::string device;                     ///< device or profile name
    std::string policy;                     ///< policy name
    std::uint64_t op_index = 0;             ///< the picture is after this operation (0-based)
    std::uint64_t ops = 0;                  ///< operations in the trace
    std::uint64_t requested_bytes = 0;      ///< live requested bytes at that moment
    std::size_t max_rows = 1000;            ///< objects drawn at most
};

/// One trace's part of the picture: SVG elements drawn from y = 0 down, and
/// how tall they are.
struct SvgSection {
    std::string body;
    double height = 0;
};

/// Draws `snapshot` of an allocator on a device with `props`: title, totals,
/// legend and one row per object. Blocks are drawn only when
/// snapshot.blocks_tracked; otherwise each object's used bytes are drawn as
/// one bar from its start.
SvgSection render_svg_section(const AllocatorSnapshot& snapshot, const DeviceProperties& props, const SvgMapInfo& info);

/// One SVG document of `sections`, stacked top to bottom.
std::string assemble_svg(std::span<const SvgSection> sections);

/// render_svg_section + assemble_svg for a single snapshot.
std::string render_svg_map(const AllocatorSnapshot& snapshot, const DeviceProperties& props, const SvgMapInfo& info);

}  // namespace gpu_alloc::replay
