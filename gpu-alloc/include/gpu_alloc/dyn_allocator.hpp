// GpuAllocator over the type-erased DynMemoryDevice, for backends chosen at run
// time. Its code is compiled once into the core library (dyn_allocator.cpp),
// which also proves that the allocator builds with -fno-exceptions -fno-rtti.
#pragma once

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/types/dyn_device.hpp>

namespace gpu_alloc {

using DynGpuAllocator = GpuAllocator<DynMemory>;
using DynMemoryBlock = MemoryBlock<DynMemory>;

extern template class GpuAllocator<DynMemory>;
extern template Result<MemoryBlock<DynMemory>, AllocationError> GpuAllocator<DynMemory>::allocate(DynMemoryDevice&,
                                                                                                  const Request&);
extern template void GpuAllocator<DynMemory>::deallocate(DynMemoryDevice&, MemoryBlock<DynMemory>&&);
extern template void GpuAllocator<DynMemory>::cleanup(DynMemoryDevice&);
extern template void GpuAllocator<DynMemory>::refresh_budget(DynMemoryDevice&);

}  // namespace gpu_alloc
