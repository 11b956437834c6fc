// End to end on a real device: values go up through a mapped, sub-allocated
// host-visible buffer, a compute shader (shaders/double_values.comp, compiled
// at build time) doubles them into a device-local sub-allocated buffer, a copy
// brings them back through a download buffer, and every value is checked.
// Neighbouring blocks in the same chunks hold canary patterns that must come
// through untouched, so a wrong bind offset would show. Memory comes from the
// RAII wrapper of examples/vulkan_raii; synchronization validation checks the
// barriers.
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include <gpu_alloc/vulkan/adapter.hpp>

#include "double_values.comp.h"
#include "vulkan_fixture.hpp"
#include "vulkan_raii.hpp"

namespace gpu_alloc::vulkan_testing {
namespace {

VkBufferCreateInfo buffer_info(VkDeviceSize size, VkBufferUsageFlags usage) {
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = size;
    info.usage = usage;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    return info;
}

vulkan::ResourceMemoryInfo with_usage(UsageFlags usage) {
    vulkan::ResourceMemoryInfo info;
    info.usage = usage;
    return info;
}

// The compute pipeline and everything it needs, destroyed in reverse.
struct DoublePipeline {
    VkDevice device = VK_NULL_HANDLE;
    VkShaderModule module = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkDescriptorSet set = VK_NULL_HANDLE;

    explicit DoublePipeline(VkDevice d) : device(d) {
        VkShaderModuleCreateInfo module_info{};
        module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
        module_info.codeSize = sizeof(double_values_spv);
        module_info.pCode = double_values_spv;
        EXPECT_EQ(vkCreateShaderModule(device, &module_info, nullptr, &module), VK_SUCCESS);

        VkDescriptorSetLayoutBinding bindings[2]{};
        for (std::uint32_t i = 0; i < 2; ++i) {
            bindings[i].binding = i;
            bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            bindings[i].descriptorCount = 1;
            bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        }
        VkDescriptorSetLayoutCreateInfo set_info{};
        set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
        set_info.bindingCount = 2;
        set_info.pBindings = bindings;
        EXPECT_EQ(vkCreateDescriptorSetLayout(device, &set_info, nullptr, &set_layout), VK_SUCCESS);

        VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(std::uint32_t)};
        VkPipelineLayoutCreateInfo layout_info{};
        layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
        layout_info.setLayoutCount = 1;
        layout_info.pSetLayouts = &set_layout;
        layout_info.pushConstantRangeCount = 1;
        layout_info.pPushConstantRanges = &push;
        EXPECT_EQ(vkCreatePipelineLayout(device, &layout_info, nullptr, &layout), VK_SUCCESS);

        VkComputePipelineCreateInfo pipeline_info{};
        pipeline_info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
        pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        pipeline_info.stage.module = module;
        pipeline_info.stage.pName = "main";
        pipeline_info.layout = layout;
        EXPECT_EQ(vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &pipeline_info, nullptr, &pipeline), VK_SUCCESS);

        VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
        VkDescriptorPoolCreateInfo pool_info{};
        pool_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        pool_info.maxSets = 1;
        pool_info.poolSizeCount = 1;
        pool_info.pPoolSizes = &pool_size;
        EXPECT_EQ(vkCreateDescriptorPool(device, &pool_info, nullptr, &pool), VK_SUCCESS);
        VkDescriptorSetAllocateInfo alloc{};
        alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
        alloc.descriptorPool = pool;
        alloc.descriptorSetCount = 1;
        alloc.pSetLayouts = &set_layout;
        EXPECT_EQ(vkAllocateDescriptorSets(device, &alloc, &set), VK_SUCCESS);
    }

    void bind(VkBuffer source, VkBuffer destination, VkDeviceSize bytes) {
        VkDescriptorBufferInfo infos[2] = {{source, 0, bytes}, {destination, 0, bytes}};
        VkWriteDescriptorSet writes[2]{};
        for (std::uint32_t i = 0; i < 2; ++i) {
            writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
            writes[i].dstSet = set;
            writes[i].dstBinding = i;
            writes[i].descriptorCount = 1;
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        }
        vkUpdateDescriptorSets(device, 2, writes, 0, nullptr);
    }

    ~DoublePipeline() {
        vkDestroyDescriptorPool(device, pool, nullptr);
        vkDestroyPipeline(device, pipeline, nullptr);
        vkDestroyPipelineLayout(device, layout, nullptr);
        vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
        vkDestroyShaderModule(device, module, nullptr);
    }
};

using ComputeTest = VulkanTest;

