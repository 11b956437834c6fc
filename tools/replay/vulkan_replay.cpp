// Instance and device creation for --vulkan, and the replay on them.
#include "vulkan_replay.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define GPU_ALLOC_REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define GPU_ALLOC_REPLAY_ASAN 1
#endif
#endif
#if defined(GPU_ALLOC_REPLAY_ASAN) && defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif

#include <vulkan/vulkan.h>

#include <gpu_alloc/vulkan/adapter.hpp>

namespace gpu_alloc::replay {

struct VulkanReplayDevice::State {
    VkInstance instance = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    std::string name;
    DeviceProperties properties;
    std::unique_ptr<vulkan::VulkanMemoryDevice> memory;

    ~State() {
        memory.reset();
        if (device != VK_NULL_HANDLE) vkDestroyDevice(device, nullptr);
        if (instance != VK_NULL_HANDLE) vkDestroyInstance(instance, nullptr);
    }
};

namespace {

int device_rank(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
        default: return 4;
    }
}

std::uint32_t major_minor(std::uint32_t version) {
    return VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version), 0);
}

std::string vk_error(const char* call, VkResult r) { return std::string(call) + " failed (VkResult " + std::to_string(r) + ")"; }

// Under AddressSanitizer (LeakSanitizer), keep every shared library the loader
// has opened for the instance (the driver, what it links, any implicit layer)
// loaded for the life of the process. The loader dlcloses them at
// vkDestroyInstance; LeakSanitizer runs at exit, after that, and would report
// what the driver keeps in its globals as leaks "from <unknown module>", which
// no suppression by library name (tests/vulkan/lsan.supp) can match. Pinned,
// the driver's globals stay mapped, so what they point to is reachable, and any
// other leak inside those libraries keeps its module name; nothing is
// suppressed, and leaks of the project's own code are reported as before. The
// adapter's tests do the same (tests/vulkan/support/vulkan_context.cpp, by
// library name, before the instance; here every library loaded once the
// instance exists, whichever driver that is). Elsewhere a no-op.
void keep_driver_libraries_loaded() {
#if defined(GPU_ALLOC_REPLAY_ASAN) && defined(__linux__)
    std::vector<std::string> names;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* out) {
            if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0')
                static_cast<std::vector<std::string>*>(out)->emplace_back(info->dlpi_name);
            return 0;
        },
        &names);
    // RTLD_NOLOAD: only libraries already loaded; RTLD_NODELETE: never unloaded.
    // The handles are never closed. Done outside the iteration (which holds
    // the dynamic linker's lock).
    for (const std::string& name : names) (void)dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

}  // namespace

