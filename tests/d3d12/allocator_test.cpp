// End to end on real D3D12 (vkd3d over lavapipe): GpuAllocator over
// D3D12MemoryDevice, placed buffers and textures at the offsets the allocator
// chose, data written through mapped UPLOAD blocks, copied UPLOAD -> DEFAULT ->
// READBACK on a queue and read back byte for byte.
//
// vkd3d accepts placements that Windows rejects, so every placement is also
// checked here against D3D12's rules from raw D3D12 answers (the heap's own
// GetDesc and GetResourceAllocationInfo), independently of the adapter's
// check_placement: offset aligned to the reported alignment, resource inside
// its heap and its block, heap alignment and type, the heap's category flags
// admit the resource (tier 1 simulated on the tier 2 device), no two resources
// of one heap overlap.
#include <gpu_alloc/d3d12/placement.hpp>
#include <gpu_alloc/gpu_allocator.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include "vkd3d_harness.hpp"

namespace gpu_alloc::d3d12 {
namespace {

using test::buffer_desc;
using test::Ref;
using test::texture_desc;
using test::transition;
using Allocator = GpuAllocator<D3D12Memory>;
using Block = Allocator::Block;

std::byte pattern(std::uint64_t i, std::uint32_t seed) {
    const std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (std::uint64_t{seed} << 32);
    return static_cast<std::byte>(x >> 56);
}

// One placed resource and the block under it.
struct Placed {
    Block block;
    Ref<ID3D12Resource> resource;
    D3D12_RESOURCE_DESC desc{};
};

// D3D12's placement rules, from raw D3D12 answers. Records [offset, end) per
// heap to check that resources of one heap never overlap.
class PlacementAuditor {
public:
    PlacementAuditor(ID3D12Device* device, bool tier1) : device_(device), tier1_(tier1) {}

    void check(const Block& block, const D3D12_RESOURCE_DESC& desc, D3D12_HEAP_TYPE heap_type) {
        const D3D12_RESOURCE_ALLOCATION_INFO info = device_->GetResourceAllocationInfo(0, 1, &desc);
        const D3D12_HEAP_DESC heap = block.memory().heap()->GetDesc();
        ++count_;
        EXPECT_EQ(block.offset() % info.Alignment, 0u) << "offset " << block.offset() << " alignment " << info.Alignment;
        EXPECT_GE(heap.Alignment, info.Alignment);
        EXPECT_LE(block.offset() + info.SizeInBytes, heap.SizeInBytes) << "resource passes the end of its heap";
        EXPECT_LE(info.SizeInBytes, block.size()) << "resource larger than its block";
        EXPECT_EQ(heap.Properties.Type, heap_type);

        const bool buffer = desc.Dimension == D3D12_RESOURCE_DIMENSION_BUFFER;
        const bool rt_ds = !buffer && (desc.Flags & (D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET |
                                                     D3D12_RESOURCE_FLAG_ALLOW_DEPTH_STENCIL)) != 0;
        const D3D12_HEAP_FLAGS deny = buffer  ? D3D12_HEAP_FLAG_DENY_BUFFERS
                                      : rt_ds ? D3D12_HEAP_FLAG_DENY_RT_DS_TEXTURES
                                              : D3D12_HEAP_FLAG_DENY_NON_RT_DS_TEXTURES;
        EXPECT_EQ(heap.Flags & deny, 0) << "the heap's flags deny this resource category";
        if (tier1_) {
            // Tier 1: every heap admits exactly one category.
            const auto categories = static_cast<int>((heap.Flags & D3D12_HEAP_FLAG_DENY_BUFFERS) == 0) +
                                    static_cast<int>((heap.Flags & D3D12_HEAP_FLAG_DENY_RT_DS_TEXTURES) == 0) +
                                    static_cast<int>((heap.Flags & D3D12_HEAP_FLAG_DENY_NON_RT_DS_TEXTURES) == 0);
            EXPECT_EQ(categories, 1) << "tier 1 heap with flags 0x" << std::hex << heap.Flags;
        }
        if (heap_type == D3D12_HEAP_TYPE_UPLOAD || heap_type == D3D12_HEAP_TYPE_READBACK) {
            EXPECT_TRUE(buffer);
        }

        auto& ranges = ranges_[block.memory().heap()];
        const std::uint64_t begin = block.offset();
        const std::uint64_t end = begin + info.SizeInBytes;
        auto next = ranges.lower_bound({begin, 0});
        if (next != ranges.end()) {
            EXPECT_LE(end, next->first) << "resources overlap in one heap";
        }
        if (next != ranges.begin()) {
            EXPECT_LE(std::prev(next)->second, begin) << "resources overlap in one heap";
        }
        ranges.insert({begin, end});
    }