TEST_F(ComputeTest, UploadDoubleDownloadThroughSubAllocatedBuffers) {
    vulkan::VulkanMemoryDevice device(ctx_->functions(), ctx_->info());
    {
        vulkan_raii::Allocator allocator(device);
        const std::uint32_t count = 100003;  // not a multiple of the workgroup size
        const VkDeviceSize bytes = count * sizeof(std::uint32_t);

        // Canaries before and after each buffer under test, in the same pools.
        std::vector<vulkan_raii::Buffer> canaries;
        auto canary = [&](UsageFlags usage) {
            auto b = allocator.create_buffer(buffer_info(8192, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT), with_usage(usage));
            ASSERT_TRUE(b) << to_string(b.error());
            if (!b->mapped().empty()) std::memset(b->mapped().data(), 0xa5, b->mapped().size());
            canaries.push_back(std::move(*b));
        };
        canary(UsageFlags::upload);
        auto upload = allocator.create_buffer(buffer_info(bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT),
                                              with_usage(UsageFlags::upload));
        ASSERT_TRUE(upload) << to_string(upload.error());
        canary(UsageFlags::upload);
        canary(UsageFlags::fast_device_access);
        auto result = allocator.create_buffer(
            buffer_info(bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT),
            with_usage(UsageFlags::fast_device_access));
        ASSERT_TRUE(result) << to_string(result.error());
        canary(UsageFlags::fast_device_access);
        canary(UsageFlags::download);
        auto download = allocator.create_buffer(buffer_info(bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT),
                                                with_usage(UsageFlags::download));
        ASSERT_TRUE(download) << to_string(download.error());
        canary(UsageFlags::download);

        // Sub-allocated, not objects of their own; the result is device-local.
        for (const vulkan_raii::Buffer* b : {&*upload, &*result, &*download}) {
            EXPECT_FALSE(b->block().is_dedicated());
            EXPECT_GT(b->block().offset(), 0u) << "expected to share a chunk with the canary before it";
        }
        EXPECT_TRUE(contains(result->block().props(), MemoryPropertyFlags::device_local));
        ASSERT_FALSE(upload->mapped().empty());
        ASSERT_FALSE(download->mapped().empty());

        std::vector<std::uint32_t> values(count);
        for (std::uint32_t i = 0; i < count; ++i) values[i] = i * 2654435761u >> 1;  // below 2^31: doubling fits
        ASSERT_TRUE(upload->write(0, std::as_bytes(std::span(values))));

        DoublePipeline pipeline(ctx_->device());
        pipeline.bind(upload->handle(), result->handle(), bytes);

        VkCommandPoolCreateInfo pool_info{};
        pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pool_info.queueFamilyIndex = ctx_->queue_family();
        VkCommandPool pool = VK_NULL_HANDLE;
        ASSERT_EQ(vkCreateCommandPool(ctx_->device(), &pool_info, nullptr, &pool), VK_SUCCESS);
        VkCommandBufferAllocateInfo cmd_info{};
        cmd_info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        cmd_info.commandPool = pool;
        cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        cmd_info.commandBufferCount = 1;
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        ASSERT_EQ(vkAllocateCommandBuffers(ctx_->device(), &cmd_info, &cmd), VK_SUCCESS);

        VkCommandBufferBeginInfo begin{};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        vkBeginCommandBuffer(cmd, &begin);
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline);
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &pipeline.set, 0, nullptr);
        vkCmdPushConstants(cmd, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(count), &count);
        vkCmdDispatch(cmd, (count + 63) / 64, 1, 1);

        VkBufferMemoryBarrier to_copy{};
        to_copy.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER;
        to_copy.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        to_copy.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        to_copy.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        to_copy.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        to_copy.buffer = result->handle();
        to_copy.size = VK_WHOLE_SIZE;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 1,
                             &to_copy, 0, nullptr);
        const VkBufferCopy region{0, 0, bytes};
        vkCmdCopyBuffer(cmd, result->handle(), download->handle(), 1, &region);
        VkBufferMemoryBarrier to_host = to_copy;
        to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        to_host.buffer = download->handle();
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &to_host,
                             0, nullptr);
        ASSERT_EQ(vkEndCommandBuffer(cmd), VK_SUCCESS);

        VkFenceCreateInfo fence_info{};
        fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        VkFence fence = VK_NULL_HANDLE;
        ASSERT_EQ(vkCreateFence(ctx_->device(), &fence_info, nullptr, &fence), VK_SUCCESS);
        VkSubmitInfo submit{};
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &cmd;
        ASSERT_EQ(vkQueueSubmit(ctx_->queue(), 1, &submit, fence), VK_SUCCESS);
        ASSERT_EQ(vkWaitForFences(ctx_->device(), 1, &fence, VK_TRUE, 60'000'000'000ull), VK_SUCCESS);

        std::vector<std::uint32_t> back(count);
        ASSERT_TRUE(download->read(0, std::as_writable_bytes(std::span(back))));
        std::uint32_t wrong = 0;
        for (std::uint32_t i = 0; i < count; ++i) wrong += back[i] != values[i] * 2u;
        EXPECT_EQ(wrong, 0u) << "first value " << back[0] << ", expected " << values[0] * 2u;

        for (vulkan_raii::Buffer& c : canaries) {
            if (c.mapped().empty()) continue;
            std::vector<std::byte> bytes_back(c.size());
            ASSERT_TRUE(c.read(0, bytes_back));
            for (std::byte b : bytes_back) ASSERT_EQ(b, std::byte{0xa5}) << "a neighbouring block was overwritten";
        }

        vkDestroyFence(ctx_->device(), fence, nullptr);
        vkDestroyCommandPool(ctx_->device(), pool, nullptr);
    }
    EXPECT_EQ(device.live_memory_objects(), 0u);
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
