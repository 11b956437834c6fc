// Test stub (not Apple's header): the few Foundation declarations that
// gpu-alloc-metal-shim/src/metal_functions_apple.mm uses, transcribed from
// Apple's documentation, so that the file can be syntax-checked where no SDK
// exists. It proves the file is well-formed against these declarations, not
// against the real SDK.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef unsigned long NSUInteger;
typedef long NSInteger;
typedef bool BOOL;
#define YES true
#define NO false

#define nil nullptr  // objc.h, for C++ with nullptr

// As CFAvailability.h writes them for C++: an NS_ENUM is a typed enum; an
// NS_OPTIONS name is the integer type itself, so that `a | b` keeps its type.
#define NS_ENUM(_type, _name) enum _name : _type _name; enum _name : _type
#define NS_OPTIONS(_type, _name) _type _name; enum : _name
#define GPU_ALLOC_STUB_AVAILABLE(mac_version, ios_version) \
    __attribute__((availability(macos, introduced = mac_version))) __attribute__((availability(ios, introduced = ios_version)))
#define GPU_ALLOC_STUB_MACOS_ONLY(mac_version) \
    __attribute__((availability(macos, introduced = mac_version))) __attribute__((availability(ios, unavailable)))

typedef struct _NSRange {
    NSUInteger location;
    NSUInteger length;
} NSRange;
static inline NSRange NSMakeRange(NSUInteger location, NSUInteger length) {
    NSRange r;
    r.location = location;
    r.length = length;
    return r;
}

@protocol NSObject
@end

__attribute__((objc_root_class))
@interface NSObject <NSObject>
+ (instancetype)alloc;
- (instancetype)init;
@end

@interface NSProcessInfo : NSObject
@property(class, readonly, strong) NSProcessInfo* processInfo;
@property(readonly) unsigned long long physicalMemory;
@end
