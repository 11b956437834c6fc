// Block operations (map, unmap, flush, invalidate) and the process-wide leak
// and misuse handlers.
//
// Every device call on a chunk's memory object happens under the chunk's
// device lock: MemoryDevice promises implementations that no two calls on one
// object overlap, and two threads flushing two blocks of one chunk would
// otherwise do exactly that.
#include <atomic>
#include <cstdio>
#include <mutex>

#include <gpu_alloc/memory_block.hpp>
#include <gpu_alloc/misuse.hpp>

#include "core/chunk.hpp"

namespace gpu_alloc {
namespace {

void default_block_leak(const BlockLeak& leak, void*) {
    std::fprintf(stderr,
                 "gpu_alloc: MemoryBlock destroyed without GpuAllocator::deallocate "
                 "(memory type %u, offset %llu, size %llu, %s); its memory stays allocated\n",
                 leak.memory_type, static_cast<unsigned long long>(leak.offset),
                 static_cast<unsigned long long>(leak.size), to_string(leak.strategy));
}
void default_misuse(AllocatorMisuse kind, const char* what, void*) {
    std::fprintf(stderr, "gpu_alloc: misuse (%.*s): %s\n", static_cast<int>(to_string(kind).size()),
                 to_string(kind).data(), what);
}

/// A callback with user data, or a plain handler (then `plain` is set).
template <class Callback, class Plain>
struct Handler {
    Callback callback;
    void* user_data;
    Plain plain;
};

using LeakHandler = Handler<BlockLeakCallback, BlockLeakHandler>;
using MisuseHandler = Handler<AllocatorMisuseCallback, AllocatorMisuseHandler>;

std::mutex handlers_mutex;
LeakHandler leak_handler{&default_block_leak, nullptr, nullptr};
MisuseHandler misuse_handler{&default_misuse, nullptr, nullptr};


}  // namespace

BlockLeakHandler set_block_leak_handler(BlockLeakHandler handler) noexcept {
    std::lock_guard lock(handlers_mutex);
    const BlockLeakHandler previous = leak_handler.plain;
    if (handler) leak_handler = {nullptr, nullptr, handler};
    else leak_handler = {&default_block_leak, nullptr, nullptr};
    return previous;
}
void set_block_leak_callback(BlockLeakCallback callback, void* user_data) noexcept {
    std::lock_guard lock(handlers_mutex);
    leak_handler = callback ? LeakHandler{callback, user_data, nullptr} : LeakHandler{&default_block_leak, nullptr, nullptr};
}
AllocatorMisuseHandler set_misuse_handler(AllocatorMisuseHandler handler) noexcept {
    std::lock_guard lock(handlers_mutex);
    const AllocatorMisuseHandler previous = misuse_handler.plain;
    if (handler) misuse_handler = {nullptr, nullptr, handler};
    else misuse_handler = {&default_misuse, nullptr, nullptr};
    return previous;
}
void set_misuse_callback(AllocatorMisuseCallback callback, void* user_data) noexcept {
    std::lock_guard lock(handlers_mutex);
    misuse_handler =
        callback ? MisuseHandler{callback, user_data, nullptr} : MisuseHandler{&default_misuse, nullptr, nullptr};
}

namespace detail {

void report_misuse(AllocatorMisuse kind, const char* what) noexcept {
    MisuseHandler h;
    {
        std::lock_guard lock(handlers_mutex);
        h = misuse_handler;
    }
    if (h.plain) h.plain(kind, what);
    else h.callback(kind, what, h.user_data);
}

void BlockData::report_leak() const noexcept {
    // Only the block's own fields: the chunk may be gone with its allocator.
    LeakHandler h;
    {
        std::lock_guard lock(handlers_mutex);
        h = leak_handler;
    }
    const BlockLeak leak{memory_type, offset, size, strategy};
    if (h.plain) h.plain(leak);
    else h.callback(leak, h.user_data);
}

namespace {

MapError from_status(DeviceStatus s) noexcept {
    switch (s) {
        case DeviceStatus::out_of_device_memory: return MapError::out_of_device_memory;
        case DeviceStatus::out_of_host_memory: return MapError::out_of_host_memory;
        case DeviceStatus::map_failed:
        case DeviceStatus::ok: break;
    }
    return MapError::map_failed;
}

bool in_bounds(const BlockData& b, std::uint64_t offset, std::uint64_t size) noexcept {
    return offset <= b.size && size <= b.size - offset;
}

}  // namespace

bool block_map(DeviceRef device, BlockData& b, std::uint64_t offset, std::uint64_t size, std::byte*& out,
               MapError& error) {
    if (!b.chunk) return (error = MapError::empty_block), false;
    if (!contains(b.chunk->props, MemoryPropertyFlags::host_visible)) return (error = MapError::not_host_visible), false;
    if (b.mapped()) return (error = MapError::already_mapped), false;
    if (!in_bounds(b, offset, size)) return (error = MapError::out_of_bounds), false;
    Chunk& chunk = static_cast<Chunk&>(*b.chunk);
    std::lock_guard lock(chunk.device_mutex);
    std::byte* base = chunk.mapped.load(std::memory_order_relaxed);
    if (base == nullptr) {
        const DeviceStatus s = device.table->map_memory(device.device, chunk.memory, 0, chunk.size, &base);
        if (s != DeviceStatus::ok) return (error = from_status(s)), false;
        if (base == nullptr) {  // a device that reports success without an address
            device.table->unmap_memory(device.device, chunk.memory);
            return (error = MapError::map_failed), false;
        }
        chunk.mapped.store(base, std::memory_order_release);
    }
    ++chunk.map_count;
    b.flags |= BlockData::flag_mapped;
    out = base + b.offset + offset;
    return true;
}

bool block_unmap(BlockData& b, MapError& error) {
    if (!b.chunk) return (error = MapError::empty_block), false;
    if (!b.mapped()) return (error = MapError::not_mapped), false;
    Chunk& chunk = static_cast<Chunk&>(*b.chunk);
    std::lock_guard lock(chunk.device_mutex);
    --chunk.map_count;
    b.flags &= static_cast<std::uint8_t>(~BlockData::flag_mapped);
    return true;
}

bool block_sync(DeviceRef device, BlockData& b, std::uint64_t offset, std::uint64_t size, bool flush,
                MapError& error) {
    if (!b.chunk) return (error = MapError::empty_block), false;
    if (!b.mapped()) return (error = MapError::not_mapped), false;
    if (!in_bounds(b, offset, size)) return (error = MapError::out_of_bounds), false;
    Chunk& chunk = static_cast<Chunk&>(*b.chunk);
    if (contains(chunk.props, MemoryPropertyFlags::host_coherent) || size == 0) return true;
    // Widened to whole atoms; the allocator placed the block on atoms, so this
    // never reaches a neighbour (and stops at the end of the object).
    const std::uint64_t atom = chunk.atom;
    const std::uint64_t begin = (b.offset + offset) / atom * atom;
    const std::uint64_t last = b.offset + offset + size;
    std::uint64_t end = last / atom * atom == last ? last : (last / atom + 1) * atom;
    end = std::min(end, chunk.size);
    const ErasedRange range{chunk.memory, begin, end - begin};
    std::lock_guard lock(chunk.device_mutex);
    const DeviceStatus s = flush ? device.table->flush_memory_ranges(device.device, &range, 1)
                                 : device.table->invalidate_memory_ranges(device.device, &range, 1);
    if (s != DeviceStatus::ok) return (error = from_status(s)), false;
    return true;
}

}  // namespace detail
}  // namespace gpu_alloc
