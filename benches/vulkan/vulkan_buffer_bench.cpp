// The Vulkan buffer benchmark (docs/vulkan.md, docs/benchmarks.md): create + allocate + bind N storage buffers
// of log-uniform sizes (256 B to 4 MiB by default) in device-local memory,
// then destroy + free them all, through gpu-alloc (GpuAllocator + the Vulkan
// adapter's create_buffer / destroy_buffer) and through one vkAllocateMemory
// per buffer; plus vkCreateBuffer + vkDestroyBuffer alone, the floor under both.
//
// The same sizes (from --seed) go through every method; buffers are destroyed
// in creation order. gpu-alloc's destroy figure includes GpuAllocator::cleanup
// (freeing the chunks it kept), so both methods end with no device memory; the
// part cleanup took is printed on its own too.
//
// The device is created with VK_EXT_memory_budget where offered, and without
// bufferDeviceAddress and VK_EXT_memory_priority, so that no extra structure is
// chained to either method's vkAllocateMemory.
//
// Runs on any Vulkan device: the memory type for the per-buffer path is the
// device-local type of the buffer's memoryTypeBits with the fewest other
// property flags (what VMA picks for GPU-only memory); gpu-alloc picks its own
// for UsageFlags::fast_device_access, and the type it used is printed.
//
// Output: one "result" line per method of space-separated key=value pairs, e.g.
//   result method=gpu_alloc count=100000 create_us_per_buffer=... destroy_us_per_buffer=...
// Exit status: 0 when every buffer was created, no device memory was left and
// (with --validation) the layer reported no error.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gpu_alloc/vulkan/adapter.hpp>
#include <gpu_alloc/vulkan/resources.hpp>

#include "vulkan_context.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using gpu_alloc::vulkan::VulkanMemoryDevice;

struct Options {
    std::uint64_t count = 100000;
    std::uint64_t seed = 1;
    std::uint64_t min_size = 256;
    std::uint64_t max_size = 4ull << 20;
    bool validation = false;
    bool run_create_only = true;
    bool run_gpu_alloc = true;
    bool run_per_buffer = true;
    std::string config = "for_device";
};

void usage() {
    std::fprintf(stderr,
                 "usage: gpu_alloc_vulkan_buffer_bench [--count N] [--seed S] [--min-size BYTES] [--max-size BYTES]\n"
                 "         [--methods create_only,gpu_alloc,vkAllocateMemory] [--config for_device|balanced|low_memory]\n"
                 "         [--validation]\n"
                 "  GPU_ALLOC_VK_DEVICE=<name part> picks the device.\n");
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        auto number = [&](std::uint64_t& out) {
            const char* v = value();
            if (v == nullptr) return false;
            char* end = nullptr;
            out = std::strtoull(v, &end, 10);
            return end != v && *end == '\0';
        };
        if (arg == "--count") {
            if (!number(o.count) || o.count == 0) return false;
        } else if (arg == "--seed") {
            if (!number(o.seed)) return false;
        } else if (arg == "--min-size") {
            if (!number(o.min_size) || o.min_size == 0) return false;
        } else if (arg == "--max-size") {
            if (!number(o.max_size)) return false;
        } else if (arg == "--validation") {
            o.validation = true;
        } else if (arg == "--config") {
            const char* v = value();
            if (v == nullptr) return false;
            o.config = v;
            if (o.config != "for_device" && o.config != "balanced" && o.config != "low_memory") return false;
        } else if (arg == "--methods") {
            const char* v = value();
            if (v == nullptr) return false;
            const std::string m = std::string(",") + v + ",";
            o.run_create_only = m.find(",create_only,") != std::string::npos;
            o.run_gpu_alloc = m.find(",gpu_alloc,") != std::string::npos;
            o.run_per_buffer = m.find(",vkAllocateMemory,") != std::string::npos;
        } else {
            return false;
        }
    }
    return o.min_size <= o.max_size;
}

