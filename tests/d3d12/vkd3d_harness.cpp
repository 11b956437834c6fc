// The harness of the vkd3d tests and their main(); see vkd3d_harness.hpp.
#include "vkd3d_harness.hpp"

#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace gpu_alloc::d3d12::test {

namespace {

struct LogState {
    std::string settings_path;
    std::string log_path;
    std::uint64_t consumed = 0;
};

LogState& log_state() {
    static LogState state;
    return state;
}

std::string runtime_dir() {
    for (const char* name : {"XDG_RUNTIME_DIR", "TMPDIR"})
        if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
    return "/tmp";
}

// lavapipe and the validation layer stay mapped until exit, so LeakSanitizer
// can symbolize what they allocated; without a sanitizer this changes nothing.
void keep_vulkan_libraries_loaded() {
    for (const char* library : {"libvulkan_lvp.so", "libVkLayer_khronos_validation.so"})
        (void)dlopen(library, RTLD_NOW | RTLD_NODELETE);
}

// Death-test children abort before they can remove their files: remove the
// files of processes that are gone.
void remove_files_of_dead_processes(const std::string& dir) {
    const std::string prefix = "gpu_alloc_d3d12_";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            std::filesystem::remove(entry.path(), ec);
    }
}

}  // namespace

bool ValidationLog::install() {
    LogState& state = log_state();
    remove_files_of_dead_processes(runtime_dir());
    const std::string base = runtime_dir() + "/gpu_alloc_d3d12_" + std::to_string(getpid());
    state.settings_path = base + "_vk_layer_settings.txt";
    state.log_path = base + "_validation.log";
    std::ofstream settings(state.settings_path, std::ios::trunc);
    settings << "khronos_validation.debug_action = VK_DBG_LAYER_ACTION_LOG_MSG\n"
             << "khronos_validation.report_flags = error\n"
             << "khronos_validation.log_filename = " << state.log_path << "\n";
    settings.close();
    if (!settings) {
        std::fprintf(stderr, "cannot write %s\n", state.settings_path.c_str());
        return false;
    }
    std::remove(state.log_path.c_str());
    setenv("VK_LAYER_SETTINGS_PATH", state.settings_path.c_str(), 1);
    setenv("VK_INSTANCE_LAYERS", "VK_LAYER_KHRONOS_validation", 0);
    return true;
}

