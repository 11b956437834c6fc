// How a safe-API wrapper embeds the allocator: Buffer and Image own their
// Vulkan object and its MemoryBlock, and free them in the right order.
//
// The rules a wrapper has to keep, and where this one keeps them:
//   - the Vulkan object is destroyed before its memory is given back
//     (Buffer::reset, Image::reset);
//   - a block is given back to the allocator that made it, exactly once
//     (move-only types that empty themselves on move and on reset);
//   - the allocator outlives every resource it backs: ~Allocator aborts with a
//     message when resources are still alive, the C++ stand-in for the borrow
//     a Rust wrapper would make (a destroyed allocator under a live Buffer
//     would be use-after-free later);
//   - host-visible buffers are mapped once for their lifetime (the chunk's
//     mapping is shared), so mapped() is a plain span.
// Freeing while the GPU still uses a resource is the one rule left to the
// caller (wait on a fence first), as in every Vulkan wrapper without a
// deferred-deletion queue.
//
// Thread safety: Allocator's create_* may be called from many threads at once
// (the allocator core is thread-safe); one Buffer or Image is used by one
// thread at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>

#include <gpu_alloc/vulkan/adapter.hpp>
#include <gpu_alloc/vulkan/resources.hpp>

namespace vulkan_raii {

using gpu_alloc::Result;
using gpu_alloc::vulkan::ResourceError;
using gpu_alloc::vulkan::ResourceMemoryInfo;
using gpu_alloc::vulkan::VulkanBlock;
using gpu_alloc::vulkan::VulkanMemoryDevice;

class Allocator;

/// A VkBuffer and the memory bound to it. Empty when default-constructed or moved from.
class Buffer {
public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& other) noexcept { take(other); }
    Buffer& operator=(Buffer&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    ~Buffer() { reset(); }

    /// Destroys the buffer, then gives its memory back. Leaves this Buffer empty.
    /// Requires: the device no longer uses it.
    inline void reset() noexcept;

    explicit operator bool() const noexcept { return owner_ != nullptr; }
    VkBuffer handle() const noexcept { return resource_.buffer; }
    /// Bytes the buffer was created with.
    VkDeviceSize size() const noexcept { return size_; }
    const VulkanBlock& block() const noexcept { return resource_.block; }
    /// The buffer's bytes, when its memory is host-visible and mapped; else empty.
    std::span<std::byte> mapped() const noexcept { return {mapped_, mapped_ ? size_ : 0}; }

    /// Copies `bytes` to `offset` and flushes them to the device.
    /// Requires: host-visible; offset + bytes.size() <= size(). Returns false otherwise.
    inline bool write(VkDeviceSize offset, std::span<const std::byte> bytes) noexcept;
    /// Invalidates and copies bytes from `offset` into `out`. As write().
    inline bool read(VkDeviceSize offset, std::span<std::byte> out) noexcept;

private:
    friend class Allocator;
    Buffer(Allocator* owner, gpu_alloc::vulkan::BufferAllocation&& resource, VkDeviceSize size, std::byte* mapped) noexcept
        : owner_(owner), resource_(std::move(resource)), size_(size), mapped_(mapped) {}

    void take(Buffer& other) noexcept {
        owner_ = std::exchange(other.owner_, nullptr);
        resource_.buffer = std::exchange(other.resource_.buffer, VK_NULL_HANDLE);
        resource_.block = std::move(other.resource_.block);
        size_ = std::exchange(other.size_, 0);
        mapped_ = std::exchange(other.mapped_, nullptr);
    }

    Allocator* owner_ = nullptr;
    gpu_alloc::vulkan::BufferAllocation resource_;
    VkDeviceSize size_ = 0;
    std::byte* mapped_ = nullptr;
};

/// A VkImage and the memory bound to it. Empty when default-constructed or moved from.
class Image {
public:
    Image() = default;
    Image(const Image&) = delete;
    Image& operator=(const Image&) = delete;
    Image(Image&& other) noexcept { take(other); }
    Image& operator=(Image&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    ~Image() { reset(); }

    /// Destroys the image, then gives its memory back. Leaves this Image empty.
    /// Requires: the device no longer uses it.
    inline void reset() noexcept;

    explicit operator bool() const noexcept { return owner_ != nullptr; }
    VkImage handle() const noexcept { return resource_.image; }
    VkExtent3D extent() const noexcept { return extent_; }
    const VulkanBlock& block() const noexcept { return resource_.block; }

private:
    friend class Allocator;
    Image(Allocator* owner, gpu_alloc::vulkan::ImageAllocation&& resource, VkExtent3D extent) noexcept
        : owner_(owner), resource_(std::move(resource)), extent_(extent) {}

    void take(Image& other) noexcept {
        owner_ = std::exchange(other.owner_, nullptr);
        resource_.image = std::exchange(other.resource_.image, VK_NULL_HANDLE);
        resource_.block = std::move(other.resource_.block);
        extent_ = std::exchange(other.extent_, VkExtent3D{});
    }

    Allocator* owner_ = nullptr;
    gpu_alloc::vulkan::ImageAllocation resource_;
    VkExtent3D extent_{};
};

/// Owns the allocator of one device and creates Buffers and Images from it.
class Allocator {
public:
    /// An allocator with Config::for_device of the device's properties.
    /// Requires: `device` outlives this Allocator.
    explicit Allocator(VulkanMemoryDevice& device)
        : Allocator(device, gpu_alloc::Config::for_device(
                                gpu_alloc::vulkan::device_properties(device.functions(), device.info()))) {}

