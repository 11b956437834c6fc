// VMA's implementation, compiled once (with VMA's own defaults, NDEBUG as the build sets it).
#define VMA_IMPLEMENTATION
#include "vma_config.hpp"
