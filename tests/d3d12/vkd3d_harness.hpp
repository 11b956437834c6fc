// The test harness for real D3D12 on Linux: vkd3d over lavapipe, with the
// Khronos validation layer underneath and its errors failing the tests.
//
// How validation errors are caught. vkd3d creates its own VkInstance, so the
// tests cannot install a debug messenger. Instead the harness's main() writes a
// vk_layer_settings.txt of its own (debug_action LOG_MSG, report_flags error,
// log_filename a file unique to this process) into $XDG_RUNTIME_DIR, points
// VK_LAYER_SETTINGS_PATH at it and makes sure VK_INSTANCE_LAYERS names
// VK_LAYER_KHRONOS_validation before any device exists. The layer appends
// every error to that file (and flushes each one). Each Vkd3dTest checks the
// file for new text after its device is destroyed and fails the test with it;
// main() checks once more at exit. A self-test (placement_test) makes the
// layer report a known error and asserts the harness sees it, so a missing
// layer or a broken log path fails the suite instead of passing silently.
//
// Under ASan, lavapipe and the layer are kept loaded (dlopen RTLD_NODELETE) so
// that LeakSanitizer can still symbolize their frames at exit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include <gpu_alloc/d3d12/d3d12_api.hpp>

namespace gpu_alloc::d3d12::test {

/// The validation layer's log for this process.
class ValidationLog {
public:
    /// Writes the layer settings and sets the environment. Call once, before any device.
    /// Returns false (with a message on stderr) when the settings cannot be written.
    static bool install();
    /// Text the layer logged since the previous call (empty when none).
    static std::string take();
    /// Removes the settings and log files.
    static void remove_files();
    /// Path of the log file.
    static const std::string& path();
};

/// Owns one COM reference; releases it in its destructor.
template <class T>
class Ref {
public:
    Ref() = default;
    explicit Ref(T* p) : p_(p) {}
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Ref& operator=(Ref&& o) noexcept {
        reset();
        p_ = std::exchange(o.p_, nullptr);
        return *this;
    }
    ~Ref() { reset(); }
    void reset() {
        if (p_ != nullptr) p_->Release();
        p_ = nullptr;
    }
    T* get() const { return p_; }
    T* operator->() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    /// For the `void**` out-parameter of Create* calls.
    void** out() {
        reset();
        return reinterpret_cast<void**>(&p_);
    }

private:
    T* p_ = nullptr;
};

/// Creates a vkd3d device at feature level 11_0 (null on failure).
ID3D12Device* create_device();

/// A fixture with a fresh device per test. TearDown releases it, expects the
/// last reference to go (every heap and resource released) and fails the test
/// on any validation layer output.
class Vkd3dTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    ID3D12Device* device_ = nullptr;
};

/// A direct queue, one command list and a fence, for copy work.
class GpuQueue {
public:
    /// Requires: device is live. Check ok() afterwards.
    explicit GpuQueue(ID3D12Device* device);
    ~GpuQueue();
    GpuQueue(const GpuQueue&) = delete;
    GpuQueue& operator=(const GpuQueue&) = delete;

    bool ok() const { return ok_; }
    /// The open command list to record into.
    ID3D12GraphicsCommandList* list() const { return list_.get(); }
    /// Closes the list, executes it, waits for the fence (VKD3D_INFINITE) and
    /// reopens the list. Returns false when any step fails.
    bool submit_and_wait();

private:
    Ref<ID3D12CommandQueue> queue_;
    Ref<ID3D12CommandAllocator> allocator_;
    Ref<ID3D12GraphicsCommandList> list_;
    Ref<ID3D12Fence> fence_;
    HANDLE event_ = nullptr;
    std::uint64_t fence_value_ = 0;
    bool ok_ = false;
};

/// A buffer description of `width` bytes.
D3D12_RESOURCE_DESC buffer_desc(std::uint64_t width, D3D12_RESOURCE_FLAGS flags = D3D12_RESOURCE_FLAG_NONE);
/// A 2D texture description (one mip, one layer).
D3D12_RESOURCE_DESC texture_desc(std::uint32_t width, std::uint32_t height, DXGI_FORMAT format,
                                 D3D12_RESOURCE_FLAGS flags = D3D12_RESOURCE_FLAG_NONE, std::uint32_t samples = 1);
/// A transition barrier of all subresources.
D3D12_RESOURCE_BARRIER transition(ID3D12Resource* resource, D3D12_RESOURCE_STATES before,
                                  D3D12_RESOURCE_STATES after);

}  // namespace gpu_alloc::d3d12::test
