// VMA over a mock Vulkan device (see vma_peer.hpp).
//
// The mock: VkDevice and VkPhysicalDevice are pointers to one FakeDevice. It
// reports the profile's memory heaps and types, bufferImageGranularity,
// nonCoherentAtomSize and maxMemoryAllocationCount as
// vkGetPhysicalDevice(Memory)Properties, Vulkan 1.0 (VMA's default
// vulkanApiVersion), no extensions. vkAllocateMemory creates an object of the
// requested size when it fits its heap and max_memory_allocation_size (else
// VK_ERROR_OUT_OF_DEVICE_MEMORY, as a driver) and counts it, under a mutex
// (memory objects are rare); vkMapMemory reserves address space (never
// touched). Buffers and images are counters and numbers: vkCreateBuffer and
// vkCreateImage hand out a fresh handle, vkGet*MemoryRequirements answer with
// the trace operation's size and alignment and every memory type (as the
// other peers' requests allow every type), vkBind* accept. Their counts are
// kept per thread and folded into the device's when a thread is done, so that
// the mock adds no shared write per operation to VMA's cost.
//
// Trace usage -> VMA (VmaAllocationCreateInfo, VkBuffer/ImageCreateInfo::usage):
//   device only            VMA_MEMORY_USAGE_AUTO_PREFER_DEVICE; buffer STORAGE|TRANSFER_SRC|TRANSFER_DST
//   no usage               VMA_MEMORY_USAGE_AUTO, same buffer usage
//   upload                 AUTO (AUTO_PREFER_DEVICE with device) + HOST_ACCESS_SEQUENTIAL_WRITE; buffer TRANSFER_SRC
//   download, host         AUTO (AUTO_PREFER_DEVICE with device) + HOST_ACCESS_RANDOM; buffer TRANSFER_DST
//   address                + SHADER_DEVICE_ADDRESS buffer usage
//   transient              nothing (VMA has no such hint for AUTO)
// "buf" operations are vmaCreateBuffer, "img" operations vmaCreateImage (2D
// RGBA8, optimal tiling, SAMPLED|TRANSFER_DST, plus TRANSFER_SRC for download).
#include "vma_peer.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "vma_config.hpp"

namespace peers {

namespace {

struct FakeMemory {
    VkDeviceSize size = 0;
    std::uint32_t type = 0;
    std::uint32_t heap = 0;
    void* mapped = nullptr;
};

/// Per thread: the requirements the next vkGet*MemoryRequirements answers,
/// and the buffers/images this thread created and destroyed.
struct ThreadState {
    VkDeviceSize size = 0;
    VkDeviceSize alignment = 1;
    std::uint32_t type_bits = 0;
    std::uint64_t handle_base = 0;
    std::uint64_t next_handle = 0;
    std::int64_t resources_created = 0;
    std::int64_t resources_destroyed = 0;
};
thread_local ThreadState tls;
std::atomic<std::uint64_t> thread_serial{0};

std::uint64_t new_handle() noexcept {
    if (tls.handle_base == 0) tls.handle_base = (thread_serial.fetch_add(1, std::memory_order_relaxed) + 1) << 40;
    return tls.handle_base | ++tls.next_handle;
}

}  // namespace

struct VmaPeer::Impl {
    gpu_alloc::DeviceProperties props;
    gpu_alloc::mock::CostModel cost;
    double modeled_us = 0;
    std::string name;
    VkPhysicalDeviceProperties device_properties{};
    VkPhysicalDeviceMemoryProperties memory_properties{};
    std::uint32_t all_types = 0;

    mutable std::mutex mutex;  // memory objects
    std::vector<std::uint64_t> heap_live;
    Counters counters;
    std::uint64_t failed_allocations = 0;
    std::atomic<std::int64_t> resources_created{0};
    std::atomic<std::int64_t> resources_destroyed{0};

    VmaAllocator allocator = VK_NULL_HANDLE;

    struct Choice {
        VmaAllocationCreateInfo create{};
        VkBufferUsageFlags buffer_usage = 0;
        VkImageUsageFlags image_usage = 0;
    };
    Choice choices[64];

    static Impl* of(VkDevice d) noexcept { return reinterpret_cast<Impl*>(d); }
    static Impl* of(VkPhysicalDevice d) noexcept { return reinterpret_cast<Impl*>(d); }
    VkDevice device() noexcept { return reinterpret_cast<VkDevice>(this); }
    VkPhysicalDevice physical() noexcept { return reinterpret_cast<VkPhysicalDevice>(this); }