    std::size_t resources() const { return count_; }
    std::size_t heaps() const { return ranges_.size(); }

private:
    ID3D12Device* device_;
    bool tier1_;
    std::size_t count_ = 0;
    std::map<ID3D12Heap*, std::set<std::pair<std::uint64_t, std::uint64_t>>> ranges_;
};

class AllocatorOnVkd3d : public test::Vkd3dTest {
protected:
    // The device's own layout, or one simulated on it: tier 1 with the device's
    // (UMA) facts, or a discrete tier 1 adapter (two heaps, no CUSTOM type).
    enum class Simulated { none, tier1, discrete_tier1 };
    MemoryLayout layout(Simulated simulated) {
        auto info = query_adapter_info(device_);
        EXPECT_TRUE(info.has_value());
        if (simulated != Simulated::none) info->resource_heap_tier = D3D12_RESOURCE_HEAP_TIER_1;
        if (simulated == Simulated::discrete_tier1) {
            info->uma = false;
            info->cache_coherent_uma = false;
            info->non_local_memory_size = info->local_memory_size;
        }
        return build_memory_layout(*info);
    }

    // Allocates a block for `desc` in a heap of `heap_type` and places the resource in it.
    Placed place(Allocator& allocator, D3D12MemoryDevice& device, PlacementAuditor& auditor,
                 const D3D12_RESOURCE_DESC& desc, D3D12_HEAP_TYPE heap_type, UsageFlags usage,
                 D3D12_RESOURCE_STATES state) {
        Placed out;
        out.desc = desc;
        auto requirements = resource_requirements(device, desc, heap_type);
        EXPECT_TRUE(requirements.has_value()) << requirements.error();
        if (!requirements) return out;
        Request request = make_request<Request>(*requirements);
        request.usage = usage;
        auto block = allocator.allocate(device, request);
        EXPECT_TRUE(block.has_value()) << block.error();
        if (!block) return out;
        out.block = std::move(*block);
        auditor.check(out.block, desc, heap_type);
        auto resource = create_placed_resource(device, out.block, desc, state);
        EXPECT_TRUE(resource.has_value()) << resource.error();
        if (resource) out.resource = Ref<ID3D12Resource>(*resource);
        return out;
    }

    void free_all(Allocator& allocator, D3D12MemoryDevice& device, std::vector<Placed>& placed) {
        for (Placed& p : placed) {
            p.resource.reset();
            if (p.block) allocator.deallocate(device, std::move(p.block));
        }
        placed.clear();
    }

    void buffers_round_trip(Simulated simulated);
    void textures_round_trip(Simulated simulated);
};

void AllocatorOnVkd3d::buffers_round_trip(Simulated simulated) {
    const bool tier1 = simulated != Simulated::none;
    D3D12MemoryDevice device(device_, layout(simulated));
    Allocator allocator(device.properties(), Config::for_device(device.properties()));
    PlacementAuditor auditor(device_, tier1);
    test::GpuQueue queue(device_);
    ASSERT_TRUE(queue.ok());

    // Odd sizes, whole 64 KiB pages, and one past the dedicated threshold.
    const std::uint64_t dedicated = Config::for_device(device.properties()).dedicated_threshold;
    const std::vector<std::uint64_t> sizes = {17, 1000, 65536, 200000, (1ull << 20) + 3, 3ull << 20, dedicated + 4096};
    std::vector<Placed> upload, gpu, readback;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const D3D12_RESOURCE_DESC desc = buffer_desc(sizes[i]);
        upload.push_back(place(allocator, device, auditor, desc, D3D12_HEAP_TYPE_UPLOAD, UsageFlags::upload,
                               D3D12_RESOURCE_STATE_GENERIC_READ));
        gpu.push_back(place(allocator, device, auditor, desc, D3D12_HEAP_TYPE_DEFAULT, UsageFlags::fast_device_access,
                            D3D12_RESOURCE_STATE_COPY_DEST));
        readback.push_back(place(allocator, device, auditor, desc, D3D12_HEAP_TYPE_READBACK, UsageFlags::download,
                                 D3D12_RESOURCE_STATE_COPY_DEST));
        ASSERT_FALSE(HasFailure()) << "size " << sizes[i];
    }
    EXPECT_TRUE(gpu.back().block.is_dedicated());
    EXPECT_LT(auditor.heaps(), auditor.resources()) << "blocks were expected to share heaps";

