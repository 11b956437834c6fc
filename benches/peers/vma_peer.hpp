// VMA (Vulkan Memory Allocator) over a mock Vulkan function table: default
// VmaAllocatorCreateInfo (internal locking on, 256 MiB preferred blocks),
// vmaCreateBuffer / vmaCreateImage with VMA_MEMORY_USAGE_AUTO*, and fake
// vkAllocateMemory, vkFreeMemory, vkCreateBuffer, vkGetBufferMemoryRequirements,
// ... that report the profile's memory properties and limits and count
// objects (no Vulkan driver, no loader). See vma_peer.cpp for the mapping of
// trace usages to VMA's flags. Thread-safe as VMA is: the threads mode shares one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gpu_alloc/mock/device_profile.hpp>

#include "harness.hpp"

namespace peers {

class VmaPeer {
public:
    struct Handle {
        void* allocation = nullptr;    ///< VmaAllocation
        std::uint64_t resource = 0;    ///< VkBuffer or VkImage
        std::uint64_t image = 0;       ///< 1 for an image
    };

    explicit VmaPeer(const gpu_alloc::mock::DeviceProfile& profile);
    ~VmaPeer();
    VmaPeer(const VmaPeer&) = delete;
    VmaPeer& operator=(const VmaPeer&) = delete;

    bool start(const TraceSummary&);
    bool allocate(const TraceOp& op, Handle& h) noexcept;
    void free(Handle& h) noexcept;
    void cleanup();  ///< vmaDestroyAllocator: VMA gives back its blocks then
    Counters counters() const;
    Placed placed(const Handle& h) const;
    void stop();
    std::vector<std::string> extra_problems() const;
    /// The profile's modeled driver time of the memory objects created and destroyed so far.
    double modeled_device_us() const;
    /// A replaying thread that is done: folds its buffer/image counts into the device's.
    void thread_done() noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace peers
