#include <gpu_alloc/dyn_allocator.hpp>

namespace gpu_alloc {

template class GpuAllocator<DynMemory>;
template Result<MemoryBlock<DynMemory>, AllocationError> GpuAllocator<DynMemory>::allocate(DynMemoryDevice&,
                                                                                           const Request&);
template void GpuAllocator<DynMemory>::deallocate(DynMemoryDevice&, MemoryBlock<DynMemory>&&);
template void GpuAllocator<DynMemory>::cleanup(DynMemoryDevice&);
template void GpuAllocator<DynMemory>::refresh_budget(DynMemoryDevice&);

}  // namespace gpu_alloc
