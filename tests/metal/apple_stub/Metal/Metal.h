// Test stub (not Apple's header): the Metal declarations that
// gpu-alloc-metal-shim/src/metal_functions_apple.mm uses, with the raw values
// and availability Apple documents, so that the file can be syntax-checked
// (for macOS and for iOS) where no SDK exists. It proves the file is
// well-formed against these declarations, not against the real SDK.
#pragma once
#import <Foundation/Foundation.h>

typedef NS_ENUM(NSUInteger, MTLStorageMode){
    MTLStorageModeShared = 0,
    MTLStorageModeManaged GPU_ALLOC_STUB_MACOS_ONLY(10.11) = 1,
    MTLStorageModePrivate = 2,
    MTLStorageModeMemoryless GPU_ALLOC_STUB_AVAILABLE(11.0, 10.0) = 3,
};
typedef NS_ENUM(NSUInteger, MTLCPUCacheMode){
    MTLCPUCacheModeDefaultCache = 0,
    MTLCPUCacheModeWriteCombined = 1,
};
typedef NS_ENUM(NSUInteger, MTLHazardTrackingMode){
    MTLHazardTrackingModeDefault = 0,
    MTLHazardTrackingModeUntracked = 1,
    MTLHazardTrackingModeTracked = 2,
} GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);

#define MTLResourceCPUCacheModeShift 0
#define MTLResourceStorageModeShift 4
#define MTLResourceHazardTrackingModeShift 8
typedef NS_OPTIONS(NSUInteger, MTLResourceOptions){
    MTLResourceCPUCacheModeDefaultCache = MTLCPUCacheModeDefaultCache << MTLResourceCPUCacheModeShift,
    MTLResourceCPUCacheModeWriteCombined = MTLCPUCacheModeWriteCombined << MTLResourceCPUCacheModeShift,
    MTLResourceStorageModeShared = MTLStorageModeShared << MTLResourceStorageModeShift,
    MTLResourceStorageModePrivate = MTLStorageModePrivate << MTLResourceStorageModeShift,
};

typedef NS_ENUM(NSInteger, MTLHeapType){
    MTLHeapTypeAutomatic = 0,
    MTLHeapTypePlacement = 1,
    MTLHeapTypeSparse = 2,
} GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);

typedef NS_ENUM(NSUInteger, MTLTextureType){
    MTLTextureType1D = 0,
    MTLTextureType2D = 2,
    MTLTextureType3D = 7,
};
typedef NS_ENUM(NSUInteger, MTLPixelFormat){
    MTLPixelFormatInvalid = 0,
    MTLPixelFormatRGBA8Unorm = 70,
};
typedef NS_OPTIONS(NSUInteger, MTLTextureUsage){
    MTLTextureUsageUnknown = 0,
    MTLTextureUsageShaderRead = 1,
    MTLTextureUsageShaderWrite = 2,
    MTLTextureUsageRenderTarget = 4,
};
typedef NS_ENUM(NSInteger, MTLGPUFamily){
    MTLGPUFamilyApple1 = 1001,
    MTLGPUFamilyMac2 = 2002,
    MTLGPUFamilyMetal3 GPU_ALLOC_STUB_AVAILABLE(13.0, 16.0) = 5001,
} GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
typedef NS_ENUM(NSUInteger, MTLCommandBufferStatus){
    MTLCommandBufferStatusNotEnqueued = 0,
    MTLCommandBufferStatusEnqueued = 1,
    MTLCommandBufferStatusCommitted = 2,
    MTLCommandBufferStatusScheduled = 3,
    MTLCommandBufferStatusCompleted = 4,
    MTLCommandBufferStatusError = 5,
};

typedef struct {
    NSUInteger size;
    NSUInteger align;
} MTLSizeAndAlign;

@protocol MTLResource <NSObject>
@end

