// D3D12MemoryDevice on a real vkd3d device: heaps of every memory type (real
// layout, simulated tier 1, simulated discrete), mapping through the covering
// buffer, coherent flush/invalidate, errors as values, contract violations.
#include <gpu_alloc/d3d12/memory_device.hpp>
#include <gpu_alloc/types/dyn_device.hpp>

#include <cstring>
#include <type_traits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vkd3d_harness.hpp"

namespace gpu_alloc::d3d12 {
namespace {

struct NamedLayout {
    std::string name;
    MemoryLayout layout;
};

// The layout vkd3d reports, plus simulated ones that a tier 2 device accepts:
// tier 1 with the real UMA facts (6 types), and a discrete tier 1 adapter (5 types).
std::vector<NamedLayout> layouts_for(ID3D12Device* device) {
    std::vector<NamedLayout> out;
    auto info = query_adapter_info(device);
    if (!info) return out;
    out.push_back({"real", build_memory_layout(*info)});
    AdapterInfo tier1 = *info;
    tier1.resource_heap_tier = D3D12_RESOURCE_HEAP_TIER_1;
    out.push_back({"tier1", build_memory_layout(tier1)});
    AdapterInfo discrete = tier1;
    discrete.uma = false;
    discrete.cache_coherent_uma = false;
    discrete.non_local_memory_size = info->local_memory_size;
    out.push_back({"tier1-discrete", build_memory_layout(discrete)});
    return out;
}

std::byte pattern(std::uint64_t i, std::uint32_t seed) {
    return static_cast<std::byte>((i * 2654435761u + seed) >> 7);
}

class MemoryDeviceTest : public test::Vkd3dTest {};

TEST_F(MemoryDeviceTest, EveryMemoryTypeCreatesTheHeapItDescribes) {
    const auto layouts = layouts_for(device_);
    ASSERT_EQ(layouts.size(), 3u);
    for (const NamedLayout& named : layouts) {
        D3D12MemoryDevice device(device_, named.layout);
        for (std::uint32_t t = 0; t < named.layout.memory_types.size(); ++t) {
            SCOPED_TRACE(named.name + " memory type " + std::to_string(t));
            const HeapKind& kind = named.layout.memory_types[t];
            MemoryAllocateInfo info;
            info.size = (3ull << 20) + (64ull << 10);
            info.memory_type = t;
            auto memory = device.allocate_memory(info);
            ASSERT_TRUE(memory.has_value()) << to_string(memory.error()) << " hr " << std::hex << device.last_failure();
            EXPECT_EQ(device.live_heap_count(), 1u);
            EXPECT_EQ(memory->size(), info.size);
            EXPECT_EQ(memory->memory_type(), t);

            const D3D12_HEAP_DESC desc = memory->heap()->GetDesc();
            EXPECT_EQ(desc.SizeInBytes, info.size);
            EXPECT_EQ(desc.Alignment, kind.alignment);
            EXPECT_EQ(desc.Flags, kind.flags);
            EXPECT_EQ(desc.Properties.Type, kind.properties.Type);
            if (kind.properties.Type == D3D12_HEAP_TYPE_CUSTOM) {
                EXPECT_EQ(desc.Properties.CPUPageProperty, kind.properties.CPUPageProperty);
                EXPECT_EQ(desc.Properties.MemoryPoolPreference, kind.properties.MemoryPoolPreference);
            }

            ASSERT_EQ(memory->mapping_buffer() != nullptr, kind.mappable);
            if (kind.mappable) {
                const D3D12_RESOURCE_DESC buffer = memory->mapping_buffer()->GetDesc();
                EXPECT_EQ(buffer.Dimension, D3D12_RESOURCE_DIMENSION_BUFFER);
                EXPECT_EQ(buffer.Width, info.size);
                // A placed resource reports the properties and flags of its heap.
                D3D12_HEAP_PROPERTIES props{};
                D3D12_HEAP_FLAGS flags{};
                ASSERT_TRUE(SUCCEEDED(memory->mapping_buffer()->GetHeapProperties(&props, &flags)));
                EXPECT_EQ(props.Type, kind.properties.Type);
                EXPECT_EQ(flags, kind.flags);
            }
            device.deallocate_memory(*memory);
            EXPECT_EQ(device.live_heap_count(), 0u);
        }
    }
}

TEST_F(MemoryDeviceTest, MappedBytesStayAndTheOffsetIsApplied) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    const std::uint64_t size = 1ull << 20;
    for (std::uint32_t t = 0; t < device->layout().memory_types.size(); ++t) {
        if (!device->layout().memory_types[t].mappable) continue;
        SCOPED_TRACE("memory type " + std::to_string(t));
        auto memory = device->allocate_memory({size, t});
        ASSERT_TRUE(memory.has_value());

        auto whole = device->map_memory(*memory, 0, size);
        ASSERT_TRUE(whole.has_value());
        for (std::uint64_t i = 0; i < size; ++i) (*whole)[i] = pattern(i, t);
        device->unmap_memory(*memory);

        const std::uint64_t offset = 4096 + 64;
        auto part = device->map_memory(*memory, offset, 8192);
        ASSERT_TRUE(part.has_value());
        for (std::uint64_t i = 0; i < 8192; ++i) ASSERT_EQ((*part)[i], pattern(offset + i, t)) << "byte " << i;
        device->unmap_memory(*memory);
        device->deallocate_memory(*memory);
    }
}

TEST_F(MemoryDeviceTest, FlushAndInvalidateCheckTheirRangesAndSucceed) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    std::uint32_t upload = 0;
    while (device->layout().memory_types[upload].properties.Type != D3D12_HEAP_TYPE_UPLOAD) ++upload;
    const std::uint64_t size = 256ull << 10;
    auto a = device->allocate_memory({size, upload});
    auto b = device->allocate_memory({size, upload});
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(device->map_memory(*a, 0, size).has_value());
    ASSERT_TRUE(device->map_memory(*b, 0, size).has_value());
    const MappedMemoryRange<D3D12Memory> ranges[] = {{&*a, 0, size}, {&*b, 1, 7}, {&*b, size - 1, 1}, {&*a, size, 0}};
    EXPECT_TRUE(device->flush_memory_ranges(ranges).has_value());
    EXPECT_TRUE(device->invalidate_memory_ranges(ranges).has_value());
    EXPECT_TRUE(device->flush_memory_ranges({}).has_value());
    device->unmap_memory(*a);
    device->unmap_memory(*b);
    device->deallocate_memory(*a);
    device->deallocate_memory(*b);
}

