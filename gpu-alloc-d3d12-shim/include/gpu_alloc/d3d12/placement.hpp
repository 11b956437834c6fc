// From a D3D12_RESOURCE_DESC to memory, and from memory to a placed resource.
//
// resource_requirements() asks GetResourceAllocationInfo for the size and
// alignment and adds the memory types whose heaps may hold the resource (its
// category on tier 1; no textures or UAV/RT/DS buffers in UPLOAD/READBACK).
// create_placed_resource() places the resource at an offset of a heap after
// checking D3D12's placement rules itself: the offset is a multiple of the
// reported alignment (64 KiB, 4 KiB for small textures, 4 MiB for MSAA on
// Windows), the heap's own alignment is at least that, the resource lies inside
// the heap and inside the caller's range (the allocator's block), and the heap's
// type and category allow it. Windows enforces these rules; vkd3d does not
// (a misaligned or out-of-range placement succeeds there and silently gets
// other memory or corrupts a neighbour), so checking here makes both behave alike.
//
// The two templates at the end take the allocator's types without naming them
// (the adapter depends on gpu_alloc::types only): any request type with
// size/alignment/memory_types/kind fields and any block type with
// memory()/offset()/size() work, gpu_alloc::Request and gpu_alloc::MemoryBlock
// among them.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

#include <gpu_alloc/d3d12/d3d12_api.hpp>
#include <gpu_alloc/d3d12/memory_device.hpp>
#include <gpu_alloc/d3d12/memory_layout.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::d3d12 {

/// Why a resource cannot be placed.
enum class PlacementErrorKind : std::uint8_t {
    invalid_desc,               ///< GetResourceAllocationInfo rejected the description
    no_compatible_memory_type,  ///< no memory type of the layout may hold the resource
    misaligned_offset,          ///< offset is not a multiple of the resource's alignment
    heap_alignment_too_small,   ///< the heap is less aligned than the resource needs (MSAA in a 64 KiB heap)
    outside_heap,               ///< offset + size passes the end of the heap
    outside_range,              ///< offset + size passes the end of the caller's range (the block)
    wrong_heap,                 ///< the heap's type or resource category forbids the resource
    create_failed,              ///< CreatePlacedResource failed; PlacementError::result says why
};

/// A placement failure: the rule broken, and for create_failed the HRESULT.
struct PlacementError {
    PlacementErrorKind kind = PlacementErrorKind::invalid_desc;
    HRESULT result = S_OK;
    friend bool operator==(const PlacementError&, const PlacementError&) = default;
};

/// "misaligned offset", ...
constexpr std::string_view to_string(PlacementErrorKind kind) noexcept {
    switch (kind) {
        case PlacementErrorKind::invalid_desc: return "invalid resource description";
        case PlacementErrorKind::no_compatible_memory_type: return "no compatible memory type";
        case PlacementErrorKind::misaligned_offset: return "misaligned offset";
        case PlacementErrorKind::heap_alignment_too_small: return "heap alignment too small";
        case PlacementErrorKind::outside_heap: return "outside the heap";
        case PlacementErrorKind::outside_range: return "outside the given range";
        case PlacementErrorKind::wrong_heap: return "heap type or category forbids the resource";
        case PlacementErrorKind::create_failed: return "CreatePlacedResource failed";
    }
    return "unknown placement error";
}
inline std::ostream& operator<<(std::ostream& os, PlacementErrorKind kind) { return os << to_string(kind); }
inline std::ostream& operator<<(std::ostream& os, const PlacementError& e) {
    os << to_string(e.kind);
    if (e.kind == PlacementErrorKind::create_failed)
        os << " (HRESULT 0x" << std::hex << static_cast<std::uint32_t>(e.result) << std::dec << ')';
    return os;
}

/// What a resource needs from the allocator.
struct ResourceRequirements {
    std::uint64_t size = 0;          ///< bytes (D3D12_RESOURCE_ALLOCATION_INFO::SizeInBytes)
    std::uint64_t alignment = 0;     ///< bytes (::Alignment), a power of two
    std::uint32_t memory_types = 0;  ///< bit i set: memory type i may hold the resource
    ResourceCategory category = ResourceCategory::buffer;
};

/// The tier 1 category of a resource: buffer; texture with ALLOW_RENDER_TARGET or
/// ALLOW_DEPTH_STENCIL; other texture.
ResourceCategory category_of(const D3D12_RESOURCE_DESC& desc) noexcept;

/// Whether a heap of `kind` may hold a resource like `desc`: its category is in the
/// heap's categories and, for UPLOAD/READBACK heaps, the resource is a buffer
/// without ALLOW_UNORDERED_ACCESS / RENDER_TARGET / DEPTH_STENCIL / SIMULTANEOUS_ACCESS.
bool heap_accepts(const HeapKind& kind, const D3D12_RESOURCE_DESC& desc) noexcept;

