// A translation unit that uses the allocator the way an engine's resource layer
// does: allocate, deallocate, cleanup, refresh_budget, statistics, dump_json.
// compile_time.sh times compiling it (the allocator's cost per file that uses it).
#include <cstdint>
#include <ostream>

#include <gpu_alloc/gpu_allocator.hpp>

struct Device {
    using Memory = std::uint64_t;
    gpu_alloc::Result<Memory, gpu_alloc::OutOfMemory> allocate_memory(const gpu_alloc::MemoryAllocateInfo&);
    void deallocate_memory(Memory);
    gpu_alloc::Result<std::byte*, gpu_alloc::DeviceMapError> map_memory(const Memory&, std::uint64_t, std::uint64_t);
    void unmap_memory(const Memory&);
    gpu_alloc::Result<void, gpu_alloc::OutOfMemory> flush_memory_ranges(
        std::span<const gpu_alloc::MappedMemoryRange<Memory>>);
    gpu_alloc::Result<void, gpu_alloc::OutOfMemory> invalidate_memory_ranges(
        std::span<const gpu_alloc::MappedMemoryRange<Memory>>);
    bool query_budget(std::span<gpu_alloc::HeapBudget>);
};

std::uint64_t use(gpu_alloc::GpuAllocator<std::uint64_t>& allocator, Device& device, std::ostream& out) {
    gpu_alloc::Request r;
    r.size = 4096;
    allocator.refresh_budget(device);
    auto block = allocator.allocate(device, r);
    if (!block) return 0;
    const std::uint64_t offset = block->offset();
    allocator.deallocate(device, std::move(*block));
    allocator.cleanup(device);
    allocator.dump_json(out);
    return offset + allocator.statistics().total.block_count;
}