TEST_F(MemoryDeviceTest, WorksThroughTheTypeErasedDevice) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    DynMemoryDeviceAdapter<D3D12MemoryDevice> adapter(*device);
    DynMemoryDevice& dyn = adapter;
    std::uint32_t readback = 0;
    while (device->layout().memory_types[readback].properties.Type != D3D12_HEAP_TYPE_READBACK) ++readback;
    auto memory = dyn.allocate_memory({1ull << 20, readback});
    ASSERT_TRUE(memory.has_value());
    const D3D12Memory inner = DynMemoryDeviceAdapter<D3D12MemoryDevice>::restore(*memory);
    EXPECT_EQ(inner.memory_type(), readback);
    auto ptr = dyn.map_memory(*memory, 64, 1024);
    ASSERT_TRUE(ptr.has_value());
    std::memset(*ptr, 0x5a, 1024);
    // More than eight ranges take the type-erased device's heap path.
    std::vector<MappedMemoryRange<DynMemory>> ranges(12, {&*memory, 0, 1024});
    EXPECT_TRUE(dyn.invalidate_memory_ranges(ranges).has_value());
    EXPECT_FALSE(dyn.query_budget({}));  // no budget query under vkd3d
    dyn.unmap_memory(*memory);
    dyn.deallocate_memory(*memory);
    EXPECT_EQ(device->live_heap_count(), 0u);
}

TEST_F(MemoryDeviceTest, RefusedHeapIsAnErrorWithTheHresult) {
    auto info = query_adapter_info(device_);
    ASSERT_TRUE(info.has_value());
    MemoryLayout layout = build_memory_layout(*info);
    // A CUSTOM heap must name its page property and pool: D3D12 refuses this one.
    HeapKind bad = layout.memory_types[0];
    bad.properties.Type = D3D12_HEAP_TYPE_CUSTOM;
    bad.properties.CPUPageProperty = D3D12_CPU_PAGE_PROPERTY_UNKNOWN;
    bad.properties.MemoryPoolPreference = D3D12_MEMORY_POOL_UNKNOWN;
    layout.memory_types[0] = bad;
    D3D12MemoryDevice device(device_, layout);
    auto memory = device.allocate_memory({1ull << 20, 0});
    ASSERT_FALSE(memory.has_value());
    EXPECT_EQ(memory.error(), OutOfMemory::out_of_device_memory);
    EXPECT_TRUE(FAILED(device.last_failure()));
    EXPECT_EQ(device.live_heap_count(), 0u);
}

TEST_F(MemoryDeviceTest, MovedDeviceKeepsItsHeaps) {
    auto created = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(created.has_value());
    D3D12MemoryDevice first = std::move(*created);
    auto memory = first.allocate_memory({1ull << 20, 0});
    ASSERT_TRUE(memory.has_value());
    D3D12MemoryDevice second = std::move(first);
    EXPECT_EQ(second.live_heap_count(), 1u);
    EXPECT_EQ(second.device(), device_);
    second.deallocate_memory(*memory);
    EXPECT_EQ(second.live_heap_count(), 0u);
}

