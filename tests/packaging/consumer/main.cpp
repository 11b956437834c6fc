// The consumer program of the packaging tests: what an engine's first use of
// the library looks like. Allocates a device-local buffer and an upload buffer
// through GpuAllocator on the strict MockDevice, writes and reads the upload
// buffer, gives everything back and checks that the device holds nothing.
// Exits 0 only if all of that worked and no misuse was reported.
#include <cstddef>
#include <cstdio>
#include <cstring>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

int main() {
    using namespace gpu_alloc;
    using F = MemoryPropertyFlags;
    DeviceProperties props;
    props.memory_heaps = {{256ull << 20, MemoryHeapFlags::device_local}, {256ull << 20, MemoryHeapFlags::none}};
    props.memory_types = {{0, F::device_local}, {1, F::host_visible | F::host_coherent}};
    props.max_memory_allocation_count = 64;
    props.max_memory_allocation_size = 256ull << 20;
    props.non_coherent_atom_size = 64;
    props.buffer_image_granularity = 1024;

    gpu_alloc::mock::MockDevice device(props);
    GpuAllocator<gpu_alloc::mock::MockMemory> allocator(props, Config::for_device(props));

    Request request;
    request.size = 1 << 20;
    request.alignment = 256;
    request.kind = ResourceKind::linear;
    request.usage = UsageFlags::fast_device_access;
    auto vertices = allocator.allocate(device, request);
    request.size = 4096;
    request.usage = UsageFlags::upload;
    auto staging = allocator.allocate(device, request);
    if (!vertices || !staging) {
        std::fprintf(stderr, "allocation failed\n");
        return 1;
    }
    const char message[] = "hello from a consumer";
    std::byte out[sizeof(message)] = {};
    if (!staging->write_bytes(device, 0, std::as_bytes(std::span(message))) ||
        !staging->read_bytes(device, 0, out) || std::memcmp(out, message, sizeof(message)) != 0) {
        std::fprintf(stderr, "write/read through the upload buffer failed\n");
        return 1;
    }
    allocator.deallocate(device, std::move(*vertices));
    allocator.deallocate(device, std::move(*staging));
    allocator.cleanup(device);
    if (device.live_object_count() != 0 || device.misuse_count() != 0 || allocator.misuse_count() != 0) {
        std::fprintf(stderr, "memory left or misuse reported\n");
        return 1;
    }
    std::printf("gpu_alloc consumer: ok\n");
    return 0;
}