    void fold_thread() noexcept {
        resources_created.fetch_add(tls.resources_created, std::memory_order_relaxed);
        resources_destroyed.fetch_add(tls.resources_destroyed, std::memory_order_relaxed);
        tls.resources_created = 0;
        tls.resources_destroyed = 0;
    }

    // -- the fake Vulkan functions ----------------------------------------------------

    static void VKAPI_CALL get_properties(VkPhysicalDevice pd, VkPhysicalDeviceProperties* out) {
        *out = of(pd)->device_properties;
    }
    static void VKAPI_CALL get_memory_properties(VkPhysicalDevice pd, VkPhysicalDeviceMemoryProperties* out) {
        *out = of(pd)->memory_properties;
    }
    static void VKAPI_CALL get_properties2(VkPhysicalDevice pd, VkPhysicalDeviceProperties2* out) {
        out->properties = of(pd)->device_properties;
    }
    static void VKAPI_CALL get_memory_properties2(VkPhysicalDevice pd, VkPhysicalDeviceMemoryProperties2* out) {
        out->memoryProperties = of(pd)->memory_properties;
    }

    static VkResult VKAPI_CALL allocate_memory(VkDevice d, const VkMemoryAllocateInfo* info,
                                               const VkAllocationCallbacks*, VkDeviceMemory* out) {
        Impl* self = of(d);
        std::lock_guard lock(self->mutex);
        if (info->memoryTypeIndex >= self->props.memory_types.size()) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        const std::uint32_t heap = self->props.memory_types[info->memoryTypeIndex].heap;
        const VkDeviceSize size = info->allocationSize;
        if (size == 0 || size > self->props.max_memory_allocation_size ||
            self->heap_live[heap] + size > self->props.memory_heaps[heap].size ||
            self->counters.live_objects >= self->props.max_memory_allocation_count) {
            ++self->failed_allocations;
            return VK_ERROR_OUT_OF_DEVICE_MEMORY;
        }
        auto* m = new FakeMemory{size, info->memoryTypeIndex, heap, nullptr};
        self->modeled_us += self->cost.allocate_us(info->memoryTypeIndex, size);
        self->heap_live[heap] += size;
        Counters& c = self->counters;
        ++c.device_allocations;
        ++c.live_objects;
        c.live_bytes += size;
        if (c.live_objects > c.peak_objects) c.peak_objects = c.live_objects;
        *out = reinterpret_cast<VkDeviceMemory>(m);
        return VK_SUCCESS;
    }
    static void VKAPI_CALL free_memory(VkDevice d, VkDeviceMemory memory, const VkAllocationCallbacks*) {
        if (memory == VK_NULL_HANDLE) return;
        Impl* self = of(d);
        auto* m = reinterpret_cast<FakeMemory*>(memory);
        std::lock_guard lock(self->mutex);
        if (m->mapped) ::munmap(m->mapped, m->size);
        self->heap_live[m->heap] -= m->size;
        self->modeled_us += self->cost.free_us(m->type, m->size);
        --self->counters.live_objects;
        self->counters.live_bytes -= m->size;
        delete m;
    }
    static VkResult VKAPI_CALL map_memory(VkDevice d, VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize,
                                          VkMemoryMapFlags, void** out) {
        auto* m = reinterpret_cast<FakeMemory*>(memory);
        std::lock_guard lock(of(d)->mutex);
        if (m->mapped == nullptr) {
            void* p = ::mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED) return VK_ERROR_MEMORY_MAP_FAILED;
            m->mapped = p;
        }
        *out = static_cast<char*>(m->mapped) + offset;
        return VK_SUCCESS;
    }
    static void VKAPI_CALL unmap_memory(VkDevice, VkDeviceMemory) {}  // the mapping stays until vkFreeMemory
    static VkResult VKAPI_CALL flush_ranges(VkDevice, std::uint32_t, const VkMappedMemoryRange*) { return VK_SUCCESS; }

    static VkResult VKAPI_CALL bind_buffer(VkDevice, VkBuffer, VkDeviceMemory memory, VkDeviceSize) {
        return memory == VK_NULL_HANDLE ? VK_ERROR_UNKNOWN : VK_SUCCESS;
    }
    static VkResult VKAPI_CALL bind_image(VkDevice, VkImage, VkDeviceMemory memory, VkDeviceSize) {
        return memory == VK_NULL_HANDLE ? VK_ERROR_UNKNOWN : VK_SUCCESS;
    }
    static VkResult VKAPI_CALL bind_buffer2(VkDevice, std::uint32_t, const VkBindBufferMemoryInfo*) { return VK_SUCCESS; }
    static VkResult VKAPI_CALL bind_image2(VkDevice, std::uint32_t, const VkBindImageMemoryInfo*) { return VK_SUCCESS; }

