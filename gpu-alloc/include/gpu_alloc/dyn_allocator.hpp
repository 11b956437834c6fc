// GpuAllocator over the type-erased DynMemoryDevice, for backends chosen at run time.
#pragma once

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/types/dyn_device.hpp>

namespace gpu_alloc {

using DynGpuAllocator = GpuAllocator<DynMemory>;
using DynMemoryBlock = MemoryBlock<DynMemory>;

}  // namespace gpu_alloc