    Allocator(VulkanMemoryDevice& device, const gpu_alloc::Config& config)
        : device_(device),
          allocator_(gpu_alloc::vulkan::device_properties(device.functions(), device.info()), config) {}

    Allocator(const Allocator&) = delete;
    Allocator& operator=(const Allocator&) = delete;

    /// Frees the empty chunks. Aborts when Buffers or Images are still alive.
    ~Allocator() {
        if (live_.load() != 0) {
            std::fprintf(stderr, "vulkan_raii::Allocator destroyed with %llu live Buffers/Images\n",
                         static_cast<unsigned long long>(live_.load()));
            std::abort();
        }
        allocator_.cleanup(device_);
    }

    /// Creates a buffer with memory for `memory.usage`; maps it when host-visible
    /// (when the driver cannot map it, mapped() is empty and the buffer still works).
    Result<Buffer, ResourceError> create_buffer(const VkBufferCreateInfo& info, const ResourceMemoryInfo& memory = {}) {
        auto resource = gpu_alloc::vulkan::create_buffer(allocator_, device_, info, memory);
        if (!resource) return gpu_alloc::unexpected(resource.error());
        std::byte* mapped = nullptr;
        if (contains(resource->block.props(), gpu_alloc::MemoryPropertyFlags::host_visible)) {
            auto ptr = resource->block.map(device_, 0, resource->block.size());
            if (ptr) mapped = *ptr;
        }
        live_.fetch_add(1);
        return Buffer(this, std::move(*resource), info.size, mapped);
    }

    /// Creates an image with memory for `memory.usage`.
    Result<Image, ResourceError> create_image(const VkImageCreateInfo& info, const ResourceMemoryInfo& memory = {}) {
        auto resource = gpu_alloc::vulkan::create_image(allocator_, device_, info, memory);
        if (!resource) return gpu_alloc::unexpected(resource.error());
        live_.fetch_add(1);
        return Image(this, std::move(*resource), info.extent);
    }

    /// Buffers and Images alive now.
    std::uint64_t live_resources() const noexcept { return live_.load(); }
    gpu_alloc::vulkan::VulkanAllocator& allocator() noexcept { return allocator_; }
    VulkanMemoryDevice& device() noexcept { return device_; }

private:
    friend class Buffer;
    friend class Image;

    void release(gpu_alloc::vulkan::BufferAllocation&& resource) noexcept {
        if (resource.block.mapped_ptr() != nullptr) (void)resource.block.unmap(device_);
        gpu_alloc::vulkan::destroy_buffer(allocator_, device_, std::move(resource));
        live_.fetch_sub(1);
    }
    void release(gpu_alloc::vulkan::ImageAllocation&& resource) noexcept {
        gpu_alloc::vulkan::destroy_image(allocator_, device_, std::move(resource));
        live_.fetch_sub(1);
    }

    VulkanMemoryDevice& device_;
    gpu_alloc::vulkan::VulkanAllocator allocator_;
    std::atomic<std::uint64_t> live_{0};
};

inline void Buffer::reset() noexcept {
    if (owner_ == nullptr) return;
    std::exchange(owner_, nullptr)->release(std::move(resource_));
    resource_.buffer = VK_NULL_HANDLE;
    size_ = 0;
    mapped_ = nullptr;
}

inline bool Buffer::write(VkDeviceSize offset, std::span<const std::byte> bytes) noexcept {
    if (mapped_ == nullptr || offset > size_ || bytes.size() > size_ - offset) return false;
    std::memcpy(mapped_ + offset, bytes.data(), bytes.size());
    return static_cast<bool>(resource_.block.flush(owner_->device(), offset, bytes.size()));
}

inline bool Buffer::read(VkDeviceSize offset, std::span<std::byte> out) noexcept {
    if (mapped_ == nullptr || offset > size_ || out.size() > size_ - offset) return false;
    if (!resource_.block.invalidate(owner_->device(), offset, out.size())) return false;
    std::memcpy(out.data(), mapped_ + offset, out.size());
    return true;
}

inline void Image::reset() noexcept {
    if (owner_ == nullptr) return;
    std::exchange(owner_, nullptr)->release(std::move(resource_));
    resource_.image = VK_NULL_HANDLE;
    extent_ = {};
}

}  // namespace vulkan_raii
