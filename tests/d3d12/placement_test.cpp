// Resource categories, memory type masks, requirements from
// GetResourceAllocationInfo, and the placement rules the adapter checks because
// vkd3d does not; plus the harness's own self-test (the validation layer is
// really underneath and its errors really reach the tests).
#include <gpu_alloc/d3d12/placement.hpp>

#include <initializer_list>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "vkd3d_harness.hpp"

namespace gpu_alloc::d3d12 {
namespace {

using test::buffer_desc;
using test::Ref;
using test::texture_desc;

constexpr D3D12_RESOURCE_FLAGS rt = D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET;
constexpr D3D12_RESOURCE_FLAGS ds = D3D12_RESOURCE_FLAG_ALLOW_DEPTH_STENCIL;
constexpr D3D12_RESOURCE_FLAGS uav = D3D12_RESOURCE_FLAG_ALLOW_UNORDERED_ACCESS;

AdapterInfo adapter(D3D12_RESOURCE_HEAP_TIER tier, bool uma) {
    AdapterInfo info;
    info.resource_heap_tier = tier;
    info.uma = uma;
    info.cache_coherent_uma = uma;
    info.local_memory_size = 1ull << 30;
    info.non_local_memory_size = 1ull << 30;
    return info;
}

std::uint32_t type_of(const MemoryLayout& layout, D3D12_HEAP_TYPE type, CategorySet category) {
    for (std::uint32_t t = 0; t < layout.memory_types.size(); ++t)
        if (layout.memory_types[t].properties.Type == type && intersects(layout.memory_types[t].categories, category))
            return t;
    ADD_FAILURE() << "no such memory type";
    return 0;
}

TEST(Placement, CategoryOfADescription) {
    EXPECT_EQ(category_of(buffer_desc(256)), ResourceCategory::buffer);
    EXPECT_EQ(category_of(buffer_desc(256, uav)), ResourceCategory::buffer);
    EXPECT_EQ(category_of(texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM)), ResourceCategory::non_rt_ds_texture);
    EXPECT_EQ(category_of(texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, uav)), ResourceCategory::non_rt_ds_texture);
    EXPECT_EQ(category_of(texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, rt)), ResourceCategory::rt_ds_texture);
    EXPECT_EQ(category_of(texture_desc(64, 64, DXGI_FORMAT_D32_FLOAT, ds)), ResourceCategory::rt_ds_texture);
}

TEST(Placement, Tier1MasksKeepCategoriesApartAndTexturesOutOfHostHeaps) {
    // Tier 1 discrete: 0 DEFAULT buffers, 1 DEFAULT textures, 2 DEFAULT RT/DS, 3 UPLOAD, 4 READBACK.
    const MemoryLayout layout = build_memory_layout(adapter(D3D12_RESOURCE_HEAP_TIER_1, false));
    EXPECT_EQ(compatible_memory_types(layout, buffer_desc(256)), 0b11001u);
    EXPECT_EQ(compatible_memory_types(layout, buffer_desc(256, uav)), 0b00001u);
    EXPECT_EQ(compatible_memory_types(layout, texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM)), 0b00010u);
    EXPECT_EQ(compatible_memory_types(layout, texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, rt)), 0b00100u);
    EXPECT_EQ(compatible_memory_types(layout, texture_desc(64, 64, DXGI_FORMAT_D32_FLOAT, ds)), 0b00100u);
}

TEST(Placement, Tier2MasksShareTheDefaultTypeAndUmaAddsCustomForUavBuffers) {
    // Tier 2 CC-UMA: 0 DEFAULT all, 1 UPLOAD, 2 READBACK, 3 CUSTOM buffers.
    const MemoryLayout layout = build_memory_layout(adapter(D3D12_RESOURCE_HEAP_TIER_2, true));
    EXPECT_EQ(compatible_memory_types(layout, buffer_desc(256)), 0b1111u);
    EXPECT_EQ(compatible_memory_types(layout, buffer_desc(256, uav)), 0b1001u);
    EXPECT_EQ(compatible_memory_types(layout, texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM)), 0b0001u);
    EXPECT_EQ(compatible_memory_types(layout, texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, rt)), 0b0001u);
}

