// Recording a defragmentation pass's buffer copies into a Vulkan command buffer.
//
// Why buffers are recreated: Vulkan has no memory-to-memory copy. Bytes move
// only through resources bound to the memory (vkCmdCopyBuffer between two
// VkBuffers), and a VkBuffer stays bound to one place for its lifetime. So for
// every move the caller names the buffer bound at the source and the create
// info it was made with; record_buffer_moves creates a second buffer from the
// same create info, binds it at the move's destination block, and records
// barrier -> vkCmdCopyBuffer(old, new) -> barrier. The caller submits, waits,
// destroys its old buffers, calls Defragmentation::end_pass and from then on
// uses the new buffers (descriptors, device addresses: everything that named
// the old buffer must be rewritten).
//
// Images are not handled here: a copy needs each image's current layout,
// aspects, mip levels and array layers, which only the application knows. For
// image moves the caller records its own vkCmdCopyImage (or vetoes them).
//
// THIS FILE INCLUDES THE ALLOCATOR CORE (gpu_alloc/defragmentation.hpp). Like
// resources.hpp it belongs to the header-only target gpu_alloc::vulkan_helpers
// (gpu_alloc::vulkan + gpu_alloc::core), not to gpu_alloc::vulkan, whose files
// include gpu_alloc/types and gpu_alloc/vulkan only (the design's adapter rule;
// the ctest check vulkan_adapter_includes_types_only exempts these two
// helpers). Every Vulkan call goes through the VulkanFunctions table, so it
// builds under VK_NO_PROTOTYPES.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <vulkan/vulkan_core.h>

#include <gpu_alloc/defragmentation.hpp>
#include <gpu_alloc/vulkan/memory_device.hpp>

