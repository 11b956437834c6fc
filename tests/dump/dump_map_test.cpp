// An allocator's JSON dump is read back exactly and drawn as a memory map.
#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <sstream>
#include <vector>

#include "../support/requests.hpp"
#include "../support/test_devices.hpp"
#include "dump_reader.hpp"
#include "svg_map.hpp"

using namespace gpu_alloc;
using gpu_alloc::test::KiB;
using Memory = gpu_alloc::mock::MockMemory;

TEST(DumpMap, ADumpReadsBackAsTheSnapshotItWasWrittenFrom) {
    const DeviceProperties props = gpu_alloc::test::constrained_device();
    gpu_alloc::mock::MockDevice device(props);
    Config config = Config::low_memory();
    config.track_blocks = true;
    GpuAllocator<Memory> allocator(props, config);
    std::vector<MemoryBlock<Memory>> blocks;
    for (int i = 0; i < 40; ++i) {
        Request r = gpu_alloc::test::buffer(10 * KiB + static_cast<std::uint64_t>(i) * 512,
                                            i % 3 ? UsageFlags::fast_device_access : UsageFlags::upload);
        r.name = i % 2 ? "vertices \"odd\"" : "indices";
        auto b = allocator.allocate(device, r);
        ASSERT_TRUE(b);
        blocks.push_back(std::move(*b));
    }
    std::ostringstream out;
    allocator.dump_json(out);
    auto dump = replay::parse_allocator_dump(out.str());
    ASSERT_TRUE(dump) << dump.error();
    EXPECT_EQ(dump->properties, props);
    const AllocatorSnapshot expected = allocator.snapshot();
    ASSERT_EQ(dump->snapshot.chunks.size(), expected.chunks.size());
    std::uint64_t blocks_read = 0;
    for (std::size_t i = 0; i < expected.chunks.size(); ++i) {
        const ChunkSnapshot& a = expected.chunks[i];
        const ChunkSnapshot& b = dump->snapshot.chunks[i];
        EXPECT_EQ(a.id, b.id);
        EXPECT_EQ(a.size, b.size);
        EXPECT_EQ(a.strategy, b.strategy);
        ASSERT_EQ(a.blocks.size(), b.blocks.size());
        for (std::size_t k = 0; k < a.blocks.size(); ++k) {
            EXPECT_EQ(a.blocks[k].offset, b.blocks[k].offset);
            EXPECT_EQ(a.blocks[k].size, b.blocks[k].size);
            EXPECT_EQ(a.blocks[k].usage, b.blocks[k].usage);
            EXPECT_EQ(a.blocks[k].name, b.blocks[k].name);
        }
        blocks_read += b.blocks.size();
    }
    EXPECT_EQ(blocks_read, 40u);

    replay::SvgMapInfo info;
    info.trace = "dump";
    info.requested_bytes = dump->requested_bytes;
    const std::string svg = replay::render_svg_map(dump->snapshot, dump->properties, info);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);

    for (auto& b : blocks) allocator.deallocate(device, std::move(b));
    allocator.cleanup(device);
}

TEST(DumpMap, MalformedDumpsAreErrorsNotCrashes) {
    for (const char* text : {"", "[]", "{\"schema\":\"x\"}", "{\"schema\":\"gpu_alloc.dump\"}",
                             "{\"schema\":\"gpu_alloc.dump\",\"device\":{\"memory_heaps\":[],\"memory_types\":[{\"heap\":3,\"props\":\"none\"}]},\"chunks\":[]}",
                             "{\"schema\":\"gpu_alloc.dump\",\"device\":{\"memory_heaps\":[{\"size\":1,\"flags\":\"none\"}],\"memory_types\":[{\"heap\":0,\"props\":\"bogus\"}]},\"chunks\":[]}",
                             "{\"schema\":\"gpu_alloc.dump\",\"device\":{\"memory_heaps\":[{\"size\":1,\"flags\":\"none\"}],\"memory_types\":[{\"heap\":0,\"props\":\"none\"}]},\"chunks\":[{\"id\":1,\"memory_type\":0,\"heap\":0,\"size\":10,\"strategy\":\"free_list\",\"blocks\":[{\"offset\":8,\"size\":4}]}]}"}) {
        auto dump = replay::parse_allocator_dump(text);
        EXPECT_FALSE(dump) << text;
    }
}
