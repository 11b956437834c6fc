// How both VMA translation units see vk_mem_alloc.h: no Vulkan loader, no
// function fetched by VMA itself; every call goes through the function table
// that vma_peer.cpp fills with its mock device. Nothing else is configured:
// VMA's defaults are what is measured.
#pragma once

#define VK_NO_PROTOTYPES 1
#define VMA_STATIC_VULKAN_FUNCTIONS 0
#define VMA_DYNAMIC_VULKAN_FUNCTIONS 0
#include <vk_mem_alloc.h>