std::string ValidationLog::take() {
    LogState& state = log_state();
    std::ifstream in(state.log_path, std::ios::binary);
    if (!in) return {};
    in.seekg(0, std::ios::end);
    const auto end = static_cast<std::uint64_t>(in.tellg());
    if (end <= state.consumed) return {};
    in.seekg(static_cast<std::streamoff>(state.consumed));
    std::string text(end - state.consumed, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    state.consumed = end;
    return text;
}

void ValidationLog::remove_files() {
    std::remove(log_state().settings_path.c_str());
    std::remove(log_state().log_path.c_str());
}

const std::string& ValidationLog::path() { return log_state().log_path; }

ID3D12Device* create_device() {
    ID3D12Device* device = nullptr;
    if (FAILED(D3D12CreateDevice(nullptr, D3D_FEATURE_LEVEL_11_0, iid_of<ID3D12Device>(),
                                 reinterpret_cast<void**>(&device))))
        return nullptr;
    return device;
}

void Vkd3dTest::SetUp() {
    // Messages from an earlier failure belong to that test.
    (void)ValidationLog::take();
    device_ = create_device();
    ASSERT_NE(device_, nullptr) << "D3D12CreateDevice (vkd3d) failed";
}

void Vkd3dTest::TearDown() {
    if (device_ != nullptr) {
        const ULONG left = device_->Release();
        device_ = nullptr;
        EXPECT_EQ(left, 0u) << "the test left heaps or resources alive (device references remain)";
    }
    const std::string messages = ValidationLog::take();
    EXPECT_TRUE(messages.empty()) << "Vulkan validation errors under vkd3d:\n" << messages;
}

GpuQueue::GpuQueue(ID3D12Device* device) {
    D3D12_COMMAND_QUEUE_DESC desc{};
    desc.Type = D3D12_COMMAND_LIST_TYPE_DIRECT;
    if (FAILED(device->CreateCommandQueue(&desc, iid_of<ID3D12CommandQueue>(), queue_.out()))) return;
    if (FAILED(device->CreateCommandAllocator(D3D12_COMMAND_LIST_TYPE_DIRECT, iid_of<ID3D12CommandAllocator>(),
                                              allocator_.out())))
        return;
    if (FAILED(device->CreateCommandList(0, D3D12_COMMAND_LIST_TYPE_DIRECT, allocator_.get(), nullptr,
                                         iid_of<ID3D12GraphicsCommandList>(), list_.out())))
        return;
    if (FAILED(device->CreateFence(0, D3D12_FENCE_FLAG_NONE, iid_of<ID3D12Fence>(), fence_.out()))) return;
    event_ = vkd3d_create_event();
    ok_ = event_ != nullptr;
}

GpuQueue::~GpuQueue() {
    if (event_ != nullptr) vkd3d_destroy_event(event_);
}

bool GpuQueue::submit_and_wait() {
    if (!ok_ || FAILED(list_->Close())) return false;
    ID3D12CommandList* lists[] = {list_.get()};
    queue_->ExecuteCommandLists(1, lists);
    ++fence_value_;
    if (FAILED(queue_->Signal(fence_.get(), fence_value_))) return false;
    if (FAILED(fence_->SetEventOnCompletion(fence_value_, event_))) return false;
    if (vkd3d_wait_event(event_, VKD3D_INFINITE) != VKD3D_WAIT_OBJECT_0) return false;
    if (fence_->GetCompletedValue() < fence_value_) return false;
    if (FAILED(allocator_->Reset())) return false;
    return SUCCEEDED(list_->Reset(allocator_.get(), nullptr));
}

D3D12_RESOURCE_DESC buffer_desc(std::uint64_t width, D3D12_RESOURCE_FLAGS flags) {
    D3D12_RESOURCE_DESC desc{};
    desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    desc.Width = width;
    desc.Height = 1;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.Format = DXGI_FORMAT_UNKNOWN;
    desc.SampleDesc.Count = 1;
    desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    desc.Flags = flags;
    return desc;
}

D3D12_RESOURCE_DESC texture_desc(std::uint32_t width, std::uint32_t height, DXGI_FORMAT format,
                                 D3D12_RESOURCE_FLAGS flags, std::uint32_t samples) {
    D3D12_RESOURCE_DESC desc{};
    desc.Dimension = D3D12_RESOURCE_DIMENSION_TEXTURE2D;
    desc.Width = width;
    desc.Height = height;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.Format = format;
    desc.SampleDesc.Count = samples;
    desc.Layout = D3D12_TEXTURE_LAYOUT_UNKNOWN;
    desc.Flags = flags;
    return desc;
}

D3D12_RESOURCE_BARRIER transition(ID3D12Resource* resource, D3D12_RESOURCE_STATES before,
                                  D3D12_RESOURCE_STATES after) {
    D3D12_RESOURCE_BARRIER barrier{};
    barrier.Type = D3D12_RESOURCE_BARRIER_TYPE_TRANSITION;
    barrier.Transition.pResource = resource;
    barrier.Transition.Subresource = D3D12_RESOURCE_BARRIER_ALL_SUBRESOURCES;
    barrier.Transition.StateBefore = before;
    barrier.Transition.StateAfter = after;
    return barrier;
}

}  // namespace gpu_alloc::d3d12::test

int main(int argc, char** argv) {
    using gpu_alloc::d3d12::test::ValidationLog;
    gpu_alloc::d3d12::test::keep_vulkan_libraries_loaded();
    if (!ValidationLog::install()) return 1;
    ::testing::InitGoogleTest(&argc, argv);
    // vkd3d runs threads of its own: death tests re-execute the binary instead of forking it.
    ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
    int rc = RUN_ALL_TESTS();
    const std::string left = ValidationLog::take();
    if (!left.empty()) {
        std::fprintf(stderr, "Vulkan validation errors after the last test:\n%s\n", left.c_str());
        rc = 1;
    }
    ValidationLog::remove_files();
    return rc;
}