TEST_F(MemoryDeviceTest, HandleIsPointerSizedAndComparable) {
    static_assert(sizeof(D3D12Memory) == sizeof(void*));
    static_assert(std::is_trivially_copyable_v<D3D12Memory>);
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    auto a = device->allocate_memory({1ull << 20, 0});
    auto b = device->allocate_memory({1ull << 20, 0});
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(*a == *b);
    const D3D12Memory copy = *a;
    EXPECT_TRUE(copy == *a);
    EXPECT_TRUE(D3D12Memory{}.is_null());
    EXPECT_FALSE(a->is_null());
    device->deallocate_memory(*a);
    device->deallocate_memory(*b);
}

// Contract violations abort with a message, in every build type.
class MemoryDeviceDeathTest : public test::Vkd3dTest {
protected:
    std::uint32_t type_of(const D3D12MemoryDevice& device, D3D12_HEAP_TYPE type) {
        std::uint32_t t = 0;
        while (device.layout().memory_types[t].properties.Type != type) ++t;
        return t;
    }
};

TEST_F(MemoryDeviceDeathTest, MapOfDeviceLocalMemory) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    auto memory = device->allocate_memory({1ull << 20, type_of(*device, D3D12_HEAP_TYPE_DEFAULT)});
    ASSERT_TRUE(memory.has_value());
    EXPECT_DEATH((void)device->map_memory(*memory, 0, 64), "not host-visible");
    device->deallocate_memory(*memory);
}

TEST_F(MemoryDeviceDeathTest, MapTwiceUnmapUnmappedAndFreeMapped) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    auto memory = device->allocate_memory({1ull << 20, type_of(*device, D3D12_HEAP_TYPE_UPLOAD)});
    ASSERT_TRUE(memory.has_value());
    EXPECT_DEATH(device->unmap_memory(*memory), "not mapped");
    ASSERT_TRUE(device->map_memory(*memory, 0, 64).has_value());
    EXPECT_DEATH((void)device->map_memory(*memory, 0, 64), "already mapped");
    EXPECT_DEATH(device->deallocate_memory(*memory), "still mapped");
    device->unmap_memory(*memory);
    device->deallocate_memory(*memory);
}

TEST_F(MemoryDeviceDeathTest, MapOutsideTheHeap) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    auto memory = device->allocate_memory({1ull << 20, type_of(*device, D3D12_HEAP_TYPE_UPLOAD)});
    ASSERT_TRUE(memory.has_value());
    EXPECT_DEATH((void)device->map_memory(*memory, (1ull << 20) - 8, 16), "outside the heap");
    EXPECT_DEATH((void)device->map_memory(*memory, 0, 0), "empty");
    device->deallocate_memory(*memory);
}

TEST_F(MemoryDeviceDeathTest, FlushOfUnmappedOrOutsideRanges) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    const std::uint64_t size = 1ull << 20;
    auto memory = device->allocate_memory({size, type_of(*device, D3D12_HEAP_TYPE_READBACK)});
    ASSERT_TRUE(memory.has_value());
    const MappedMemoryRange<D3D12Memory> inside[] = {{&*memory, 0, 64}};
    EXPECT_DEATH((void)device->flush_memory_ranges(inside), "not mapped");
    ASSERT_TRUE(device->map_memory(*memory, 0, size).has_value());
    const MappedMemoryRange<D3D12Memory> outside[] = {{&*memory, size - 64, 128}};
    EXPECT_DEATH((void)device->invalidate_memory_ranges(outside), "outside the memory object");
    const MappedMemoryRange<D3D12Memory> no_memory[] = {{nullptr, 0, 64}};
    EXPECT_DEATH((void)device->flush_memory_ranges(no_memory), "without memory");
    device->unmap_memory(*memory);
    device->deallocate_memory(*memory);
}

TEST_F(MemoryDeviceDeathTest, AllocateOutsideTheContract) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    const auto types = static_cast<std::uint32_t>(device->properties().memory_types.size());
    EXPECT_DEATH((void)device->allocate_memory({1ull << 20, types}), "memory type index out of range");
    EXPECT_DEATH((void)device->allocate_memory({0, 0}), "size is 0");
    EXPECT_DEATH((void)device->allocate_memory({device->properties().max_memory_allocation_size + 1, 0}),
                 "above max_memory_allocation_size");
}

TEST_F(MemoryDeviceDeathTest, MemoryOfAnotherDevice) {
    auto device = D3D12MemoryDevice::create(device_);
    ASSERT_TRUE(device.has_value());
    test::Ref<ID3D12Device> other_raw(test::create_device());
    ASSERT_TRUE(other_raw);
    auto other = D3D12MemoryDevice::create(other_raw.get());
    ASSERT_TRUE(other.has_value());
    auto memory = other->allocate_memory({1ull << 20, type_of(*other, D3D12_HEAP_TYPE_UPLOAD)});
    ASSERT_TRUE(memory.has_value());
    EXPECT_DEATH(device->deallocate_memory(*memory), "another device");
    EXPECT_DEATH((void)device->map_memory(*memory, 0, 64), "another device");
    other->deallocate_memory(*memory);
}

}  // namespace
}  // namespace gpu_alloc::d3d12