    static void requirements(VkMemoryRequirements* out) noexcept {
        out->size = tls.size;
        out->alignment = tls.alignment;
        out->memoryTypeBits = tls.type_bits;
    }
    static void requirements2(VkMemoryRequirements2* out) noexcept {
        requirements(&out->memoryRequirements);
        for (auto* next = static_cast<VkBaseOutStructure*>(out->pNext); next; next = next->pNext) {
            if (next->sType == VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS) {
                auto* d = reinterpret_cast<VkMemoryDedicatedRequirements*>(next);
                d->prefersDedicatedAllocation = VK_FALSE;
                d->requiresDedicatedAllocation = VK_FALSE;
            }
        }
    }
    static void VKAPI_CALL buffer_requirements(VkDevice, VkBuffer, VkMemoryRequirements* out) { requirements(out); }
    static void VKAPI_CALL image_requirements(VkDevice, VkImage, VkMemoryRequirements* out) { requirements(out); }
    static void VKAPI_CALL buffer_requirements2(VkDevice, const VkBufferMemoryRequirementsInfo2*, VkMemoryRequirements2* out) {
        requirements2(out);
    }
    static void VKAPI_CALL image_requirements2(VkDevice, const VkImageMemoryRequirementsInfo2*, VkMemoryRequirements2* out) {
        requirements2(out);
    }
    static void VKAPI_CALL device_buffer_requirements(VkDevice, const VkDeviceBufferMemoryRequirements*,
                                                      VkMemoryRequirements2* out) {
        requirements2(out);
    }
    static void VKAPI_CALL device_image_requirements(VkDevice, const VkDeviceImageMemoryRequirements*,
                                                     VkMemoryRequirements2* out) {
        requirements2(out);
    }

    static VkResult VKAPI_CALL create_buffer(VkDevice, const VkBufferCreateInfo*, const VkAllocationCallbacks*, VkBuffer* out) {
        ++tls.resources_created;
        *out = reinterpret_cast<VkBuffer>(new_handle());
        return VK_SUCCESS;
    }
    static void VKAPI_CALL destroy_buffer(VkDevice, VkBuffer buffer, const VkAllocationCallbacks*) {
        if (buffer != VK_NULL_HANDLE) ++tls.resources_destroyed;
    }
    static VkResult VKAPI_CALL create_image(VkDevice, const VkImageCreateInfo*, const VkAllocationCallbacks*, VkImage* out) {
        ++tls.resources_created;
        *out = reinterpret_cast<VkImage>(new_handle());
        return VK_SUCCESS;
    }
    static void VKAPI_CALL destroy_image(VkDevice, VkImage image, const VkAllocationCallbacks*) {
        if (image != VK_NULL_HANDLE) ++tls.resources_destroyed;
    }
    static void VKAPI_CALL copy_buffer(VkCommandBuffer, VkBuffer, VkBuffer, std::uint32_t, const VkBufferCopy*) {}

    VmaVulkanFunctions functions() const {
        VmaVulkanFunctions f{};
        f.vkGetPhysicalDeviceProperties = &get_properties;
        f.vkGetPhysicalDeviceMemoryProperties = &get_memory_properties;
        f.vkAllocateMemory = &allocate_memory;
        f.vkFreeMemory = &free_memory;
        f.vkMapMemory = &map_memory;
        f.vkUnmapMemory = &unmap_memory;
        f.vkFlushMappedMemoryRanges = &flush_ranges;
        f.vkInvalidateMappedMemoryRanges = &flush_ranges;
        f.vkBindBufferMemory = &bind_buffer;
        f.vkBindImageMemory = &bind_image;
        f.vkGetBufferMemoryRequirements = &buffer_requirements;
        f.vkGetImageMemoryRequirements = &image_requirements;
        f.vkCreateBuffer = &create_buffer;
        f.vkDestroyBuffer = &destroy_buffer;
        f.vkCreateImage = &create_image;
        f.vkDestroyImage = &destroy_image;
        f.vkCmdCopyBuffer = &copy_buffer;
#if VMA_DEDICATED_ALLOCATION || VMA_VULKAN_VERSION >= 1001000
        f.vkGetBufferMemoryRequirements2KHR = &buffer_requirements2;
        f.vkGetImageMemoryRequirements2KHR = &image_requirements2;
#endif
#if VMA_BIND_MEMORY2 || VMA_VULKAN_VERSION >= 1001000
        f.vkBindBufferMemory2KHR = &bind_buffer2;
        f.vkBindImageMemory2KHR = &bind_image2;
#endif
#if VMA_GET_PHYSICAL_DEVICE_PROPERTIES2
        f.vkGetPhysicalDeviceMemoryProperties2KHR = &get_memory_properties2;
        f.vkGetPhysicalDeviceProperties2KHR = &get_properties2;
#endif
#if VMA_KHR_MAINTENANCE4 || VMA_VULKAN_VERSION >= 1003000
        f.vkGetDeviceBufferMemoryRequirements = &device_buffer_requirements;
        f.vkGetDeviceImageMemoryRequirements = &device_image_requirements;
#endif
        return f;
    }

