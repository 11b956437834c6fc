// custom_backend_example: a backend of your own (HostMemoryDevice) driven by
// hand with one of the allocator's strategies. It creates one memory object,
// maps it, carves buffers out of it with a FreeListAllocator, writes through the
// mapped pointer, and gives everything back, printing each step. Exit code 0
// when everything round-trips, 1 otherwise (ctest runs it).
#include <cstdio>
#include <cstring>

#include <gpu_alloc/free_list.hpp>

#include "host_memory_device.hpp"

int main() {
    constexpr std::uint64_t MiB = 1 << 20;
    HostMemoryDevice device(64 * MiB, /*with_device_local_type=*/true);

    // 1. One device memory object of the host-visible type, mapped once.
    gpu_alloc::MemoryAllocateInfo info;
    info.size = 4 * MiB;
    info.memory_type = 0;
    auto memory = device.allocate_memory(info);
    if (!memory) {
        std::printf("allocate_memory failed: %s\n", std::string(to_string(memory.error())).c_str());
        return 1;
    }
    auto mapped = device.map_memory(*memory, 0, info.size);
    if (!mapped) return 1;
    std::printf("memory object: %llu bytes of type %u, mapped at %p\n", static_cast<unsigned long long>(memory->size),
                memory->memory_type, static_cast<void*>(*mapped));

    // 2. Sub-allocate buffers inside it: offsets only, the strategy knows no device.
    gpu_alloc::FreeListAllocator ranges(info.size);
    auto vertices = ranges.allocate(3000 * sizeof(float), 16);
    auto uniforms = ranges.allocate(256, 256);
    if (!vertices || !uniforms) return 1;
    std::printf("vertices: offset %llu, %llu bytes\n", static_cast<unsigned long long>(vertices->offset),
                static_cast<unsigned long long>(vertices->size));
    std::printf("uniforms: offset %llu, %llu bytes\n", static_cast<unsigned long long>(uniforms->offset),
                static_cast<unsigned long long>(uniforms->size));

    // 3. Write through the mapped pointer, then flush (a no-op on coherent memory,
    //    but generic code always flushes what it wrote).
    const char message[] = "hello from the host";
    std::memcpy(*mapped + uniforms->offset, message, sizeof message);
    const gpu_alloc::MappedMemoryRange<HostMemory> written{&*memory, uniforms->offset, uniforms->size};
    if (!device.flush_memory_ranges({&written, 1})) return 1;
    const bool round_trip = std::memcmp(*mapped + uniforms->offset, message, sizeof message) == 0;
    std::printf("wrote \"%s\" at offset %llu: %s\n", message, static_cast<unsigned long long>(uniforms->offset),
                round_trip ? "read back intact" : "CORRUPTED");

    gpu_alloc::HeapBudget budget[1];
    if (device.query_budget(budget))
        std::printf("heap 0: %llu of %llu bytes in use\n", static_cast<unsigned long long>(budget[0].usage),
                    static_cast<unsigned long long>(budget[0].budget));

    // 4. Give everything back, in reverse order.
    ranges.free(*uniforms);
    ranges.free(*vertices);
    device.unmap_memory(*memory);
    device.deallocate_memory(*memory);
    const bool all_returned = ranges.empty() && device.query_budget(budget) && budget[0].usage == 0;
    std::printf("all returned: %s\n", all_returned ? "yes" : "no");
    return round_trip && all_returned ? 0 : 1;
}
