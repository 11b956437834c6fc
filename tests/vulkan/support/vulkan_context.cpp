// VulkanContext: instance, validation messenger, device; see vulkan_context.hpp.
#include "vulkan_context.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gpu_alloc::vulkan_testing {

namespace {

constexpr const char* validation_layer = "VK_LAYER_KHRONOS_validation";

bool env_flag(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && std::strcmp(v, "0") != 0 && v[0] != '\0';
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT types,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    auto* counter = static_cast<ValidationCounter*>(user);
    const char* text = data != nullptr && data->pMessage != nullptr ? data->pMessage : "(no message)";
    if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        // Loader messages (GENERAL) about other ICDs on the machine are not the
        // program's fault; validation and performance errors are.
        if ((types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT)) != 0) {
            ++counter->errors;
            if (counter->messages.size() < 20) counter->messages.emplace_back(text);
            std::fprintf(stderr, "[vulkan validation error] %s\n", text);
        } else {
            std::fprintf(stderr, "[vulkan error, not counted] %s\n", text);
        }
    } else if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        ++counter->warnings;
        std::fprintf(stderr, "[vulkan warning] %s\n", text);
    }
    return VK_FALSE;
}

bool has_extension(const std::vector<VkExtensionProperties>& list, const char* name) {
    return std::any_of(list.begin(), list.end(),
                       [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

std::vector<VkExtensionProperties> instance_extensions(const char* layer) {
    std::uint32_t count = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &count, nullptr) != VK_SUCCESS) return {};
    std::vector<VkExtensionProperties> out(count);
    if (vkEnumerateInstanceExtensionProperties(layer, &count, out.data()) != VK_SUCCESS) return {};
    out.resize(count);
    return out;
}

bool layer_available(const char* name) {
    std::uint32_t count = 0;
    if (vkEnumerateInstanceLayerProperties(&count, nullptr) != VK_SUCCESS) return false;
    std::vector<VkLayerProperties> layers(count);
    if (vkEnumerateInstanceLayerProperties(&count, layers.data()) != VK_SUCCESS) return false;
    return std::any_of(layers.begin(), layers.begin() + count,
                       [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

int device_rank(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
        default: return 4;
    }
}

std::uint32_t major_minor(std::uint32_t v) {
    return VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), 0);
}

// Under AddressSanitizer, keep the CPU driver and the validation layer loaded
// for the life of the process: the loader dlcloses them at vkDestroyInstance
// and LeakSanitizer then reports their static allocations as leaks with no
// symbols to suppress them by. A no-op where they are not installed.
#if defined(__SANITIZE_ADDRESS__)
#define GPU_ALLOC_VK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GPU_ALLOC_VK_TEST_ASAN 1
#endif
#endif

void keep_libraries_loaded() {
#if defined(GPU_ALLOC_VK_TEST_ASAN)
    static const bool once = [] {
        for (const char* lib : {"libvulkan_lvp.so", "libVkLayer_khronos_validation.so"})
            (void)dlopen(lib, RTLD_NOW | RTLD_NODELETE);
        return true;
    }();
    (void)once;
#endif
}

}  // namespace

std::string to_string(VkResult result) {
    switch (result) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
        default: return "VkResult " + std::to_string(static_cast<int>(result));
    }
}

