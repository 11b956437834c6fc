// The type-erased allocator compiles here once, which also proves that the
// typed layer builds with -fno-exceptions -fno-rtti.
#include <gpu_alloc/dyn_allocator.hpp>

namespace gpu_alloc {

template class GpuAllocator<DynMemory>;
template Result<MemoryBlock<DynMemory>, AllocationError> GpuAllocator<DynMemory>::allocate(DynMemoryDevice&,
                                                                                           const Request&);
template void GpuAllocator<DynMemory>::deallocate(DynMemoryDevice&, MemoryBlock<DynMemory>&&);

}  // namespace gpu_alloc