double us_since(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

VkBufferCreateInfo storage_buffer(std::uint64_t size) {
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = size;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    return info;
}

// The device-local type in `bits` with the fewest other property flags.
std::uint32_t device_local_type(const gpu_alloc::DeviceProperties& props, std::uint32_t bits) {
    std::uint32_t best = UINT32_MAX;
    int best_extra = 99;
    for (std::uint32_t t = 0; t < props.memory_types.size(); ++t) {
        const auto flags = props.memory_types[t].props;
        if ((bits & (1u << t)) == 0 || !contains(flags, gpu_alloc::MemoryPropertyFlags::device_local)) continue;
        const int extra = std::popcount(static_cast<std::uint32_t>(flags)) - 1;
        if (extra < best_extra) {
            best = t;
            best_extra = extra;
        }
    }
    return best;
}

struct Failure {
    bool any = false;
};

// vkCreateBuffer + vkDestroyBuffer with no memory.
void run_create_only(const gpu_alloc::vulkan_testing::VulkanContext& ctx, const std::vector<std::uint64_t>& sizes,
                     Failure& failure) {
    std::vector<VkBuffer> buffers(sizes.size(), VK_NULL_HANDLE);
    auto start = Clock::now();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        VkBufferCreateInfo info = storage_buffer(sizes[i]);
        if (vkCreateBuffer(ctx.device(), &info, nullptr, &buffers[i]) != VK_SUCCESS) failure.any = true;
    }
    const double create_us = us_since(start);
    start = Clock::now();
    for (VkBuffer b : buffers) vkDestroyBuffer(ctx.device(), b, nullptr);
    const double destroy_us = us_since(start);
    const double n = static_cast<double>(sizes.size());
    std::printf("result method=create_only count=%zu create_us_per_buffer=%.3f destroy_us_per_buffer=%.3f\n",
                sizes.size(), create_us / n, destroy_us / n);
}

void run_gpu_alloc(VulkanMemoryDevice& device, const gpu_alloc::DeviceProperties& props, const Options& o,
                   const std::vector<std::uint64_t>& sizes, Failure& failure) {
    gpu_alloc::Config config = o.config == "balanced"     ? gpu_alloc::Config::balanced()
                               : o.config == "low_memory" ? gpu_alloc::Config::low_memory()
                                                          : gpu_alloc::Config::for_device(props);
    gpu_alloc::vulkan::VulkanAllocator allocator(props, config);
    std::vector<gpu_alloc::vulkan::BufferAllocation> buffers(sizes.size());
    const std::uint64_t objects_before = device.total_memory_objects();
    std::uint32_t type_mask = 0;
    std::size_t created = 0;

    auto start = Clock::now();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        auto b = gpu_alloc::vulkan::create_buffer(allocator, device, storage_buffer(sizes[i]));
        if (!b) {
            std::fprintf(stderr, "gpu_alloc: buffer %zu of %llu bytes: %s\n", i,
                         static_cast<unsigned long long>(sizes[i]), to_string(b.error()).c_str());
            failure.any = true;
            break;
        }
        buffers[i] = std::move(*b);
        ++created;
    }
    const double create_us = us_since(start);
    for (std::size_t i = 0; i < created; ++i) type_mask |= 1u << buffers[i].block.memory_type();
    const gpu_alloc::Statistics stats = allocator.statistics();

    start = Clock::now();
    for (std::size_t i = 0; i < created; ++i) gpu_alloc::vulkan::destroy_buffer(allocator, device, std::move(buffers[i]));
    const double free_us = us_since(start);
    start = Clock::now();
    allocator.cleanup(device);
    const double cleanup_us = us_since(start);

    const double n = static_cast<double>(created == 0 ? 1 : created);
    std::printf("result method=gpu_alloc count=%zu create_us_per_buffer=%.3f destroy_us_per_buffer=%.3f "
                "destroy_without_cleanup_us_per_buffer=%.3f cleanup_ms=%.3f device_objects_peak=%llu "
                "device_objects_created=%llu reserved_bytes_peak=%llu requested_bytes=%llu memory_types=0x%x "
                "max_chunk_bytes=%llu config=%s\n",
                created, create_us / n, (free_us + cleanup_us) / n, free_us / n, cleanup_us / 1000.0,
                static_cast<unsigned long long>(stats.total.peak_device_objects),
                static_cast<unsigned long long>(device.total_memory_objects() - objects_before),
                static_cast<unsigned long long>(stats.total.peak_reserved_bytes),
                static_cast<unsigned long long>(stats.total.requested_bytes), type_mask,
                static_cast<unsigned long long>(config.max_chunk_size), o.config.c_str());
    for (std::uint32_t t = 0; t < props.memory_types.size(); ++t)
        if ((type_mask & (1u << t)) && !contains(props.memory_types[t].props, gpu_alloc::MemoryPropertyFlags::device_local))
            failure.any = true;
}

