// Test stub (not Apple's header): the TARGET_OS_* macros metal_functions_apple.mm
// reads, derived from the deployment-target macro clang defines for the target.
#pragma once
#if defined(__ENVIRONMENT_IPHONE_OS_VERSION_MIN_REQUIRED__)
#define TARGET_OS_OSX 0
#define TARGET_OS_IPHONE 1
#else
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#endif
