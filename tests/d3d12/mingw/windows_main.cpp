// Compiled and linked (never run) with MinGW-w64 by the d3d12_windows_build_mingw
// test: the Windows code path of gpu_alloc::d3d12 (d3d12.h, DXGI sizes and
// budget) must build. Uses every public entry point once.
#include <bit>

#include <gpu_alloc/d3d12/placement.hpp>
#include <gpu_alloc/types/dyn_device.hpp>

namespace {
enum class Kind { linear, optimal, unknown };
struct Request {
    std::uint64_t size = 0;
    std::uint64_t alignment = 1;
    std::uint32_t memory_types = ~0u;
    Kind kind = Kind::unknown;
};
struct Block {
    gpu_alloc::d3d12::D3D12Memory memory_;
    const gpu_alloc::d3d12::D3D12Memory& memory() const { return memory_; }
    std::uint64_t offset() const { return 0; }
    std::uint64_t size() const { return memory_.size(); }
};
}  // namespace

int main() {
    using namespace gpu_alloc::d3d12;
    ID3D12Device* raw = nullptr;
    if (FAILED(D3D12CreateDevice(nullptr, D3D_FEATURE_LEVEL_11_0, iid_of<ID3D12Device>(), reinterpret_cast<void**>(&raw))))
        return 1;
    auto device = D3D12MemoryDevice::create(raw);
    raw->Release();
    if (!device) return 2;
    gpu_alloc::HeapBudget budgets[gpu_alloc::max_memory_heaps];
    if (!device->query_budget(std::span<gpu_alloc::HeapBudget>(budgets, device->properties().memory_heaps.size())))
        return 3;
    gpu_alloc::DynMemoryDeviceAdapter<D3D12MemoryDevice> dyn(*device);
    (void)dyn;

    D3D12_RESOURCE_DESC desc{};
    desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    desc.Width = 4096;
    desc.Height = 1;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.SampleDesc.Count = 1;
    desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    auto requirements = resource_requirements(*device, desc);
    if (!requirements) return 4;
    const Request request = make_request<Request>(*requirements);
    gpu_alloc::MemoryAllocateInfo info;
    info.size = 1 << 20;
    info.memory_type = std::countr_zero(request.memory_types);
    auto memory = device->allocate_memory(info);
    if (!memory) return 5;
    Block block{*memory};
    auto resource = create_placed_resource(*device, block, desc, D3D12_RESOURCE_STATE_COMMON);
    if (resource) (*resource)->Release();
    device->deallocate_memory(*memory);
    return 0;
}
