// The allocator's JSON dump: device, configuration, statistics, and every chunk
// (and block, when tracked). The schema is in docs/json-schema.md; tools read it
// back to draw the memory map.
#pragma once

#include <ostream>

#include <gpu_alloc/config.hpp>
#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/statistics.hpp>
#include <gpu_alloc/types/properties.hpp>

namespace gpu_alloc {

/// Writes one JSON object (schema "gpu_alloc.dump", version 1).
void write_allocator_json(std::ostream& out, const DeviceProperties& props, const Config& config,
                          const Statistics& stats, const AllocatorSnapshot& snapshot);

}  // namespace gpu_alloc
