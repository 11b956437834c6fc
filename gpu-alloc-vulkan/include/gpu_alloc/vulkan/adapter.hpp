// The Vulkan adapter in one include: the function table, DeviceProperties from
// a VkPhysicalDevice and VulkanMemoryDevice. Depends on gpu_alloc::types and
// the Vulkan headers only; the convenience helpers that also need the
// allocator core are in resources.hpp (target gpu_alloc::vulkan_helpers).
#pragma once

#include <gpu_alloc/vulkan/functions.hpp>
#include <gpu_alloc/vulkan/memory_device.hpp>
#include <gpu_alloc/vulkan/properties.hpp>
