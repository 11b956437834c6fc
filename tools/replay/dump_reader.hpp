// Reads GpuAllocator::dump_json() output (docs/json-schema.md) back into the
// device properties and the snapshot it describes, so that an application's
// dump can be drawn as the same SVG memory map the replay tool draws
// (gpu-alloc-replay --render-dump DUMP.json --svg OUT.svg).
#pragma once

#include <string>
#include <string_view>

#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::replay {

struct AllocatorDump {
    DeviceProperties properties;
    AllocatorSnapshot snapshot;
    std::uint64_t requested_bytes = 0;  ///< "total.requested_bytes"
};

/// Parses a dump. Errors: a message naming what is malformed; never aborts.
Result<AllocatorDump, std::string> parse_allocator_dump(std::string_view json_text);

}  // namespace gpu_alloc::replay
