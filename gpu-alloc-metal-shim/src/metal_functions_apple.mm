// The MetalFunctions table over a real MTLDevice (Objective-C++, ARC).
//
// Compiled only on Apple platforms (see CMakeLists.txt). It makes no decision
// of its own: the portable core (metal_memory_model.cpp, metal_memory_device.cpp)
// decides storage modes, backing and sizes; this file only turns each table
// call into the Metal call it names. It has never been compiled against the
// real Metal SDK by this project's tests (they run on Linux); it is
// syntax-checked there against a hand-written declaration stub of the Metal
// API it uses (tests/metal/apple_stub), so keep it short and obvious.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>
#include <TargetConditionals.h>

#include <cstdint>
#include <cstring>
#include <new>

#include <gpu_alloc/metal/metal_apple.hpp>

#if !__has_feature(objc_arc)
#error "metal_functions_apple.mm must be compiled with -fobjc-arc"
#endif

namespace gpu_alloc {

namespace {

// The table's context: what every call needs.
struct MetalContext {
    id<MTLDevice> device;
    id<MTLCommandQueue> queue;  // for invalidate's blits; nil without managed storage
};

// A memory object; MetalHeap::bits is a pointer to one.
struct MetalObject {
    id<MTLHeap> heap;      // nil for buffer-backed and memoryless objects
    id<MTLBuffer> buffer;  // covering buffer of a host-visible heap, or the backing buffer
};

static_assert(static_cast<NSUInteger>(MetalStorageMode::shared) == MTLStorageModeShared);
static_assert(static_cast<NSUInteger>(MetalStorageMode::private_) == MTLStorageModePrivate);
static_assert(static_cast<NSUInteger>(MetalCpuCacheMode::write_combined) == MTLCPUCacheModeWriteCombined);
static_assert(static_cast<NSUInteger>(MetalHazardTracking::untracked) == MTLHazardTrackingModeUntracked);
static_assert(static_cast<NSUInteger>(MetalHazardTracking::tracked) == MTLHazardTrackingModeTracked);

MetalContext* context_of(void* context) { return static_cast<MetalContext*>(context); }
MetalObject* object_of(MetalHeap heap) { return reinterpret_cast<MetalObject*>(static_cast<std::uintptr_t>(heap.bits)); }

static_assert(MTLResourceCPUCacheModeShift == 0 && MTLResourceStorageModeShift == 4 &&
              MTLResourceHazardTrackingModeShift == 8, "to_mtl_resource_options packs the bits as Metal does");

MTLResourceOptions to_mtl(MetalResourceOptions options) {
    return static_cast<MTLResourceOptions>(to_mtl_resource_options(options));
}

MetalStatus create_heap(void* context, const MetalHeapDescription& description, MetalHeap* out) {
    @autoreleasepool {
        id<MTLDevice> device = context_of(context)->device;
        MetalObject* object = new (std::nothrow) MetalObject();
        if (object == nullptr) return MetalStatus::out_of_host_memory;
        const MetalResourceOptions& options = description.options;
        switch (description.backing) {
            case MetalBacking::heap: {
                MTLHeapDescriptor* heap_descriptor = [[MTLHeapDescriptor alloc] init];
                heap_descriptor.type = MTLHeapTypePlacement;
                heap_descriptor.size = static_cast<NSUInteger>(description.size);
                heap_descriptor.storageMode = static_cast<MTLStorageMode>(options.storage_mode);
                heap_descriptor.cpuCacheMode = static_cast<MTLCPUCacheMode>(options.cpu_cache_mode);
                heap_descriptor.hazardTrackingMode = static_cast<MTLHazardTrackingMode>(options.hazard_tracking);
                object->heap = [device newHeapWithDescriptor:heap_descriptor];
                if (object->heap != nil && description.covering_length != 0)
                    object->buffer = [object->heap newBufferWithLength:static_cast<NSUInteger>(description.covering_length)
                                                               options:to_mtl(options)
                                                                offset:0];
                if (object->heap == nil || (description.covering_length != 0 && object->buffer == nil)) {
                    delete object;
                    return MetalStatus::out_of_device_memory;
                }
                break;
            }
            case MetalBacking::buffer:
                object->buffer = [device newBufferWithLength:static_cast<NSUInteger>(description.size)
                                                     options:to_mtl(options)];
                if (object->buffer == nil) {
                    delete object;
                    return MetalStatus::out_of_device_memory;
                }
                break;
            case MetalBacking::none: break;  // memoryless: bookkeeping only
        }
        out->bits = reinterpret_cast<std::uintptr_t>(object);
        return MetalStatus::ok;
    }
}

void destroy_heap(void* /*context*/, MetalHeap heap) {
    delete object_of(heap);  // ARC releases the buffer, then the heap
}

std::byte* contents(void* /*context*/, MetalHeap heap) {
    id<MTLBuffer> buffer = object_of(heap)->buffer;
    return buffer == nil ? nullptr : static_cast<std::byte*>([buffer contents]);
}

void did_modify_range(void* /*context*/, MetalHeap heap, std::uint64_t offset, std::uint64_t size) {
#if TARGET_OS_OSX
    [object_of(heap)->buffer didModifyRange:NSMakeRange(static_cast<NSUInteger>(offset), static_cast<NSUInteger>(size))];
#else
    (void)heap, (void)offset, (void)size;  // no managed storage outside macOS: never called
#endif
}

// Copies each range from the GPU copy into one shared staging buffer, waits,
// then copies the bytes into the CPU copy of that range only.
MetalStatus synchronize_ranges(void* context, const MetalRange* ranges, std::size_t count) {
    @autoreleasepool {
        MetalContext* ctx = context_of(context);
        NSUInteger total = 0;
        for (std::size_t i = 0; i < count; ++i) total += static_cast<NSUInteger>(ranges[i].size);
        if (total == 0) return MetalStatus::ok;
        // Each object is checked before the next is made, so that no encoder is
        // left open (Metal's validation asserts on an encoder released unended).
        id<MTLBuffer> staging = [ctx->device newBufferWithLength:total options:MTLResourceStorageModeShared];
        if (staging == nil) return MetalStatus::out_of_device_memory;
        id<MTLCommandBuffer> command_buffer = [ctx->queue commandBuffer];
        if (command_buffer == nil) return MetalStatus::out_of_device_memory;
        id<MTLBlitCommandEncoder> blit = [command_buffer blitCommandEncoder];
        if (blit == nil) return MetalStatus::out_of_device_memory;
        NSUInteger at = 0;
        for (std::size_t i = 0; i < count; ++i) {
            [blit copyFromBuffer:object_of(ranges[i].heap)->buffer
                    sourceOffset:static_cast<NSUInteger>(ranges[i].offset)
                        toBuffer:staging
               destinationOffset:at
                            size:static_cast<NSUInteger>(ranges[i].size)];
            at += static_cast<NSUInteger>(ranges[i].size);
        }
        [blit endEncoding];
        [command_buffer commit];
        [command_buffer waitUntilCompleted];
        if (command_buffer.status != MTLCommandBufferStatusCompleted) return MetalStatus::out_of_device_memory;
        const auto* source = static_cast<const std::byte*>([staging contents]);
        at = 0;
        for (std::size_t i = 0; i < count; ++i) {
            auto* destination = static_cast<std::byte*>([object_of(ranges[i].heap)->buffer contents]);
            std::memcpy(destination + ranges[i].offset, source + at, static_cast<std::size_t>(ranges[i].size));
            at += static_cast<NSUInteger>(ranges[i].size);
        }
        return MetalStatus::ok;
    }
}

MetalSizeAndAlign heap_buffer_size_and_align(void* context, std::uint64_t length, MetalResourceOptions options) {
    const MTLSizeAndAlign result = [context_of(context)->device heapBufferSizeAndAlignWithLength:static_cast<NSUInteger>(length)
                                                                                         options:to_mtl(options)];
    return MetalSizeAndAlign{result.size, result.align};
}

MetalSizeAndAlign heap_texture_size_and_align(void* context, const MetalTextureDescription& description) {
    @autoreleasepool {
        MTLTextureDescriptor* texture = [[MTLTextureDescriptor alloc] init];
        texture.textureType = static_cast<MTLTextureType>(description.texture_type);
        texture.pixelFormat = static_cast<MTLPixelFormat>(description.pixel_format);
        texture.width = description.width;
        texture.height = description.height;
        texture.depth = description.depth;
        texture.mipmapLevelCount = description.mipmap_level_count;
        texture.arrayLength = description.array_length;
        texture.sampleCount = description.sample_count;
        texture.usage = static_cast<MTLTextureUsage>(description.usage);
        texture.storageMode = static_cast<MTLStorageMode>(description.options.storage_mode);
        texture.cpuCacheMode = static_cast<MTLCPUCacheMode>(description.options.cpu_cache_mode);
        texture.hazardTrackingMode = static_cast<MTLHazardTrackingMode>(description.options.hazard_tracking);
        const MTLSizeAndAlign result = [context_of(context)->device heapTextureSizeAndAlignWithDescriptor:texture];
        return MetalSizeAndAlign{result.size, result.align};
    }
}

std::uint64_t current_allocated_size(void* context) { return context_of(context)->device.currentAllocatedSize; }

std::uint64_t recommended_max_working_set_size(void* context) {
    if (@available(macOS 10.12, iOS 16.0, tvOS 16.0, *)) return context_of(context)->device.recommendedMaxWorkingSetSize;
    return 0;
}

MetalDeviceInfo read_device_info(id<MTLDevice> device, void* context) {
    MetalDeviceInfo info;
    info.unified_memory = device.hasUnifiedMemory;
    // Apple GPUs (Apple silicon, iOS) allow shared heaps and memoryless storage.
    const bool apple_gpu = [device supportsFamily:MTLGPUFamilyApple1];
    info.shared_heaps = apple_gpu;
    info.memoryless_storage = apple_gpu;
#if TARGET_OS_OSX
    info.managed_storage = true;
#endif
    if (@available(macOS 13.0, iOS 16.0, tvOS 16.0, *)) info.gpu_address = [device supportsFamily:MTLGPUFamilyMetal3];
    info.recommended_max_working_set_size = recommended_max_working_set_size(context);
    info.system_memory_size = [NSProcessInfo processInfo].physicalMemory;
    info.max_buffer_length = device.maxBufferLength;
    info.buffer_offset_alignment = 256;
    return info;
}

}  // namespace

Result<MetalFunctions, MetalStatus> create_metal_functions(void* mtl_device) {
    @autoreleasepool {
        auto* context = new (std::nothrow) MetalContext();
        if (context == nullptr) return unexpected(MetalStatus::out_of_host_memory);
        context->device = (__bridge id<MTLDevice>)mtl_device;

        MetalFunctions functions;
        functions.context = context;
        functions.device = read_device_info(context->device, context);
        if (functions.device.managed_storage && !functions.device.unified_memory) {
            context->queue = [context->device newCommandQueue];
            if (context->queue == nil) {
                delete context;
                return unexpected(MetalStatus::out_of_device_memory);
            }
        }
        functions.create_heap = &create_heap;
        functions.destroy_heap = &destroy_heap;
        functions.contents = &contents;
        functions.did_modify_range = &did_modify_range;
        functions.synchronize_ranges = &synchronize_ranges;
        functions.heap_buffer_size_and_align = &heap_buffer_size_and_align;
        functions.heap_texture_size_and_align = &heap_texture_size_and_align;
        functions.current_allocated_size = &current_allocated_size;
        functions.recommended_max_working_set_size = &recommended_max_working_set_size;
        return functions;
    }
}

void destroy_metal_functions(MetalFunctions& functions) {
    delete context_of(functions.context);  // ARC releases the queue and the device
    functions = MetalFunctions{};
}

void* metal_heap_object(MetalHeap heap) { return (__bridge void*)object_of(heap)->heap; }

void* metal_buffer_object(MetalHeap heap) { return (__bridge void*)object_of(heap)->buffer; }

}  // namespace gpu_alloc
