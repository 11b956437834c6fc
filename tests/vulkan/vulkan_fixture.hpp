// The gtest fixture of the Vulkan tests: a fresh VulkanContext per test, and
// a test failure for every validation error reported while the test ran or
// while its device and instance were destroyed (where leaked VkDeviceMemory
// and other objects are reported).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vulkan_context.hpp"

namespace gpu_alloc::vulkan_testing {

class VulkanTest : public ::testing::Test {
protected:
    /// Override to ask for a different instance or device.
    virtual ContextOptions options() const { return {}; }

    void SetUp() override {
        std::string error;
        ctx_ = VulkanContext::create(options(), error);
        ASSERT_NE(ctx_, nullptr) << error;
        validation_ = ctx_->validation();
        RecordProperty("vulkan_device", ctx_->device_name());
    }

    void TearDown() override {
        ctx_.reset();
        if (!validation_) return;
        std::string messages;
        for (const std::string& m : validation_->messages) messages += "\n  " + m;
        EXPECT_EQ(validation_->errors, accepted_errors_) << "validation errors:" << messages;
    }

    /// Validation errors so far (for tests that provoke one on purpose).
    std::uint32_t validation_errors() const { return validation_ ? validation_->errors : 0; }

    /// For tests that provoke errors on purpose: the errors so far do not fail the test.
    void accept_validation_errors_so_far() { accepted_errors_ = validation_errors(); }

    std::unique_ptr<VulkanContext> ctx_;
    std::uint32_t accepted_errors_ = 0;
    std::shared_ptr<const ValidationCounter> validation_;
};

}  // namespace gpu_alloc::vulkan_testing
