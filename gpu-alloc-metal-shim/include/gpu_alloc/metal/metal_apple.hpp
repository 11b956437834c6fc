// The Apple side of the Metal adapter: a MetalFunctions table over a real
// MTLDevice, and the Metal objects behind a memory handle.
//
// Defined only in Apple builds of gpu_alloc::metal (src/metal_functions_apple.mm,
// which CMake compiles only when APPLE); elsewhere these declarations have no
// definition and using them fails to link. Metal objects cross this header as
// `void*` so that it stays plain C++: pass `(__bridge void*)device` in, and cast
// results back with `(__bridge id<MTLHeap>)`. Needs macOS 10.15 / iOS 13
// (placement heaps, hazard tracking modes, supportsFamily:).
#pragma once

#include <gpu_alloc/metal/metal_functions.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc {

/// Fills a table over `mtl_device` (an id<MTLDevice> passed as a bridged
/// pointer) and reads its MetalDeviceInfo. The table's context retains the
/// device and, where managed storage is offered, a command queue for
/// invalidate's blits.
/// Requires: mtl_device is a valid id<MTLDevice>.
/// Errors: out_of_host_memory when the context cannot be allocated;
/// out_of_device_memory when the command queue cannot be made.
Result<MetalFunctions, MetalStatus> create_metal_functions(void* mtl_device);

/// Releases what create_metal_functions retained and clears the table.
/// Requires: every memory object made through the table is destroyed and no
/// MetalMemoryDevice uses the table any more.
void destroy_metal_functions(MetalFunctions& functions);

/// The placement MTLHeap behind a memory object, as a bridged pointer, for
/// [heap newBufferWithLength:options:offset:] and
/// [heap newTextureWithDescriptor:offset:] at a block's offset; null for
/// buffer-backed and memoryless objects.
/// Requires: `heap` is a live memory object of a table from create_metal_functions.
void* metal_heap_object(MetalHeap heap);

/// The MTLBuffer behind a memory object, as a bridged pointer: the covering
/// buffer of a host-visible heap, or the buffer of a buffer-backed object (bind
/// it with setBuffer:offset:atIndex: at a block's offset); null for private
/// heaps and memoryless objects.
/// Requires: as metal_heap_object.
void* metal_buffer_object(MetalHeap heap);

}  // namespace gpu_alloc
