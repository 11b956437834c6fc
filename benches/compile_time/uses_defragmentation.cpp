// uses_allocator.cpp plus one defragmentation pass (compile_time.sh).
#include <cstdint>
#include <span>

#include <gpu_alloc/defragmentation.hpp>
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
};

std::size_t defragment(gpu_alloc::GpuAllocator<std::uint64_t>& allocator, Device& device,
                       std::span<gpu_alloc::MemoryBlock<std::uint64_t>* const> blocks) {
    gpu_alloc::Defragmentation<std::uint64_t> defrag(allocator, blocks, {});
    const std::size_t moves = defrag.begin_pass(device).size();
    defrag.end_pass(device);
    return moves;
}