void run_per_buffer(const gpu_alloc::vulkan_testing::VulkanContext& ctx, VulkanMemoryDevice& device,
                    const gpu_alloc::DeviceProperties& props, const std::vector<std::uint64_t>& sizes, Failure& failure) {
    struct Item {
        VkBuffer buffer = VK_NULL_HANDLE;
        VkDeviceMemory memory = VK_NULL_HANDLE;
    };
    std::vector<Item> items(sizes.size());
    std::size_t created = 0;
    std::uint32_t type_mask = 0;
    auto start = Clock::now();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        VkBufferCreateInfo info = storage_buffer(sizes[i]);
        if (vkCreateBuffer(ctx.device(), &info, nullptr, &items[i].buffer) != VK_SUCCESS) {
            failure.any = true;
            break;
        }
        VkMemoryRequirements reqs{};
        vkGetBufferMemoryRequirements(ctx.device(), items[i].buffer, &reqs);
        const std::uint32_t type = device_local_type(props, reqs.memoryTypeBits & device.usable_memory_types());
        VkMemoryAllocateInfo allocate{};
        allocate.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
        allocate.allocationSize = reqs.size;
        allocate.memoryTypeIndex = type;
        if (type == UINT32_MAX || vkAllocateMemory(ctx.device(), &allocate, nullptr, &items[i].memory) != VK_SUCCESS ||
            vkBindBufferMemory(ctx.device(), items[i].buffer, items[i].memory, 0) != VK_SUCCESS) {
            std::fprintf(stderr, "vkAllocateMemory: buffer %zu of %llu bytes failed\n", i,
                         static_cast<unsigned long long>(sizes[i]));
            vkDestroyBuffer(ctx.device(), items[i].buffer, nullptr);
            if (items[i].memory != VK_NULL_HANDLE) vkFreeMemory(ctx.device(), items[i].memory, nullptr);
            failure.any = true;
            break;
        }
        type_mask |= 1u << type;
        ++created;
    }
    const double create_us = us_since(start);
    start = Clock::now();
    for (std::size_t i = 0; i < created; ++i) {
        vkDestroyBuffer(ctx.device(), items[i].buffer, nullptr);
        vkFreeMemory(ctx.device(), items[i].memory, nullptr);
    }
    const double destroy_us = us_since(start);
    const double n = static_cast<double>(created == 0 ? 1 : created);
    std::printf("result method=vkAllocateMemory count=%zu create_us_per_buffer=%.3f destroy_us_per_buffer=%.3f "
                "device_objects_peak=%zu memory_types=0x%x\n",
                created, create_us / n, destroy_us / n, created, type_mask);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        usage();
        return 2;
    }
    gpu_alloc::vulkan_testing::ContextOptions context_options;
    context_options.validation = o.validation;
    context_options.require_validation = o.validation;
    context_options.synchronization_validation = false;
    // Plain storage buffers need neither; left off so that gpu-alloc's chunks
    // and the per-buffer objects are allocated alike (VK_EXT_memory_budget stays on).
    context_options.buffer_device_address = false;
    context_options.memory_priority = false;
    std::string error;
    auto ctx = gpu_alloc::vulkan_testing::VulkanContext::create(context_options, error);
    if (!ctx) {
        std::fprintf(stderr, "Vulkan setup failed: %s\n", error.c_str());
        return 1;
    }
    auto validation = ctx->validation();

    // Log-uniform sizes in [min_size, max_size], the same for every method.
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> log_size(std::log(static_cast<double>(o.min_size)),
                                                    std::log(static_cast<double>(o.max_size)));
    std::vector<std::uint64_t> sizes(o.count);
    std::uint64_t total = 0;
    for (std::uint64_t& s : sizes) {
        s = std::clamp(static_cast<std::uint64_t>(std::exp(log_size(rng))), o.min_size, o.max_size);
        total += s;
    }

    Failure failure;
    std::uint64_t left = 0;
    {
        VulkanMemoryDevice device(ctx->functions(), ctx->info());
        const gpu_alloc::DeviceProperties props = gpu_alloc::vulkan::device_properties(ctx->functions(), ctx->info());
        std::printf("device=\"%s\" api=%u.%u count=%llu seed=%llu min_size=%llu max_size=%llu total_bytes=%llu "
                    "validation=%d memory_budget=%d\n",
                    ctx->device_name().c_str(), VK_API_VERSION_MAJOR(ctx->api_version()),
                    VK_API_VERSION_MINOR(ctx->api_version()), static_cast<unsigned long long>(o.count),
                    static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.min_size),
                    static_cast<unsigned long long>(o.max_size), static_cast<unsigned long long>(total),
                    ctx->validation_enabled() ? 1 : 0, device.memory_budget() ? 1 : 0);
        std::fflush(stdout);
        if (o.run_create_only) run_create_only(*ctx, sizes, failure);
        std::fflush(stdout);
        if (o.run_gpu_alloc) run_gpu_alloc(device, props, o, sizes, failure);
        std::fflush(stdout);
        if (o.run_per_buffer) run_per_buffer(*ctx, device, props, sizes, failure);
        left = device.live_memory_objects();
    }
    ctx.reset();
    const std::uint32_t errors = validation->errors;
    std::printf("status=%s validation_errors=%u device_memory_left=%llu\n",
                failure.any || errors != 0 || left != 0 ? "failed" : "ok", errors,
                static_cast<unsigned long long>(left));
    return failure.any || errors != 0 || left != 0 ? 1 : 0;
}