    for (std::size_t i = 0; i < sizes.size(); ++i) {
        Block& block = upload[i].block;
        auto ptr = block.map(device, 0, sizes[i]);
        ASSERT_TRUE(ptr.has_value());
        for (std::uint64_t b = 0; b < sizes[i]; ++b) (*ptr)[b] = pattern(b, static_cast<std::uint32_t>(i));
        ASSERT_TRUE(block.flush(device, 0, sizes[i]).has_value());
        ASSERT_TRUE(block.unmap(device).has_value());
    }

    ID3D12GraphicsCommandList* list = queue.list();
    for (std::size_t i = 0; i < sizes.size(); ++i)
        list->CopyBufferRegion(gpu[i].resource.get(), 0, upload[i].resource.get(), 0, sizes[i]);
    std::vector<D3D12_RESOURCE_BARRIER> barriers;
    for (Placed& p : gpu)
        barriers.push_back(transition(p.resource.get(), D3D12_RESOURCE_STATE_COPY_DEST, D3D12_RESOURCE_STATE_COPY_SOURCE));
    list->ResourceBarrier(static_cast<UINT>(barriers.size()), barriers.data());
    for (std::size_t i = 0; i < sizes.size(); ++i)
        list->CopyBufferRegion(readback[i].resource.get(), 0, gpu[i].resource.get(), 0, sizes[i]);
    ASSERT_TRUE(queue.submit_and_wait());

    for (std::size_t i = 0; i < sizes.size(); ++i) {
        Block& block = readback[i].block;
        auto ptr = block.map(device, 0, sizes[i]);
        ASSERT_TRUE(ptr.has_value());
        ASSERT_TRUE(block.invalidate(device, 0, sizes[i]).has_value());
        std::uint64_t wrong = 0;
        for (std::uint64_t b = 0; b < sizes[i]; ++b) wrong += (*ptr)[b] != pattern(b, static_cast<std::uint32_t>(i));
        EXPECT_EQ(wrong, 0u) << "buffer " << i << " of " << sizes[i] << " bytes";
        ASSERT_TRUE(block.unmap(device).has_value());
    }

