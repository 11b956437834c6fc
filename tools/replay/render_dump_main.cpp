// gpu-alloc-map DUMP.json OUT.svg: draws an allocator's JSON dump
// (GpuAllocator::dump_json) as the memory map gpu-alloc-replay --svg draws, so
// that an application can dump its allocator at any moment and look at it.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "dump_reader.hpp"
#include "svg_map.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: gpu-alloc-map DUMP.json OUT.svg\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "gpu-alloc-map: cannot read %s\n", argv[1]);
        return 1;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto dump = gpu_alloc::replay::parse_allocator_dump(text);
    if (!dump) {
        std::fprintf(stderr, "gpu-alloc-map: %s: %s\n", argv[1], dump.error().c_str());
        return 1;
    }
    gpu_alloc::replay::SvgMapInfo info;
    info.trace = argv[1];
    info.device = "allocator dump";
    info.policy = "as dumped";
    info.requested_bytes = dump->requested_bytes;
    const std::string svg = gpu_alloc::replay::render_svg_map(dump->snapshot, dump->properties, info);
    std::ofstream out(argv[2], std::ios::binary);
    out << svg;
    if (!out) {
        std::fprintf(stderr, "gpu-alloc-map: cannot write %s\n", argv[2]);
        return 1;
    }
    std::printf("%s: %zu device memory objects drawn\n", argv[2], dump->snapshot.chunks.size());
    return 0;
}