/// The mask of memory types in `layout` whose heaps accept `desc` (heap_accepts).
std::uint32_t compatible_memory_types(const MemoryLayout& layout, const D3D12_RESOURCE_DESC& desc) noexcept;

/// "Any heap type", the default of resource_requirements.
inline constexpr D3D12_HEAP_TYPE any_heap_type = static_cast<D3D12_HEAP_TYPE>(0);

/// The mask of memory types in `layout` whose heaps are of `type` (all types for any_heap_type).
std::uint32_t heap_type_mask(const MemoryLayout& layout, D3D12_HEAP_TYPE type) noexcept;

/// Size and alignment from GetResourceAllocationInfo (visible mask 0), the
/// category, and the compatible memory types of the device's layout, limited to
/// heaps of `heap_type` unless it is any_heap_type.
///
/// Name the heap type whenever the resource's states depend on it: an UPLOAD
/// buffer lives in GENERIC_READ, a READBACK buffer in COPY_DEST. On UMA adapters
/// UPLOAD, READBACK and CUSTOM have the same property flags, so the allocator's
/// usage ranking alone cannot tell them apart.
/// Errors: invalid_desc (D3D12 answered SizeInBytes == UINT64_MAX);
/// no_compatible_memory_type (empty mask).
Result<ResourceRequirements, PlacementError> resource_requirements(const D3D12MemoryDevice& device,
                                                                   const D3D12_RESOURCE_DESC& desc,
                                                                   D3D12_HEAP_TYPE heap_type = any_heap_type);

/// Checks every placement rule (top of this file) for `desc` at `offset` of
/// `memory`, with `range_size` bytes available from `offset` (the block's size).
/// Returns what GetResourceAllocationInfo reported.
/// Requires: memory is a live heap of `device`.
/// Errors: invalid_desc, misaligned_offset, heap_alignment_too_small, outside_heap,
/// outside_range, wrong_heap.
Result<D3D12_RESOURCE_ALLOCATION_INFO, PlacementError> check_placement(const D3D12MemoryDevice& device,
                                                                      const D3D12Memory& memory,
                                                                      std::uint64_t offset, std::uint64_t range_size,
                                                                      const D3D12_RESOURCE_DESC& desc);

/// check_placement, then CreatePlacedResource at `offset` of memory.heap().
/// Returns the new resource (one reference, for the caller to Release before the
/// memory is freed).
/// Errors: those of check_placement; create_failed with the HRESULT.
Result<ID3D12Resource*, PlacementError> create_placed_resource(const D3D12MemoryDevice& device,
                                                               const D3D12Memory& memory, std::uint64_t offset,
                                                               std::uint64_t range_size,
                                                               const D3D12_RESOURCE_DESC& desc,
                                                               D3D12_RESOURCE_STATES initial_state,
                                                               const D3D12_CLEAR_VALUE* clear_value = nullptr);

/// create_placed_resource at a block's memory, offset and size: any type with
/// memory() (a D3D12Memory), offset() and size(), e.g. gpu_alloc::MemoryBlock<D3D12Memory>.
///
/// Example:
/// ```
/// auto block = allocator.allocate(device, make_request<gpu_alloc::Request>(*requirements));
/// auto buffer = create_placed_resource(device, *block, desc, D3D12_RESOURCE_STATE_COMMON);
/// ```
template <class Block>
Result<ID3D12Resource*, PlacementError> create_placed_resource(const D3D12MemoryDevice& device, const Block& block,
                                                               const D3D12_RESOURCE_DESC& desc,
                                                               D3D12_RESOURCE_STATES initial_state,
                                                               const D3D12_CLEAR_VALUE* clear_value = nullptr) {
    return create_placed_resource(device, block.memory(), block.offset(), block.size(), desc, initial_state,
                                  clear_value);
}

/// Fills size, alignment, memory_types and kind (linear for buffers, optimal for
/// textures) of an allocator request, e.g. gpu_alloc::Request; the caller adds
/// the usage. Any type with those fields, whose kind enum has `linear` and
/// `optimal`, works.
template <class Request>
Request make_request(const ResourceRequirements& requirements, Request request = Request{}) {
    using Kind = decltype(request.kind);
    request.size = requirements.size;
    request.alignment = requirements.alignment;
    request.memory_types = requirements.memory_types;
    request.kind = requirements.category == ResourceCategory::buffer ? Kind::linear : Kind::optimal;
    return request;
}

}  // namespace gpu_alloc::d3d12