    void fill_choices() {
        using gpu_alloc::UsageFlags;
        for (std::uint32_t u = 0; u < 64; ++u) {
            const auto usage = static_cast<UsageFlags>(u);
            const bool device = gpu_alloc::contains(usage, UsageFlags::fast_device_access);
            const bool upload = gpu_alloc::contains(usage, UsageFlags::upload);
            const bool download = gpu_alloc::contains(usage, UsageFlags::download);
            const bool host = gpu_alloc::contains(usage, UsageFlags::host_access);
            Choice& c = choices[u];
            c.create.usage = device ? VMA_MEMORY_USAGE_AUTO_PREFER_DEVICE : VMA_MEMORY_USAGE_AUTO;
            if (download || host)
                c.create.flags = VMA_ALLOCATION_CREATE_HOST_ACCESS_RANDOM_BIT;
            else if (upload)
                c.create.flags = VMA_ALLOCATION_CREATE_HOST_ACCESS_SEQUENTIAL_WRITE_BIT;
            if (download || host)
                c.buffer_usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
            else if (upload)
                c.buffer_usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
            else
                c.buffer_usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                 VK_BUFFER_USAGE_TRANSFER_DST_BIT;
            if (gpu_alloc::contains(usage, UsageFlags::device_address))
                c.buffer_usage |= VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
            c.image_usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
            if (download) c.image_usage |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
        }
    }
};

VmaPeer::VmaPeer(const gpu_alloc::mock::DeviceProfile& profile) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.props = profile.properties;
    s.cost = profile.cost;
    s.name = profile.name;
    const auto& p = s.props;
    s.all_types = p.memory_types.size() >= 32 ? ~0u : (1u << p.memory_types.size()) - 1u;
    VkPhysicalDeviceProperties& dp = s.device_properties;
    dp.apiVersion = VK_API_VERSION_1_3;
    dp.vendorID = 0x10DE;
    dp.deviceType = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    std::strncpy(dp.deviceName, s.name.c_str(), sizeof dp.deviceName - 1);
    dp.limits.maxMemoryAllocationCount = p.max_memory_allocation_count;
    dp.limits.bufferImageGranularity = p.buffer_image_granularity;
    dp.limits.nonCoherentAtomSize = p.non_coherent_atom_size;
    VkPhysicalDeviceMemoryProperties& mp = s.memory_properties;
    mp.memoryHeapCount = static_cast<std::uint32_t>(p.memory_heaps.size());
    for (std::size_t i = 0; i < p.memory_heaps.size(); ++i) {
        mp.memoryHeaps[i].size = p.memory_heaps[i].size;
        mp.memoryHeaps[i].flags = static_cast<VkMemoryHeapFlags>(p.memory_heaps[i].flags);
    }
    mp.memoryTypeCount = static_cast<std::uint32_t>(p.memory_types.size());
    for (std::size_t i = 0; i < p.memory_types.size(); ++i) {
        mp.memoryTypes[i].heapIndex = p.memory_types[i].heap;
        mp.memoryTypes[i].propertyFlags = static_cast<VkMemoryPropertyFlags>(p.memory_types[i].props);
    }
    s.heap_live.assign(p.memory_heaps.size(), 0);
    s.fill_choices();
}

VmaPeer::~VmaPeer() {
    if (impl_ && impl_->allocator != VK_NULL_HANDLE) cleanup();
}