    free_all(allocator, device, upload);
    free_all(allocator, device, gpu);
    free_all(allocator, device, readback);
    allocator.cleanup(device);
    EXPECT_EQ(allocator.totals().device_objects, 0u);
    EXPECT_EQ(device.live_heap_count(), 0u);
}

void AllocatorOnVkd3d::textures_round_trip(Simulated simulated) {
    const bool tier1 = simulated != Simulated::none;
    D3D12MemoryDevice device(device_, layout(simulated));
    Allocator allocator(device.properties(), Config::for_device(device.properties()));
    PlacementAuditor auditor(device_, tier1);
    test::GpuQueue queue(device_);
    ASSERT_TRUE(queue.ok());

    struct Copyable {
        D3D12_RESOURCE_DESC desc;
        std::uint32_t seed;
    };
    const Copyable copyable[] = {
        {texture_desc(256, 256, DXGI_FORMAT_R8G8B8A8_UNORM), 1},
        {texture_desc(128, 96, DXGI_FORMAT_R8G8B8A8_UNORM, D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET), 2},
        {texture_desc(60, 30, DXGI_FORMAT_R8G8B8A8_UNORM), 3},
    };
    std::vector<Placed> textures, upload, readback;
    std::vector<D3D12_PLACED_SUBRESOURCE_FOOTPRINT> footprints;
    std::vector<UINT> rows;
    std::vector<std::uint64_t> row_sizes;
    for (const Copyable& c : copyable) {
        textures.push_back(place(allocator, device, auditor, c.desc, D3D12_HEAP_TYPE_DEFAULT,
                                 UsageFlags::fast_device_access, D3D12_RESOURCE_STATE_COPY_DEST));
        D3D12_PLACED_SUBRESOURCE_FOOTPRINT footprint{};
        UINT row_count = 0;
        UINT64 row_size = 0;
        UINT64 total = 0;
        device_->GetCopyableFootprints(&c.desc, 0, 1, 0, &footprint, &row_count, &row_size, &total);
        footprints.push_back(footprint);
        rows.push_back(row_count);
        row_sizes.push_back(std::uint64_t{row_size});
        upload.push_back(place(allocator, device, auditor, buffer_desc(total), D3D12_HEAP_TYPE_UPLOAD,
                               UsageFlags::upload, D3D12_RESOURCE_STATE_GENERIC_READ));
        readback.push_back(place(allocator, device, auditor, buffer_desc(total), D3D12_HEAP_TYPE_READBACK,
                                 UsageFlags::download, D3D12_RESOURCE_STATE_COPY_DEST));
        ASSERT_FALSE(HasFailure());
    }
    // Placed only (not copyable to buffers): a depth buffer and a 4x MSAA render target.
    std::vector<Placed> others;
    others.push_back(place(allocator, device, auditor,
                           texture_desc(64, 64, DXGI_FORMAT_D32_FLOAT, D3D12_RESOURCE_FLAG_ALLOW_DEPTH_STENCIL),
                           D3D12_HEAP_TYPE_DEFAULT, UsageFlags::fast_device_access, D3D12_RESOURCE_STATE_DEPTH_WRITE));
    others.push_back(place(allocator, device, auditor,
                           texture_desc(64, 64, DXGI_FORMAT_R8G8B8A8_UNORM, D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET, 4),
                           D3D12_HEAP_TYPE_DEFAULT, UsageFlags::fast_device_access,
                           D3D12_RESOURCE_STATE_RENDER_TARGET));
    ASSERT_FALSE(HasFailure());
    if (tier1) {
        // Tier 1: plain textures and RT/DS textures come from different memory types.
        EXPECT_NE(textures[0].block.memory_type(), textures[1].block.memory_type());
        EXPECT_EQ(textures[1].block.memory_type(), others[0].block.memory_type());
        EXPECT_EQ(textures[1].block.memory_type(), others[1].block.memory_type());
    }

    ID3D12GraphicsCommandList* list = queue.list();
    for (std::size_t i = 0; i < textures.size(); ++i) {
        Block& block = upload[i].block;
        auto ptr = block.map(device, 0, block.size());
        ASSERT_TRUE(ptr.has_value());
        for (UINT r = 0; r < rows[i]; ++r)
            for (std::uint64_t b = 0; b < row_sizes[i]; ++b)
                (*ptr)[footprints[i].Offset + r * footprints[i].Footprint.RowPitch + b] =
                    pattern(r * row_sizes[i] + b, copyable[i].seed);
        ASSERT_TRUE(block.unmap(device).has_value());

        D3D12_TEXTURE_COPY_LOCATION texture{};
        texture.pResource = textures[i].resource.get();
        texture.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
        texture.SubresourceIndex = 0;
        D3D12_TEXTURE_COPY_LOCATION source{};
        source.pResource = upload[i].resource.get();
        source.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
        source.PlacedFootprint = footprints[i];
        list->CopyTextureRegion(&texture, 0, 0, 0, &source, nullptr);
        const D3D12_RESOURCE_BARRIER barrier = transition(texture.pResource, D3D12_RESOURCE_STATE_COPY_DEST,
                                                          D3D12_RESOURCE_STATE_COPY_SOURCE);
        list->ResourceBarrier(1, &barrier);
        D3D12_TEXTURE_COPY_LOCATION destination = source;
        destination.pResource = readback[i].resource.get();
        list->CopyTextureRegion(&destination, 0, 0, 0, &texture, nullptr);
    }
    ASSERT_TRUE(queue.submit_and_wait());

    for (std::size_t i = 0; i < textures.size(); ++i) {
        Block& block = readback[i].block;
        auto ptr = block.map(device, 0, block.size());
        ASSERT_TRUE(ptr.has_value());
        ASSERT_TRUE(block.invalidate(device, 0, block.size()).has_value());
        std::uint64_t wrong = 0;
        for (UINT r = 0; r < rows[i]; ++r)
            for (std::uint64_t b = 0; b < row_sizes[i]; ++b)
                wrong += (*ptr)[footprints[i].Offset + r * footprints[i].Footprint.RowPitch + b] !=
                         pattern(r * row_sizes[i] + b, copyable[i].seed);
        EXPECT_EQ(wrong, 0u) << "texture " << i;
        ASSERT_TRUE(block.unmap(device).has_value());
    }

    free_all(allocator, device, textures);
    free_all(allocator, device, upload);
    free_all(allocator, device, readback);
    free_all(allocator, device, others);
    allocator.cleanup(device);
    EXPECT_EQ(device.live_heap_count(), 0u);
}

TEST_F(AllocatorOnVkd3d, BuffersRoundTripOnTheDeviceLayout) { buffers_round_trip(Simulated::none); }
TEST_F(AllocatorOnVkd3d, BuffersRoundTripOnASimulatedTier1Layout) { buffers_round_trip(Simulated::tier1); }
TEST_F(AllocatorOnVkd3d, BuffersRoundTripOnASimulatedDiscreteTier1Layout) {
    buffers_round_trip(Simulated::discrete_tier1);
}
TEST_F(AllocatorOnVkd3d, TexturesRoundTripOnTheDeviceLayout) { textures_round_trip(Simulated::none); }
TEST_F(AllocatorOnVkd3d, TexturesRoundTripOnASimulatedTier1Layout) { textures_round_trip(Simulated::tier1); }
TEST_F(AllocatorOnVkd3d, TexturesRoundTripOnASimulatedDiscreteTier1Layout) {
    textures_round_trip(Simulated::discrete_tier1);
}

TEST_F(AllocatorOnVkd3d, ManyPlacementsFromTwoThreadsFreedInAnyOrder) {
    D3D12MemoryDevice device(device_, layout(Simulated::tier1));
    Allocator allocator(device.properties(), Config::for_device(device.properties()));
    std::atomic<int> failures{0};
    auto work = [&](std::uint32_t seed) {
        std::mt19937 rng(seed);
        std::vector<Placed> live;
        PlacementAuditor unused(device_, true);
        for (int step = 0; step < 150; ++step) {
            if (!live.empty() && rng() % 3 == 0) {
                const std::size_t victim = rng() % live.size();
                live[victim].resource.reset();
                allocator.deallocate(device, std::move(live[victim].block));
                live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
                continue;
            }
            const bool texture = rng() % 2 == 0;
            const D3D12_RESOURCE_DESC desc =
                texture ? texture_desc(16u << (rng() % 5), 16u << (rng() % 5), DXGI_FORMAT_R8G8B8A8_UNORM)
                        : buffer_desc(1 + rng() % (2u << 20));
            auto requirements = resource_requirements(device, desc, D3D12_HEAP_TYPE_DEFAULT);
            if (!requirements) { ++failures; continue; }
            Request request = make_request<Request>(*requirements);
            request.usage = UsageFlags::fast_device_access;
            auto block = allocator.allocate(device, request);
            if (!block) { ++failures; continue; }
            auto resource = create_placed_resource(device, *block, desc, D3D12_RESOURCE_STATE_COMMON);
            if (!resource) ++failures;
            Placed p;
            p.block = std::move(*block);
            if (resource) p.resource = Ref<ID3D12Resource>(*resource);
            live.push_back(std::move(p));
        }
        std::shuffle(live.begin(), live.end(), rng);
        for (Placed& p : live) {
            p.resource.reset();
            allocator.deallocate(device, std::move(p.block));
        }
    };
    std::thread a(work, 1u);
    std::thread b(work, 2u);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    allocator.cleanup(device);
    EXPECT_EQ(allocator.totals().device_objects, 0u);
    EXPECT_EQ(device.live_heap_count(), 0u);
}

}  // namespace
}  // namespace gpu_alloc::d3d12