TEST(Placement, MakeRequestFillsAnyRequestShapedType) {
    enum class Kind { linear, optimal, unknown };
    struct FakeRequest {
        std::uint64_t size = 0;
        std::uint64_t alignment = 1;
        std::uint32_t memory_types = ~0u;
        Kind kind = Kind::unknown;
        int usage = 7;
    };
    const ResourceRequirements buffer{65536, 65536, 0b101u, ResourceCategory::buffer};
    const FakeRequest r = make_request<FakeRequest>(buffer);
    EXPECT_EQ(r.size, 65536u);
    EXPECT_EQ(r.alignment, 65536u);
    EXPECT_EQ(r.memory_types, 0b101u);
    EXPECT_EQ(r.kind, Kind::linear);
    EXPECT_EQ(r.usage, 7);
    const ResourceRequirements texture{1 << 20, 4 << 20, 0b10u, ResourceCategory::rt_ds_texture};
    EXPECT_EQ(make_request(texture, FakeRequest{}).kind, Kind::optimal);
}

TEST(Placement, ErrorsPrint) {
    std::ostringstream os;
    os << PlacementError{PlacementErrorKind::create_failed, static_cast<HRESULT>(0x80070057)} << "; "
       << PlacementErrorKind::misaligned_offset;
    EXPECT_EQ(os.str(), "CreatePlacedResource failed (HRESULT 0x80070057); misaligned offset");
}

class PlacementOnVkd3d : public test::Vkd3dTest {
protected:
    void SetUp() override {
        test::Vkd3dTest::SetUp();
        if (HasFatalFailure()) return;
        auto info = query_adapter_info(device_);
        ASSERT_TRUE(info.has_value());
        AdapterInfo tier1 = *info;
        tier1.resource_heap_tier = D3D12_RESOURCE_HEAP_TIER_1;
        layout_ = build_memory_layout(tier1);
    }
    MemoryLayout layout_;
};

TEST_F(PlacementOnVkd3d, RequirementsComeFromGetResourceAllocationInfo) {
    D3D12MemoryDevice device(device_, layout_);
    struct Case {
        D3D12_RESOURCE_DESC desc;
        ResourceCategory category;
    };
    const Case cases[] = {
        {buffer_desc(1000), ResourceCategory::buffer},
        {buffer_desc(3 << 20, uav), ResourceCategory::buffer},
        {texture_desc(256, 256, DXGI_FORMAT_R8G8B8A8_UNORM), ResourceCategory::non_rt_ds_texture},
        {texture_desc(128, 128, DXGI_FORMAT_R8G8B8A8_UNORM, rt), ResourceCategory::rt_ds_texture},
        {texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, rt, 4), ResourceCategory::rt_ds_texture},
        {texture_desc(64, 64, DXGI_FORMAT_D32_FLOAT, ds), ResourceCategory::rt_ds_texture},
    };
    for (const Case& c : cases) {
        const D3D12_RESOURCE_ALLOCATION_INFO expected = device_->GetResourceAllocationInfo(0, 1, &c.desc);
        auto requirements = resource_requirements(device, c.desc);
        ASSERT_TRUE(requirements.has_value()) << requirements.error();
        EXPECT_EQ(requirements->size, expected.SizeInBytes);
        EXPECT_EQ(requirements->alignment, expected.Alignment);
        EXPECT_EQ(requirements->category, c.category);
        EXPECT_EQ(requirements->memory_types, compatible_memory_types(layout_, c.desc));
        EXPECT_EQ(requirements->alignment & (requirements->alignment - 1), 0u);
        if (c.category == ResourceCategory::buffer) {
            EXPECT_EQ(requirements->alignment, 65536u);  // D3D12: every buffer is 64 KiB aligned
            EXPECT_EQ(requirements->size % 65536u, 0u);
        }
    }
    // Naming the heap type narrows the mask to it; textures have no UPLOAD heap.
    const D3D12_RESOURCE_DESC buffer = buffer_desc(4096);
    for (D3D12_HEAP_TYPE type : {D3D12_HEAP_TYPE_DEFAULT, D3D12_HEAP_TYPE_UPLOAD, D3D12_HEAP_TYPE_READBACK,
                                 D3D12_HEAP_TYPE_CUSTOM}) {
        auto typed = resource_requirements(device, buffer, type);
        ASSERT_TRUE(typed.has_value()) << "heap type " << type;
        EXPECT_NE(typed->memory_types, 0u);
        EXPECT_EQ(typed->memory_types, compatible_memory_types(layout_, buffer) & heap_type_mask(layout_, type));
        for (std::uint32_t t = 0; t < 32; ++t) {
            if (typed->memory_types & (1u << t)) {
                EXPECT_EQ(layout_.memory_types[t].properties.Type, type);
            }
        }
    }
    EXPECT_EQ(heap_type_mask(layout_, any_heap_type), (1u << layout_.memory_types.size()) - 1);
    auto no_upload_texture =
        resource_requirements(device, texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM), D3D12_HEAP_TYPE_UPLOAD);
    ASSERT_FALSE(no_upload_texture.has_value());
    EXPECT_EQ(no_upload_texture.error().kind, PlacementErrorKind::no_compatible_memory_type);

    // D3D12 answers SizeInBytes == UINT64_MAX for a description it rejects.
    auto invalid = resource_requirements(device, texture_desc(64, 64, DXGI_FORMAT_UNKNOWN));
    ASSERT_FALSE(invalid.has_value());
    EXPECT_EQ(invalid.error().kind, PlacementErrorKind::invalid_desc);
}