bool VmaPeer::start(const TraceSummary&) {
    Impl& s = *impl_;
    s.counters = {};
    s.modeled_us = 0;
    s.failed_allocations = 0;
    s.resources_created = 0;
    s.resources_destroyed = 0;
    tls.resources_created = 0;
    tls.resources_destroyed = 0;
    std::fill(s.heap_live.begin(), s.heap_live.end(), 0);
    const VmaVulkanFunctions functions = s.functions();
    VmaAllocatorCreateInfo info{};  // VMA's defaults
    info.physicalDevice = s.physical();
    info.device = s.device();
    info.instance = reinterpret_cast<VkInstance>(&s);
    info.pVulkanFunctions = &functions;
    return vmaCreateAllocator(&info, &s.allocator) == VK_SUCCESS;
}

bool VmaPeer::allocate(const TraceOp& op, Handle& h) noexcept {
    Impl& s = *impl_;
    const Impl::Choice& c = s.choices[static_cast<std::uint32_t>(op.usage) & 63u];
    tls.size = op.size;
    tls.alignment = op.alignment;
    tls.type_bits = s.all_types;
    VmaAllocation allocation = VK_NULL_HANDLE;
    if (op.kind == gpu_alloc::ResourceKind::linear) {
        VkBufferCreateInfo bi{};
        bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
        bi.size = op.size;
        bi.usage = c.buffer_usage;
        bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
        VkBuffer buffer = VK_NULL_HANDLE;
        if (vmaCreateBuffer(s.allocator, &bi, &c.create, &buffer, &allocation, nullptr) != VK_SUCCESS) return false;
        h.resource = reinterpret_cast<std::uint64_t>(buffer);
        h.image = 0;
    } else {
        VkImageCreateInfo ii{};
        ii.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
        ii.imageType = VK_IMAGE_TYPE_2D;
        ii.format = VK_FORMAT_R8G8B8A8_UNORM;
        ii.extent = {1, 1, 1};
        ii.mipLevels = 1;
        ii.arrayLayers = 1;
        ii.samples = VK_SAMPLE_COUNT_1_BIT;
        ii.tiling = VK_IMAGE_TILING_OPTIMAL;
        ii.usage = c.image_usage;
        ii.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
        ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        VkImage image = VK_NULL_HANDLE;
        if (vmaCreateImage(s.allocator, &ii, &c.create, &image, &allocation, nullptr) != VK_SUCCESS) return false;
        h.resource = reinterpret_cast<std::uint64_t>(image);
        h.image = 1;
    }
    h.allocation = allocation;
    return true;
}

void VmaPeer::free(Handle& h) noexcept {
    Impl& s = *impl_;
    auto allocation = static_cast<VmaAllocation>(h.allocation);
    if (h.image)
        vmaDestroyImage(s.allocator, reinterpret_cast<VkImage>(h.resource), allocation);
    else
        vmaDestroyBuffer(s.allocator, reinterpret_cast<VkBuffer>(h.resource), allocation);
}

void VmaPeer::cleanup() {
    Impl& s = *impl_;
    if (s.allocator != VK_NULL_HANDLE) vmaDestroyAllocator(s.allocator);
    s.allocator = VK_NULL_HANDLE;
    s.fold_thread();
}

Counters VmaPeer::counters() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counters;
}

Placed VmaPeer::placed(const Handle& h) const {
    VmaAllocationInfo info{};
    vmaGetAllocationInfo(impl_->allocator, static_cast<VmaAllocation>(h.allocation), &info);
    Placed p;
    p.object = reinterpret_cast<std::uint64_t>(info.deviceMemory);
    p.object_size = info.deviceMemory ? reinterpret_cast<const FakeMemory*>(info.deviceMemory)->size : 0;
    p.offset = info.offset;
    p.size = info.size;
    return p;
}

void VmaPeer::stop() {
    if (impl_->allocator != VK_NULL_HANDLE) cleanup();
}

std::vector<std::string> VmaPeer::extra_problems() const {
    std::vector<std::string> out;
    const Impl& s = *impl_;
    const Counters c = counters();
    if (c.live_objects != 0)
        out.push_back(std::to_string(c.live_objects) + " memory objects live after vmaDestroyAllocator");
    const auto created = s.resources_created.load();
    const auto destroyed = s.resources_destroyed.load();
    if (created != destroyed)
        out.push_back(std::to_string(created - destroyed) + " buffers/images never destroyed");
    return out;
}

double VmaPeer::modeled_device_us() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->modeled_us;
}

void VmaPeer::thread_done() noexcept { impl_->fold_thread(); }

}  // namespace peers
