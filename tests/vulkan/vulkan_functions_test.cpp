// Loading the VulkanFunctions table: from the linked loader, from a
// user-supplied vkGetInstanceProcAddr / vkGetDeviceProcAddr, which names are
// asked for at Vulkan 1.0 and 1.1+, and that every missing required entry
// point is reported by name.
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <gpu_alloc/vulkan/adapter.hpp>

#include "vulkan_fixture.hpp"

namespace gpu_alloc::vulkan_testing {
namespace {

// A user-supplied loader: forwards to the real one, records what was asked,
// and can hide one name.
std::vector<std::string> asked;
std::string hidden;

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL user_get_instance_proc_addr(VkInstance instance, const char* name) {
    asked.emplace_back(name);
    return hidden == name ? nullptr : vkGetInstanceProcAddr(instance, name);
}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL user_get_device_proc_addr(VkDevice device, const char* name) {
    asked.emplace_back(name);
    return hidden == name ? nullptr : vkGetDeviceProcAddr(device, name);
}

bool was_asked(const char* name) { return std::find(asked.begin(), asked.end(), name) != asked.end(); }

// With the prototypes visible, the linked-loader overload exists.
template <class Info>
concept HasLinkedLoaderOverload = requires(const Info& info) { vulkan::load_functions(info); };
static_assert(HasLinkedLoaderOverload<vulkan::VulkanDeviceInfo>);

class FunctionsTest : public VulkanTest {
protected:
    void SetUp() override {
        asked.clear();
        hidden.clear();
        VulkanTest::SetUp();
    }
};

TEST(VulkanFunctions, EmptyTableNamesTheFirstMissingFunction) {
    vulkan::VulkanFunctions empty;
    ASSERT_NE(vulkan::find_missing_function(empty), nullptr);
    EXPECT_STREQ(vulkan::find_missing_function(empty), "vkGetPhysicalDeviceProperties");
}

TEST(VulkanFunctions, NullGetInstanceProcAddrIsRefused) {
    auto f = vulkan::load_functions(vulkan::VulkanDeviceInfo{}, nullptr);
    ASSERT_FALSE(f);
    EXPECT_STREQ(f.error().name, "vkGetInstanceProcAddr");
}

TEST_F(FunctionsTest, LinkedLoaderGivesTheSameTable) {
    auto linked = vulkan::load_functions(ctx_->info());
    ASSERT_TRUE(linked);
    EXPECT_EQ(vulkan::find_missing_function(*linked), nullptr);
    EXPECT_EQ(std::memcmp(&*linked, &ctx_->functions(), sizeof(vulkan::VulkanFunctions)), 0);
}

TEST_F(FunctionsTest, UserSuppliedProcAddrsAreUsed) {
    auto f = vulkan::load_functions(ctx_->info(), &user_get_instance_proc_addr, &user_get_device_proc_addr);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->vkGetInstanceProcAddr, &user_get_instance_proc_addr);
    EXPECT_EQ(f->vkGetDeviceProcAddr, &user_get_device_proc_addr);
    EXPECT_TRUE(was_asked("vkAllocateMemory"));
    EXPECT_TRUE(was_asked("vkGetPhysicalDeviceMemoryProperties"));
    EXPECT_FALSE(was_asked("vkGetDeviceProcAddr"));  // it was given
    // The table works: one allocation through it.
    vulkan::VulkanMemoryDevice device(*f, ctx_->info());
    MemoryAllocateInfo info;
    info.size = 4096;
    info.memory_type = ctx_->find_memory_type(device.usable_memory_types(), 0);
    auto memory = device.allocate_memory(info);
    ASSERT_TRUE(memory);
    device.deallocate_memory(*memory);
}

TEST_F(FunctionsTest, DeviceProcAddrComesFromTheInstanceWhenNotGiven) {
    auto f = vulkan::load_functions(ctx_->info(), &user_get_instance_proc_addr);
    ASSERT_TRUE(f);
    EXPECT_TRUE(was_asked("vkGetDeviceProcAddr"));
    EXPECT_NE(f->vkGetDeviceProcAddr, nullptr);
    hidden = "vkGetDeviceProcAddr";
    auto missing = vulkan::load_functions(ctx_->info(), &user_get_instance_proc_addr);
    ASSERT_FALSE(missing);
    EXPECT_STREQ(missing.error().name, "vkGetDeviceProcAddr");
}

TEST_F(FunctionsTest, EveryMissingRequiredFunctionIsNamed) {
    const char* required[] = {"vkGetPhysicalDeviceProperties",
                              "vkGetPhysicalDeviceMemoryProperties",
                              "vkAllocateMemory",
                              "vkFreeMemory",
                              "vkMapMemory",
                              "vkUnmapMemory",
                              "vkFlushMappedMemoryRanges",
                              "vkInvalidateMappedMemoryRanges",
                              "vkCreateBuffer",
                              "vkDestroyBuffer",
                              "vkCreateImage",
                              "vkDestroyImage",
                              "vkBindBufferMemory",
                              "vkBindImageMemory",
                              "vkGetBufferMemoryRequirements",
                              "vkGetImageMemoryRequirements"};
    for (const char* name : required) {
        SCOPED_TRACE(name);
        hidden = name;
        auto f = vulkan::load_functions(ctx_->info(), &user_get_instance_proc_addr, &user_get_device_proc_addr);
        ASSERT_FALSE(f);
        EXPECT_STREQ(f.error().name, name);
    }
}

TEST_F(FunctionsTest, OptionalQueriesUseCoreNamesFromOneOne) {
    ASSERT_GE(ctx_->api_version(), VK_API_VERSION_1_1);
    auto f = vulkan::load_functions(ctx_->info(), &user_get_instance_proc_addr, &user_get_device_proc_addr);
    ASSERT_TRUE(f);
    for (const char* name : {"vkGetPhysicalDeviceProperties2", "vkGetPhysicalDeviceMemoryProperties2",
                             "vkGetBufferMemoryRequirements2", "vkGetImageMemoryRequirements2"}) {
        SCOPED_TRACE(name);
        EXPECT_TRUE(was_asked(name));
        EXPECT_FALSE(was_asked((std::string(name) + "KHR").c_str()));
    }
    EXPECT_NE(f->vkGetPhysicalDeviceProperties2, nullptr);
    EXPECT_NE(f->vkGetPhysicalDeviceMemoryProperties2, nullptr);
    EXPECT_NE(f->vkGetBufferMemoryRequirements2, nullptr);
    EXPECT_NE(f->vkGetImageMemoryRequirements2, nullptr);
}

class Vulkan10FunctionsTest : public FunctionsTest {
protected:
    ContextOptions options() const override {
        ContextOptions o;
        o.api_version = VK_API_VERSION_1_0;
        return o;
    }
};

TEST_F(Vulkan10FunctionsTest, OptionalQueriesUseKhrNamesBelowOneOne) {
    ASSERT_EQ(ctx_->api_version(), VK_API_VERSION_1_0);
    auto f = vulkan::load_functions(ctx_->info(), &user_get_instance_proc_addr, &user_get_device_proc_addr);
    ASSERT_TRUE(f);
    EXPECT_FALSE(was_asked("vkGetPhysicalDeviceMemoryProperties2"));
    EXPECT_FALSE(was_asked("vkGetBufferMemoryRequirements2"));
    EXPECT_EQ(was_asked("vkGetPhysicalDeviceMemoryProperties2KHR"), ctx_->info().get_physical_device_properties2);
    EXPECT_EQ(was_asked("vkGetBufferMemoryRequirements2KHR"), ctx_->info().dedicated_allocation);
    EXPECT_EQ(f->vkGetPhysicalDeviceMemoryProperties2 != nullptr, ctx_->info().get_physical_device_properties2);
    EXPECT_EQ(f->vkGetImageMemoryRequirements2 != nullptr, ctx_->info().dedicated_allocation);
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