@protocol MTLBuffer <MTLResource>
@property(readonly) NSUInteger length;
- (void*)contents;
- (void)didModifyRange:(NSRange)range GPU_ALLOC_STUB_MACOS_ONLY(10.11);
@end

@protocol MTLHeap <NSObject>
- (nullable id<MTLBuffer>)newBufferWithLength:(NSUInteger)length
                                      options:(MTLResourceOptions)options
                                       offset:(NSUInteger)offset GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
@end

@protocol MTLCommandEncoder <NSObject>
- (void)endEncoding;
@end

@protocol MTLBlitCommandEncoder <MTLCommandEncoder>
- (void)copyFromBuffer:(id<MTLBuffer>)sourceBuffer
           sourceOffset:(NSUInteger)sourceOffset
               toBuffer:(id<MTLBuffer>)destinationBuffer
      destinationOffset:(NSUInteger)destinationOffset
                   size:(NSUInteger)size;
@end

@protocol MTLCommandBuffer <NSObject>
@property(readonly) MTLCommandBufferStatus status;
- (nullable id<MTLBlitCommandEncoder>)blitCommandEncoder;
- (void)commit;
- (void)waitUntilCompleted;
@end

@protocol MTLCommandQueue <NSObject>
- (nullable id<MTLCommandBuffer>)commandBuffer;
@end

@interface MTLHeapDescriptor : NSObject
@property(readwrite, nonatomic) NSUInteger size;
@property(readwrite, nonatomic) MTLStorageMode storageMode;
@property(readwrite, nonatomic) MTLCPUCacheMode cpuCacheMode;
@property(readwrite, nonatomic) MTLHazardTrackingMode hazardTrackingMode GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
@property(readwrite, nonatomic) MTLHeapType type GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
@end

@interface MTLTextureDescriptor : NSObject
@property(readwrite, nonatomic) MTLTextureType textureType;
@property(readwrite, nonatomic) MTLPixelFormat pixelFormat;
@property(readwrite, nonatomic) NSUInteger width;
@property(readwrite, nonatomic) NSUInteger height;
@property(readwrite, nonatomic) NSUInteger depth;
@property(readwrite, nonatomic) NSUInteger mipmapLevelCount;
@property(readwrite, nonatomic) NSUInteger sampleCount;
@property(readwrite, nonatomic) NSUInteger arrayLength;
@property(readwrite, nonatomic) MTLTextureUsage usage;
@property(readwrite, nonatomic) MTLStorageMode storageMode;
@property(readwrite, nonatomic) MTLCPUCacheMode cpuCacheMode;
@property(readwrite, nonatomic) MTLHazardTrackingMode hazardTrackingMode GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
@end

@protocol MTLDevice <NSObject>
@property(readonly) BOOL hasUnifiedMemory GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
@property(readonly) uint64_t recommendedMaxWorkingSetSize GPU_ALLOC_STUB_AVAILABLE(10.12, 16.0);
@property(readonly) NSUInteger currentAllocatedSize GPU_ALLOC_STUB_AVAILABLE(10.13, 11.0);
@property(readonly) NSUInteger maxBufferLength GPU_ALLOC_STUB_AVAILABLE(10.14, 12.0);
- (BOOL)supportsFamily:(MTLGPUFamily)gpuFamily GPU_ALLOC_STUB_AVAILABLE(10.15, 13.0);
- (nullable id<MTLHeap>)newHeapWithDescriptor:(MTLHeapDescriptor*)descriptor;
- (nullable id<MTLBuffer>)newBufferWithLength:(NSUInteger)length options:(MTLResourceOptions)options;
- (nullable id<MTLCommandQueue>)newCommandQueue;
- (MTLSizeAndAlign)heapBufferSizeAndAlignWithLength:(NSUInteger)length options:(MTLResourceOptions)options;
- (MTLSizeAndAlign)heapTextureSizeAndAlignWithDescriptor:(MTLTextureDescriptor*)desc;
@end