TEST_F(PlacementOnVkd3d, PlacementRulesAreCheckedBeforeD3D12SeesThem) {
    D3D12MemoryDevice device(device_, layout_);
    const std::uint64_t heap_size = 1ull << 20;
    const std::uint32_t default_buffers = type_of(layout_, D3D12_HEAP_TYPE_DEFAULT, CategorySet::buffers);
    const std::uint32_t default_rt = type_of(layout_, D3D12_HEAP_TYPE_DEFAULT, CategorySet::rt_ds_textures);
    const std::uint32_t upload = type_of(layout_, D3D12_HEAP_TYPE_UPLOAD, CategorySet::buffers);
    auto buffers = device.allocate_memory({heap_size, default_buffers});
    auto rt_heap = device.allocate_memory({4ull << 20, default_rt});
    auto upload_heap = device.allocate_memory({heap_size, upload});
    ASSERT_TRUE(buffers && rt_heap && upload_heap);

    auto kind_of = [&](const D3D12Memory& memory, std::uint64_t offset, std::uint64_t range,
                       const D3D12_RESOURCE_DESC& desc) {
        auto r = check_placement(device, memory, offset, range, desc);
        return r.has_value() ? std::string("ok") : std::string(to_string(r.error().kind));
    };
    const D3D12_RESOURCE_DESC buffer = buffer_desc(128 << 10);
    EXPECT_EQ(kind_of(*buffers, 0, heap_size, buffer), "ok");
    EXPECT_EQ(kind_of(*buffers, heap_size - (128 << 10), 128 << 10, buffer), "ok");
    EXPECT_EQ(kind_of(*buffers, 4096, heap_size, buffer), to_string(PlacementErrorKind::misaligned_offset));
    EXPECT_EQ(kind_of(*buffers, heap_size - (64 << 10), heap_size, buffer), to_string(PlacementErrorKind::outside_heap));
    EXPECT_EQ(kind_of(*buffers, heap_size, heap_size, buffer), to_string(PlacementErrorKind::outside_heap));
    EXPECT_EQ(kind_of(*buffers, 0, 64 << 10, buffer), to_string(PlacementErrorKind::outside_range));
    // Tier 1 categories.
    const D3D12_RESOURCE_DESC texture = texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM);
    const D3D12_RESOURCE_DESC target = texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, rt);
    EXPECT_EQ(kind_of(*buffers, 0, heap_size, texture), to_string(PlacementErrorKind::wrong_heap));
    EXPECT_EQ(kind_of(*rt_heap, 0, 4ull << 20, target), "ok");
    EXPECT_EQ(kind_of(*rt_heap, 0, 4ull << 20, texture), to_string(PlacementErrorKind::wrong_heap));
    EXPECT_EQ(kind_of(*rt_heap, 0, 4ull << 20, buffer), to_string(PlacementErrorKind::wrong_heap));
    // UPLOAD holds plain buffers only.
    EXPECT_EQ(kind_of(*upload_heap, 0, heap_size, buffer), "ok");
    EXPECT_EQ(kind_of(*upload_heap, 0, heap_size, buffer_desc(64 << 10, uav)), to_string(PlacementErrorKind::wrong_heap));
    // An MSAA texture asking for 4 MiB alignment (what Windows reports) in a 64 KiB-aligned heap.
    D3D12_RESOURCE_DESC msaa = texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, rt, 4);
    msaa.Alignment = D3D12_DEFAULT_MSAA_RESOURCE_PLACEMENT_ALIGNMENT;
    EXPECT_EQ(kind_of(*rt_heap, 0, 4ull << 20, msaa), "ok");
    MemoryLayout small_alignment = layout_;
    small_alignment.memory_types[default_rt].alignment = default_heap_alignment;
    D3D12MemoryDevice small_device(device_, small_alignment);
    auto small_rt_heap = small_device.allocate_memory({4ull << 20, default_rt});
    ASSERT_TRUE(small_rt_heap.has_value());
    auto small = check_placement(small_device, *small_rt_heap, 0, 4ull << 20, msaa);
    ASSERT_FALSE(small.has_value());
    EXPECT_EQ(small.error().kind, PlacementErrorKind::heap_alignment_too_small);
    small_device.deallocate_memory(*small_rt_heap);

    // A checked placement becomes a resource in that heap.
    auto placed = create_placed_resource(device, *buffers, 64 << 10, heap_size - (64 << 10), buffer,
                                         D3D12_RESOURCE_STATE_COMMON);
    ASSERT_TRUE(placed.has_value()) << placed.error();
    Ref<ID3D12Resource> resource(*placed);
    EXPECT_EQ(resource->GetDesc().Width, 128u << 10);
    auto refused = create_placed_resource(device, *buffers, 4096, heap_size, buffer, D3D12_RESOURCE_STATE_COMMON);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().kind, PlacementErrorKind::misaligned_offset);
    resource.reset();

    device.deallocate_memory(*buffers);
    device.deallocate_memory(*rt_heap);
    device.deallocate_memory(*upload_heap);
}