VulkanReplayDevice::VulkanReplayDevice(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
VulkanReplayDevice::~VulkanReplayDevice() = default;

const std::string& VulkanReplayDevice::name() const noexcept { return state_->name; }
const DeviceProperties& VulkanReplayDevice::properties() const noexcept { return state_->properties; }

Result<std::unique_ptr<VulkanReplayDevice>, std::string> VulkanReplayDevice::open() {
    auto s = std::make_unique<State>();

    std::uint32_t loader_version = VK_API_VERSION_1_0;
    vkEnumerateInstanceVersion(&loader_version);
    const std::uint32_t instance_version = std::min(major_minor(loader_version), VK_API_VERSION_1_3);
    if (instance_version < VK_API_VERSION_1_1) return unexpected(std::string("--vulkan needs a Vulkan 1.1 loader"));
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "gpu-alloc-replay";
    app.apiVersion = instance_version;
    VkInstanceCreateInfo instance_info{};
    instance_info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    instance_info.pApplicationInfo = &app;
    if (VkResult r = vkCreateInstance(&instance_info, nullptr, &s->instance); r != VK_SUCCESS) {
        s->instance = VK_NULL_HANDLE;
        return unexpected(vk_error("vkCreateInstance", r));
    }
    keep_driver_libraries_loaded();

    std::uint32_t count = 0;
    vkEnumeratePhysicalDevices(s->instance, &count, nullptr);
    std::vector<VkPhysicalDevice> physicals(count);
    vkEnumeratePhysicalDevices(s->instance, &count, physicals.data());
    const char* wanted = std::getenv("GPU_ALLOC_VK_DEVICE");
    VkPhysicalDevice chosen = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties chosen_props{};
    for (VkPhysicalDevice pd : physicals) {
        VkPhysicalDeviceProperties p{};
        vkGetPhysicalDeviceProperties(pd, &p);
        const bool named = wanted != nullptr && wanted[0] != '\0';
        if (named ? (std::strstr(p.deviceName, wanted) != nullptr && chosen == VK_NULL_HANDLE)
                  : (chosen == VK_NULL_HANDLE || device_rank(p.deviceType) < device_rank(chosen_props.deviceType))) {
            chosen = pd;
            chosen_props = p;
        }
    }
    if (chosen == VK_NULL_HANDLE)
        return unexpected(std::string(count == 0 ? "no Vulkan device" : "no Vulkan device name contains GPU_ALLOC_VK_DEVICE"));
    const std::uint32_t device_version = std::min(instance_version, major_minor(chosen_props.apiVersion));
    if (device_version < VK_API_VERSION_1_1) return unexpected(std::string("--vulkan needs a Vulkan 1.1 device"));

    std::uint32_t family_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(chosen, &family_count, nullptr);
    if (family_count == 0) return unexpected(std::string("the device has no queue family"));

    std::uint32_t ext_count = 0;
    vkEnumerateDeviceExtensionProperties(chosen, nullptr, &ext_count, nullptr);
    std::vector<VkExtensionProperties> extensions(ext_count);
    vkEnumerateDeviceExtensionProperties(chosen, nullptr, &ext_count, extensions.data());
    std::vector<const char*> enabled;
    const bool budget = std::any_of(extensions.begin(), extensions.end(), [](const VkExtensionProperties& e) {
        return std::strcmp(e.extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0;
    });
    if (budget) enabled.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);

    VkPhysicalDeviceVulkan12Features features12{};
    features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    VkPhysicalDeviceFeatures2 features2{};
    features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    if (device_version >= VK_API_VERSION_1_2) features2.pNext = &features12;
    vkGetPhysicalDeviceFeatures2(chosen, &features2);
    const bool bda = device_version >= VK_API_VERSION_1_2 && features12.bufferDeviceAddress == VK_TRUE;
    features12 = {};
    features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    features12.bufferDeviceAddress = bda ? VK_TRUE : VK_FALSE;
    features2 = {};
    features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    if (device_version >= VK_API_VERSION_1_2) features2.pNext = &features12;

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = 0;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo device_info{};
    device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    device_info.pNext = &features2;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    device_info.enabledExtensionCount = static_cast<std::uint32_t>(enabled.size());
    device_info.ppEnabledExtensionNames = enabled.data();
    if (VkResult r = vkCreateDevice(chosen, &device_info, nullptr, &s->device); r != VK_SUCCESS) {
        s->device = VK_NULL_HANDLE;
        return unexpected(vk_error("vkCreateDevice", r));
    }

    vulkan::VulkanDeviceInfo info;
    info.instance = s->instance;
    info.physical_device = chosen;
    info.device = s->device;
    info.api_version = device_version;
    info.dedicated_allocation = true;  // core in 1.1
    info.maintenance3 = true;          // core in 1.1
    info.memory_budget = budget;
    info.buffer_device_address = bda;
    auto functions = vulkan::load_functions(info, &vkGetInstanceProcAddr, &vkGetDeviceProcAddr);
    if (!functions) return unexpected(std::string("Vulkan entry point missing: ") + functions.error().name);
    s->properties = vulkan::device_properties(*functions, info);
    if (!is_valid(s->properties)) return unexpected(std::string("the device reports invalid memory properties"));
    s->memory = std::make_unique<vulkan::VulkanMemoryDevice>(*functions, info);
    s->name = std::string(chosen_props.deviceName) + " (Vulkan " + std::to_string(VK_API_VERSION_MAJOR(device_version)) +
              "." + std::to_string(VK_API_VERSION_MINOR(device_version)) + ")";
    return std::unique_ptr<VulkanReplayDevice>(new VulkanReplayDevice(std::move(s)));
}

TraceMeasurement VulkanReplayDevice::measure(const Trace& trace, StrategyPolicy policy, unsigned runs) {
    return measure_trace(*state_->memory, trace, state_->properties, config_for(state_->properties, policy), runs,
                         Clock::wall);
}

AllocatorSnapshot VulkanReplayDevice::snapshot(const Trace& trace, StrategyPolicy policy, std::uint64_t last_op) {
    return snapshot_after(*state_->memory, trace, state_->properties, config_for(state_->properties, policy), last_op);
}

}  // namespace gpu_alloc::replay
