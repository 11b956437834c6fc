// A complete, minimal program: from vkCreateInstance to buffers and an image
// whose memory comes from gpu-alloc, through the RAII wrapper in
// vulkan_raii.hpp. It uses the linked loader (the overload of load_functions
// that takes no vkGetInstanceProcAddr). docs/vulkan.md walks through it.
//
// Prints one "key=value" line per resource and a summary line; exits non-zero
// on any failure. Runs on any Vulkan device (lavapipe included).
#include <cstdio>
#include <cstring>
#include <vector>

#include <vulkan/vulkan.h>

#include "vulkan_raii.hpp"

namespace {

int fail(const char* what, VkResult r) {
    std::fprintf(stderr, "%s failed: VkResult %d\n", what, static_cast<int>(r));
    return 1;
}

int fail(const char* what, const gpu_alloc::vulkan::ResourceError& e) {
    std::fprintf(stderr, "%s failed: %s\n", what, to_string(e).c_str());
    return 1;
}

void print_block(const char* name, const gpu_alloc::vulkan::VulkanBlock& block) {
    std::printf("resource=%s memory_type=%u offset=%llu size=%llu dedicated=%d\n", name, block.memory_type(),
                static_cast<unsigned long long>(block.offset()), static_cast<unsigned long long>(block.size()),
                block.is_dedicated() ? 1 : 0);
}

// Everything that uses the device, in a scope that ends before the device does.
int run(gpu_alloc::vulkan::VulkanMemoryDevice& device) {
    vulkan_raii::Allocator allocator(device);  // Config::for_device(device_properties(...))

    // A staging buffer the host writes (host-visible, mapped for its lifetime).
    VkBufferCreateInfo staging_info{};
    staging_info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    staging_info.size = 1 << 20;
    staging_info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    staging_info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    gpu_alloc::vulkan::ResourceMemoryInfo upload;
    upload.usage = gpu_alloc::UsageFlags::upload;
    auto staging = allocator.create_buffer(staging_info, upload);
    if (!staging) return fail("staging buffer", staging.error());
    std::vector<std::byte> data(staging_info.size, std::byte{0x42});
    if (!staging->write(0, data)) return fail("staging write", VK_ERROR_MEMORY_MAP_FAILED);
    print_block("staging", staging->block());

    // Device-local storage buffers: sub-allocated from one chunk.
    std::vector<vulkan_raii::Buffer> storage;
    for (VkDeviceSize size : {4096u, 65536u, 300000u}) {
        VkBufferCreateInfo info = staging_info;
        info.size = size;
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
        auto buffer = allocator.create_buffer(info);  // UsageFlags::fast_device_access by default
        if (!buffer) return fail("storage buffer", buffer.error());
        print_block("storage", buffer->block());
        storage.push_back(std::move(*buffer));
    }

    // An optimal-tiling image: kept on its own granularity pages.
    VkImageCreateInfo image_info{};
    image_info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
    image_info.imageType = VK_IMAGE_TYPE_2D;
    image_info.format = VK_FORMAT_R8G8B8A8_UNORM;
    image_info.extent = {256, 256, 1};
    image_info.mipLevels = 1;
    image_info.arrayLayers = 1;
    image_info.samples = VK_SAMPLE_COUNT_1_BIT;
    image_info.tiling = VK_IMAGE_TILING_OPTIMAL;
    image_info.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    auto image = allocator.create_image(image_info);
    if (!image) return fail("image", image.error());
    print_block("image", image->block());

    const gpu_alloc::Statistics stats = allocator.allocator().statistics();
    std::printf("summary resources=%llu device_objects=%llu reserved_bytes=%llu used_bytes=%llu\n",
                static_cast<unsigned long long>(allocator.live_resources()),
                static_cast<unsigned long long>(stats.total.device_objects),
                static_cast<unsigned long long>(stats.total.reserved_bytes),
                static_cast<unsigned long long>(stats.total.used_bytes));
    return 0;
    // image, storage, staging, then the allocator are destroyed here, in that order.
}

}  // namespace

int main() {
    // 1. Instance.
    std::uint32_t loader_version = VK_API_VERSION_1_0;
    vkEnumerateInstanceVersion(&loader_version);
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "gpu-alloc vulkan_raii example";
    app.apiVersion = loader_version >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_0;
    VkInstanceCreateInfo instance_info{};
    instance_info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    instance_info.pApplicationInfo = &app;
    VkInstance instance = VK_NULL_HANDLE;
    if (VkResult r = vkCreateInstance(&instance_info, nullptr, &instance); r != VK_SUCCESS)
        return fail("vkCreateInstance", r);

    // 2. Physical device: the first one.
    std::uint32_t count = 1;
    VkPhysicalDevice physical = VK_NULL_HANDLE;
    if (vkEnumeratePhysicalDevices(instance, &count, &physical) < 0 || count == 0) {
        vkDestroyInstance(instance, nullptr);
        return fail("vkEnumeratePhysicalDevices", VK_ERROR_INITIALIZATION_FAILED);
    }
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(physical, &props);
    const std::uint32_t api = props.apiVersion < app.apiVersion ? props.apiVersion : app.apiVersion;
    std::printf("device=\"%s\" api=%u.%u\n", props.deviceName, VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));

    // 3. Device with one queue (family 0 suffices here: no commands are recorded).
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = 0;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo device_info{};
    device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    VkDevice vk_device = VK_NULL_HANDLE;
    if (VkResult r = vkCreateDevice(physical, &device_info, nullptr, &vk_device); r != VK_SUCCESS) {
        vkDestroyInstance(instance, nullptr);
        return fail("vkCreateDevice", r);
    }

    // 4. The adapter: what was created and enabled, and the entry points.
    gpu_alloc::vulkan::VulkanDeviceInfo info;
    info.instance = instance;
    info.physical_device = physical;
    info.device = vk_device;
    info.api_version = app.apiVersion;  // Vulkan 1.1+ implies dedicated allocation and maintenance3
    int status = 1;
    if (auto functions = gpu_alloc::vulkan::load_functions(info)) {
        gpu_alloc::vulkan::VulkanMemoryDevice device(*functions, info);
        status = run(device);
        std::printf("live_device_memory_objects=%llu\n", static_cast<unsigned long long>(device.live_memory_objects()));
        if (device.live_memory_objects() != 0) status = 1;
    } else {
        std::fprintf(stderr, "missing Vulkan function %s\n", functions.error().name);
    }

    vkDestroyDevice(vk_device, nullptr);
    vkDestroyInstance(instance, nullptr);
    std::printf("status=%s\n", status == 0 ? "ok" : "failed");
    return status;
}