std::unique_ptr<VulkanContext> VulkanContext::create(const ContextOptions& options, std::string& error) {
    keep_libraries_loaded();
    std::unique_ptr<VulkanContext> ctx(new VulkanContext());
    ValidationCounter* counter = ctx->counter_.get();

    // --- Instance ---------------------------------------------------------
    std::uint32_t loader_version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion(&loader_version) != VK_SUCCESS) loader_version = VK_API_VERSION_1_0;
    const std::uint32_t instance_version = std::min(major_minor(options.api_version), major_minor(loader_version));

    const bool require_validation = options.require_validation || env_flag("GPU_ALLOC_VK_REQUIRE_VALIDATION");
    const bool want_validation = options.validation || require_validation;
    const bool have_layer = want_validation && layer_available(validation_layer);
    if (require_validation && !have_layer) {
        error = "VK_LAYER_KHRONOS_validation is required but not installed (vulkan-validationlayers)";
        return nullptr;
    }
    std::vector<const char*> layers;
    std::vector<const char*> extensions;
    const std::vector<VkExtensionProperties> loader_extensions = instance_extensions(nullptr);
    std::vector<VkExtensionProperties> layer_extensions;
    if (have_layer) {
        layers.push_back(validation_layer);
        layer_extensions = instance_extensions(validation_layer);
    }
    const bool debug_utils = has_extension(loader_extensions, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                             has_extension(layer_extensions, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (debug_utils) extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (have_layer && !debug_utils) {
        error = "VK_EXT_debug_utils is missing: validation errors could not be counted";
        return nullptr;
    }
    const bool validation_features =
        have_layer && options.synchronization_validation &&
        has_extension(layer_extensions, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (validation_features) extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    const bool props2_ext = instance_version < VK_API_VERSION_1_1 && options.khr_fallbacks &&
                            has_extension(loader_extensions, VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME);
    if (props2_ext) extensions.push_back(VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME);

    VkDebugUtilsMessengerCreateInfoEXT messenger_info{};
    messenger_info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    messenger_info.messageSeverity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messenger_info.pfnUserCallback = &on_message;
    messenger_info.pUserData = counter;

    const VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features_info{};
    features_info.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
    features_info.enabledValidationFeatureCount = 1;
    features_info.pEnabledValidationFeatures = enables;

    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "gpu-alloc-vulkan-tests";
    app.pEngineName = "gpu-alloc";
    app.apiVersion = instance_version;

    VkInstanceCreateInfo instance_info{};
    instance_info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    instance_info.pApplicationInfo = &app;
    instance_info.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
    instance_info.ppEnabledLayerNames = layers.data();
    instance_info.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
    instance_info.ppEnabledExtensionNames = extensions.data();
    if (debug_utils) {
        instance_info.pNext = &messenger_info;
        if (validation_features) messenger_info.pNext = &features_info;
    }

    VkInstance instance = VK_NULL_HANDLE;
    VkResult r = vkCreateInstance(&instance_info, nullptr, &instance);
    if (r != VK_SUCCESS) {
        error = "vkCreateInstance: " + to_string(r);
        return nullptr;
    }
    ctx->info_.instance = instance;
    ctx->info_.api_version = instance_version;
    ctx->info_.get_physical_device_properties2 = props2_ext;
    ctx->validation_enabled_ = have_layer;
    if (debug_utils) {
        messenger_info.pNext = nullptr;
        auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
        if (create_messenger == nullptr ||
            create_messenger(instance, &messenger_info, nullptr, &ctx->messenger_) != VK_SUCCESS) {
            error = "vkCreateDebugUtilsMessengerEXT failed";
            return nullptr;
        }
    }

    // --- Physical device ------------------------------------------------------
    std::uint32_t count = 0;
    vkEnumeratePhysicalDevices(instance, &count, nullptr);
    std::vector<VkPhysicalDevice> physicals(count);
    vkEnumeratePhysicalDevices(instance, &count, physicals.data());
    if (count == 0) {
        error = "no Vulkan physical device (is mesa-vulkan-drivers installed?)";
        return nullptr;
    }
    const char* wanted = std::getenv("GPU_ALLOC_VK_DEVICE");
    VkPhysicalDevice chosen = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties chosen_props{};
    for (VkPhysicalDevice pd : physicals) {
        VkPhysicalDeviceProperties p{};
        vkGetPhysicalDeviceProperties(pd, &p);
        if (wanted != nullptr && wanted[0] != '\0') {
            if (std::strstr(p.deviceName, wanted) != nullptr && chosen == VK_NULL_HANDLE) {
                chosen = pd;
                chosen_props = p;
            }
        } else if (chosen == VK_NULL_HANDLE || device_rank(p.deviceType) < device_rank(chosen_props.deviceType)) {
            chosen = pd;
            chosen_props = p;
        }
    }
    if (chosen == VK_NULL_HANDLE) {
        error = std::string("no Vulkan device name contains GPU_ALLOC_VK_DEVICE=") + wanted;
        return nullptr;
    }
    ctx->info_.physical_device = chosen;
    ctx->device_name_ = chosen_props.deviceName;
    const std::uint32_t device_version = std::min(instance_version, major_minor(chosen_props.apiVersion));
    ctx->api_version_ = device_version;

    std::uint32_t family_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(chosen, &family_count, nullptr);
    std::vector<VkQueueFamilyProperties> families(family_count);
    vkGetPhysicalDeviceQueueFamilyProperties(chosen, &family_count, families.data());
    std::uint32_t family = UINT32_MAX;
    for (std::uint32_t i = 0; i < family_count && family == UINT32_MAX; ++i)
        if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) != 0) family = i;
    if (family == UINT32_MAX) {
        error = "the device has no compute queue";
        return nullptr;
    }
    ctx->queue_family_ = family;

    // --- Device ------------------------------------------------------------
    std::uint32_t ext_count = 0;
    vkEnumerateDeviceExtensionProperties(chosen, nullptr, &ext_count, nullptr);
    std::vector<VkExtensionProperties> device_exts(ext_count);
    vkEnumerateDeviceExtensionProperties(chosen, nullptr, &ext_count, device_exts.data());
    std::vector<const char*> enabled_exts;
    auto enable_if_present = [&](const char* name) {
        if (!has_extension(device_exts, name)) return false;
        enabled_exts.push_back(name);
        return true;
    };

    VkPhysicalDeviceVulkan12Features features12{};
    features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    VkPhysicalDeviceMemoryPriorityFeaturesEXT priority_features{};
    priority_features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT;
    VkPhysicalDeviceFeatures2 features2{};
    features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;

    if (device_version < VK_API_VERSION_1_1) {
        // Vulkan 1.0: the KHR extensions the adapter falls back to, where offered.
        ctx->info_.dedicated_allocation = options.khr_fallbacks &&
                                          has_extension(device_exts, VK_KHR_GET_MEMORY_REQUIREMENTS_2_EXTENSION_NAME) &&
                                          has_extension(device_exts, VK_KHR_DEDICATED_ALLOCATION_EXTENSION_NAME);
        if (ctx->info_.dedicated_allocation) {
            enabled_exts.push_back(VK_KHR_GET_MEMORY_REQUIREMENTS_2_EXTENSION_NAME);
            enabled_exts.push_back(VK_KHR_DEDICATED_ALLOCATION_EXTENSION_NAME);
        }
        ctx->info_.maintenance3 = props2_ext && enable_if_present(VK_KHR_MAINTENANCE_3_EXTENSION_NAME);
        if (options.memory_budget && props2_ext)
            ctx->info_.memory_budget = enable_if_present(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    } else {
        const void** next = const_cast<const void**>(&features2.pNext);
        if (device_version >= VK_API_VERSION_1_2) {
            *next = &features12;
            next = const_cast<const void**>(&features12.pNext);
        }
        const bool priority_ext = options.memory_priority && has_extension(device_exts, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
        if (priority_ext) *next = &priority_features;
        vkGetPhysicalDeviceFeatures2(chosen, &features2);
        // Enable only what the adapter uses.
        const bool bda = options.buffer_device_address && device_version >= VK_API_VERSION_1_2 &&
                         features12.bufferDeviceAddress == VK_TRUE;
        const bool priority = priority_ext && priority_features.memoryPriority == VK_TRUE;
        features12 = {};
        features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
        features12.bufferDeviceAddress = bda ? VK_TRUE : VK_FALSE;
        priority_features = {};
        priority_features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT;
        priority_features.memoryPriority = VK_TRUE;
        features2 = {};
        features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
        next = const_cast<const void**>(&features2.pNext);
        if (device_version >= VK_API_VERSION_1_2) {
            *next = &features12;
            next = const_cast<const void**>(&features12.pNext);
        }
        if (priority) {
            enabled_exts.push_back(VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
            *next = &priority_features;
        }
        if (options.memory_budget) ctx->info_.memory_budget = enable_if_present(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
        ctx->info_.buffer_device_address = bda;
        ctx->info_.memory_priority = priority;
    }

    const float queue_priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &queue_priority;

    VkDeviceCreateInfo device_info{};
    device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    device_info.pNext = device_version >= VK_API_VERSION_1_1 ? &features2 : nullptr;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    device_info.enabledExtensionCount = static_cast<std::uint32_t>(enabled_exts.size());
    device_info.ppEnabledExtensionNames = enabled_exts.data();

    VkDevice device = VK_NULL_HANDLE;
    r = vkCreateDevice(chosen, &device_info, nullptr, &device);
    if (r != VK_SUCCESS) {
        error = "vkCreateDevice: " + to_string(r);
        return nullptr;
    }
    ctx->info_.device = device;
    vkGetDeviceQueue(device, family, 0, &ctx->queue_);

    auto functions = gpu_alloc::vulkan::load_functions(ctx->info_, &vkGetInstanceProcAddr, &vkGetDeviceProcAddr);
    if (!functions) {
        error = std::string("load_functions: missing ") + functions.error().name;
        return nullptr;
    }
    ctx->functions_ = *functions;
    return ctx;
}

VulkanContext::~VulkanContext() {
    if (info_.device != VK_NULL_HANDLE) {
        vkDeviceWaitIdle(info_.device);
        vkDestroyDevice(info_.device, nullptr);
    }
    if (messenger_ != VK_NULL_HANDLE) {
        auto destroy_messenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(info_.instance, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy_messenger != nullptr) destroy_messenger(info_.instance, messenger_, nullptr);
    }
    if (info_.instance != VK_NULL_HANDLE) vkDestroyInstance(info_.instance, nullptr);
}

std::uint32_t VulkanContext::find_memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required) const noexcept {
    VkPhysicalDeviceMemoryProperties props{};
    vkGetPhysicalDeviceMemoryProperties(info_.physical_device, &props);
    for (std::uint32_t i = 0; i < props.memoryTypeCount; ++i)
        if ((type_bits & (1u << i)) != 0 && (props.memoryTypes[i].propertyFlags & required) == required) return i;
    return UINT32_MAX;
}

}  // namespace gpu_alloc::vulkan_testing
