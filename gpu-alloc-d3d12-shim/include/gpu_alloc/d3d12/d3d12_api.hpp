// The one place that includes the D3D12 headers: the Windows SDK's <d3d12.h>
// on Windows, vkd3d's <vkd3d_utils.h> elsewhere (Linux has no d3d12.h; vkd3d
// implements D3D12 over Vulkan and ships the same interfaces).
//
// Why each define is here:
// - NOMINMAX: windows.h (and vkd3d's stand-in) must not define min/max macros.
// - WIDL_EXPLICIT_AGGREGATE_RETURNS (widl-generated headers: vkd3d's and
//   MinGW's): methods that return a struct (GetResourceAllocationInfo,
//   GetCustomHeapProperties, GetDesc) are declared the way MSVC's ABI passes
//   them, through a hidden pointer. Without it g++ calls them with the wrong
//   ABI and GetResourceAllocationInfo crashes. Every translation unit that sees
//   the interfaces must agree, so this header refuses to come after a widl
//   header included without it.
// - Interface IDs come from iid_of<I>() below (MSVC's __uuidof, MinGW's and
//   vkd3d's per-interface inline templates), so no translation unit needs
//   INITGUID and no IID_* symbol is defined by this library: a user's own
//   INITGUID translation unit never collides with it.
#pragma once

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#if !defined(_MSC_VER) && !defined(WIDL_EXPLICIT_AGGREGATE_RETURNS)
#if defined(__d3d12_h__)
#error "<d3d12.h> was included before gpu_alloc/d3d12 without WIDL_EXPLICIT_AGGREGATE_RETURNS"
#endif
#define WIDL_EXPLICIT_AGGREGATE_RETURNS
#endif
#include <d3d12.h>
#include <dxgi1_4.h>
/// 1 where DXGI is available (adapter memory sizes and budgets come from it).
#define GPU_ALLOC_D3D12_HAS_DXGI 1
#else
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIDL_EXPLICIT_AGGREGATE_RETURNS
#if defined(__vkd3d_d3d12_h__)
#error "vkd3d's headers were included before gpu_alloc/d3d12 without WIDL_EXPLICIT_AGGREGATE_RETURNS"
#endif
#define WIDL_EXPLICIT_AGGREGATE_RETURNS
#endif
#include <vkd3d_utils.h>
/// 0 under vkd3d: there is no DXGI; sizes come from the Vulkan device underneath.
#define GPU_ALLOC_D3D12_HAS_DXGI 0
#endif

namespace gpu_alloc::d3d12 {

/// The interface ID of a COM interface, e.g. `iid_of<ID3D12Heap>()`, for
/// QueryInterface-style calls (CreateHeap, CreatePlacedResource, ...).
/// Works the same with MSVC, MinGW and vkd3d, without INITGUID.
template <class Interface>
const IID& iid_of() noexcept {
#if defined(_MSC_VER) || defined(_WIN32)
    return __uuidof(Interface);
#else
    return __vkd3d_uuidof<Interface>();
#endif
}

}  // namespace gpu_alloc::d3d12