TEST_F(PlacementOnVkd3d, CreateFailureCarriesTheHresult) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    std::uint32_t upload = 0;
    while (device->layout().memory_types[upload].properties.Type != D3D12_HEAP_TYPE_UPLOAD) ++upload;
    auto heap = device->allocate_memory({1ull << 20, upload});
    ASSERT_TRUE(heap.has_value());
    // Upload heaps need GENERIC_READ; D3D12 refuses COPY_DEST.
    auto placed = create_placed_resource(*device, *heap, 0, 1ull << 20, buffer_desc(64 << 10),
                                         D3D12_RESOURCE_STATE_COPY_DEST);
    if (placed.has_value()) {
        (*placed)->Release();
        GTEST_SKIP() << "vkd3d accepted an upload buffer in COPY_DEST";
    }
    EXPECT_EQ(placed.error().kind, PlacementErrorKind::create_failed);
    EXPECT_TRUE(FAILED(placed.error().result));
    device->deallocate_memory(*heap);
}

// The harness's self-test. vkd3d accepts a buffer placed past the end of its
// heap (Windows rejects it); the Vulkan validation layer underneath reports the
// bind, and the harness must see that report. The adapter's check refuses it.
TEST_F(PlacementOnVkd3d, ValidationLayerReportsWhatVkd3dLetsThrough) {
    D3D12MemoryDevice device(device_, layout_);
    const std::uint64_t heap_size = 1ull << 20;
    auto heap = device.allocate_memory({heap_size, type_of(layout_, D3D12_HEAP_TYPE_DEFAULT, CategorySet::buffers)});
    ASSERT_TRUE(heap.has_value());
    const D3D12_RESOURCE_DESC desc = buffer_desc(128 << 10);

    auto checked = check_placement(device, *heap, heap_size - (64 << 10), heap_size, desc);
    ASSERT_FALSE(checked.has_value());
    EXPECT_EQ(checked.error().kind, PlacementErrorKind::outside_heap);

    Ref<ID3D12Resource> raw;
    const HRESULT hr = device_->CreatePlacedResource(heap->heap(), heap_size - (64 << 10), &desc,
                                                     D3D12_RESOURCE_STATE_COMMON, nullptr, iid_of<ID3D12Resource>(),
                                                     raw.out());
    EXPECT_TRUE(SUCCEEDED(hr)) << "vkd3d now refuses out-of-heap placements: the docs need updating";
    const std::string messages = test::ValidationLog::take();
    EXPECT_NE(messages.find("VUID-vkBindBufferMemory-size-01037"), std::string::npos)
        << "the validation layer is not underneath vkd3d, or its log does not reach the tests ("
        << test::ValidationLog::path() << "):\n"
        << messages;
    raw.reset();
    device.deallocate_memory(*heap);
}

}  // namespace
}  // namespace gpu_alloc::d3d12