namespace gpu_alloc::vulkan {

/// A planned move of Vulkan memory (one element of Defragmentation::begin_pass's span).
using VulkanDefragmentationMove = DefragmentationMove<VkDeviceMemory>;

/// The buffer a move carries, as the caller created it.
struct BufferMoveSource {
    /// Bound at (move.source_memory(), move.source_offset()); must have been
    /// created with VK_BUFFER_USAGE_TRANSFER_SRC_BIT | TRANSFER_DST_BIT (the new
    /// buffer, made from the same create info, is the copy's destination and
    /// may itself be moved later).
    VkBuffer buffer = VK_NULL_HANDLE;
    /// The create info `buffer` was made with (size, usage, flags, sharing,
    /// pNext chain); only read during the call.
    const VkBufferCreateInfo* create_info = nullptr;
};

/// What the copies wait for and what waits for them. The helper turns these
/// into VkBufferMemoryBarriers on the source and new buffers.
struct BufferMoveBarriers {
    /// Stages of earlier commands that used the source buffers or the
    /// destinations' memory (TOP_OF_PIPE with src_access 0 when nothing before
    /// the copies touched them, e.g. only host writes before the submission).
    VkPipelineStageFlags src_stages = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    /// Writes of those commands to make available to the copies.
    VkAccessFlags src_access = VK_ACCESS_MEMORY_WRITE_BIT;
    /// Stages of later commands that use the new buffers (add
    /// VK_PIPELINE_STAGE_HOST_BIT to read them through a mapping after the wait).
    VkPipelineStageFlags dst_stages = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    /// How those commands access the new buffers (add VK_ACCESS_HOST_READ_BIT for host reads).
    VkAccessFlags dst_access = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
};

/// What record_buffer_moves did with one move.
enum class BufferMoveStatus : std::uint8_t {
    recorded,               ///< copy recorded; BufferMoveResult::buffer is the new buffer
    skipped,                ///< the move was vetoed before the call: nothing done
    no_source,              ///< no BufferMoveSource (or a null buffer / create info): vetoed
    unsupported,            ///< usage lacks TRANSFER_SRC or TRANSFER_DST, or a sparse buffer: vetoed
    create_failed,          ///< vkCreateBuffer failed (BufferMoveResult::result): vetoed
    requirements_mismatch,  ///< the new buffer's size, alignment or memory types do not fit the destination: vetoed
    bind_failed,            ///< vkBindBufferMemory failed (BufferMoveResult::result): vetoed
};

/// "recorded", "skipped", ...
constexpr const char* to_string(BufferMoveStatus s) noexcept {
    switch (s) {
        case BufferMoveStatus::recorded: return "recorded";
        case BufferMoveStatus::skipped: return "skipped";
        case BufferMoveStatus::no_source: return "no_source";
        case BufferMoveStatus::unsupported: return "unsupported";
        case BufferMoveStatus::create_failed: return "create_failed";
        case BufferMoveStatus::requirements_mismatch: return "requirements_mismatch";
        case BufferMoveStatus::bind_failed: return "bind_failed";
    }
    return "unknown BufferMoveStatus";
}

/// One move's outcome.
struct BufferMoveResult {
    /// The new buffer, bound at the move's destination (recorded only; else null).
    /// The caller owns it: after end_pass it replaces the old buffer; if the
    /// pass is abandoned, destroy it (destroy_moved_buffers) once the GPU is done.
    VkBuffer buffer = VK_NULL_HANDLE;
    BufferMoveStatus status = BufferMoveStatus::skipped;
    /// The failing call's VkResult (create_failed, bind_failed), else VK_SUCCESS.
    VkResult result = VK_SUCCESS;
};

namespace detail {

inline VkBufferMemoryBarrier buffer_barrier(VkBuffer buffer, VkAccessFlags src, VkAccessFlags dst) noexcept {
    VkBufferMemoryBarrier b{};
    b.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER;
    b.srcAccessMask = src;
    b.dstAccessMask = dst;
    b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.buffer = buffer;
    b.offset = 0;
    b.size = VK_WHOLE_SIZE;
    return b;
}

// Creates the new buffer for one move and binds it at the destination; on
// failure vetoes the move and leaves nothing behind.
inline BufferMoveResult create_moved_buffer(VulkanMemoryDevice& device, VulkanDefragmentationMove& move,
                                            const BufferMoveSource* source) {
    BufferMoveResult r;
    if (move.vetoed()) return r;  // skipped
    auto fail = [&](BufferMoveStatus status, VkResult result) {
        move.veto();
        r.status = status;
        r.result = result;
        return r;
    };
    if (source == nullptr || source->buffer == VK_NULL_HANDLE || source->create_info == nullptr)
        return fail(BufferMoveStatus::no_source, VK_SUCCESS);
    const VkBufferCreateInfo& info = *source->create_info;
    constexpr VkBufferUsageFlags transfer = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if ((info.usage & transfer) != transfer || (info.flags & VK_BUFFER_CREATE_SPARSE_BINDING_BIT) != 0)
        return fail(BufferMoveStatus::unsupported, VK_SUCCESS);

    const VulkanFunctions& f = device.functions();
    const VkAllocationCallbacks* callbacks = device.info().allocation_callbacks;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkResult result = f.vkCreateBuffer(device.device(), &info, callbacks, &buffer);
    if (result != VK_SUCCESS) return fail(BufferMoveStatus::create_failed, result);

    const MemoryBlock<VkDeviceMemory>& destination = move.destination();
    VkMemoryRequirements reqs{};
    f.vkGetBufferMemoryRequirements(device.device(), buffer, &reqs);
    const bool fits = reqs.size <= destination.size() && reqs.alignment != 0 &&
                      destination.offset() % reqs.alignment == 0 &&
                      ((reqs.memoryTypeBits >> destination.memory_type()) & 1u) != 0;
    if (!fits) {
        f.vkDestroyBuffer(device.device(), buffer, callbacks);
        return fail(BufferMoveStatus::requirements_mismatch, VK_SUCCESS);
    }
    result = f.vkBindBufferMemory(device.device(), buffer, destination.memory(), destination.offset());
    if (result != VK_SUCCESS) {
        f.vkDestroyBuffer(device.device(), buffer, callbacks);
        return fail(BufferMoveStatus::bind_failed, result);
    }
    r.buffer = buffer;
    r.status = BufferMoveStatus::recorded;
    return r;
}

}  // namespace detail

/// Records the copies of a defragmentation pass's buffer moves into `cmd`.
///
/// For each move i that is not vetoed, with sources[i] the buffer bound at its
/// source: creates a buffer from sources[i].create_info, binds it at
/// (move.destination().memory(), move.destination().offset()), and records,
/// for all such moves together,
///   1. one vkCmdPipelineBarrier from barriers.src_stages / src_access to
///      TRANSFER: the source buffers to TRANSFER_READ, the new buffers to
///      TRANSFER_WRITE (their memory may have held other resources);
///   2. vkCmdCopyBuffer(old, new, whole buffer: create_info->size bytes) per move;
///   3. one vkCmdPipelineBarrier from TRANSFER_WRITE on the new buffers to
///      barriers.dst_stages / dst_access.
/// Moves that cannot be recorded are vetoed (see BufferMoveStatus), so the pass
/// stays consistent: end_pass keeps those blocks where they are.
///
/// Requires: `cmd` in the recording state, outside a render pass, on a queue
/// with transfer capability, from device.device(); sources.size() ==
/// moves.size() (missing entries count as no_source); the moves are the open
/// pass's. Barriers as given must be valid for the queue (access bits
/// supported by their stages).
/// Returns: one result per move, in order. Records nothing when no move was recorded.
/// Afterwards: submit `cmd`, wait for it, destroy each recorded move's old
/// buffer, call end_pass, and use results[i].buffer from then on. To abandon
/// the pass instead: wait, destroy_moved_buffers, veto every move, end_pass.
/// Allocates host memory (the result and barrier arrays).
inline std::vector<BufferMoveResult> record_buffer_moves(VulkanMemoryDevice& device, VkCommandBuffer cmd,
                                                         std::span<VulkanDefragmentationMove> moves,
                                                         std::span<const BufferMoveSource> sources,
                                                         const BufferMoveBarriers& barriers = {}) {
    std::vector<BufferMoveResult> results;
    results.reserve(moves.size());
    std::vector<VkBufferMemoryBarrier> before;
    std::vector<VkBufferMemoryBarrier> after;
    for (std::size_t i = 0; i < moves.size(); ++i) {
        const BufferMoveSource* source = i < sources.size() ? &sources[i] : nullptr;
        results.push_back(detail::create_moved_buffer(device, moves[i], source));
        if (results.back().status != BufferMoveStatus::recorded) continue;
        before.push_back(detail::buffer_barrier(source->buffer, barriers.src_access, VK_ACCESS_TRANSFER_READ_BIT));
        before.push_back(detail::buffer_barrier(results.back().buffer, barriers.src_access,
                                                VK_ACCESS_TRANSFER_WRITE_BIT));
        after.push_back(detail::buffer_barrier(results.back().buffer, VK_ACCESS_TRANSFER_WRITE_BIT,
                                               barriers.dst_access));
    }
    if (after.empty()) return results;

    const VulkanFunctions& f = device.functions();
    f.vkCmdPipelineBarrier(cmd, barriers.src_stages, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr,
                           static_cast<std::uint32_t>(before.size()), before.data(), 0, nullptr);
    for (std::size_t i = 0; i < moves.size(); ++i) {
        if (results[i].status != BufferMoveStatus::recorded) continue;
        const VkBufferCopy region{0, 0, sources[i].create_info->size};
        f.vkCmdCopyBuffer(cmd, sources[i].buffer, results[i].buffer, 1, &region);
    }
    f.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, barriers.dst_stages, 0, 0, nullptr,
                           static_cast<std::uint32_t>(after.size()), after.data(), 0, nullptr);
    return results;
}

/// Destroys the new buffers of `results` (for a pass that is abandoned, or
/// whose vetoed moves' buffers the caller does not want) and clears them.
/// Requires: the GPU no longer uses them (the submission was waited for, or
/// never made).
inline void destroy_moved_buffers(VulkanMemoryDevice& device, std::span<BufferMoveResult> results) noexcept {
    for (BufferMoveResult& r : results) {
        if (r.buffer != VK_NULL_HANDLE)
            device.functions().vkDestroyBuffer(device.device(), r.buffer, device.info().allocation_callbacks);
        r.buffer = VK_NULL_HANDLE;
    }
}

}  // namespace gpu_alloc::vulkan
