// D3D12MemoryDevice: heaps, their covering buffers, and the contract checks.
#include <gpu_alloc/d3d12/memory_device.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <utility>

namespace gpu_alloc::d3d12 {

namespace detail {
void contract_violation(const char* what) noexcept {
    std::fprintf(stderr, "gpu_alloc::d3d12: contract violation: %s\n", what);
    std::fflush(stderr);
    std::abort();
}
}  // namespace detail

namespace {

D3D12_RESOURCE_DESC covering_buffer_desc(std::uint64_t size) noexcept {
    D3D12_RESOURCE_DESC desc{};
    desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    desc.Alignment = D3D12_DEFAULT_RESOURCE_PLACEMENT_ALIGNMENT;
    desc.Width = size;
    desc.Height = 1;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.Format = DXGI_FORMAT_UNKNOWN;
    desc.SampleDesc.Count = 1;
    desc.SampleDesc.Quality = 0;
    desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    desc.Flags = D3D12_RESOURCE_FLAG_NONE;
    return desc;
}

#if GPU_ALLOC_D3D12_HAS_DXGI
IDXGIAdapter3* find_adapter(ID3D12Device* device) noexcept {
    IDXGIFactory4* factory = nullptr;
    if (FAILED(CreateDXGIFactory1(iid_of<IDXGIFactory4>(), reinterpret_cast<void**>(&factory)))) return nullptr;
    IDXGIAdapter3* adapter = nullptr;
    if (FAILED(factory->EnumAdapterByLuid(device->GetAdapterLuid(), iid_of<IDXGIAdapter3>(),
                                          reinterpret_cast<void**>(&adapter))))
        adapter = nullptr;
    factory->Release();
    return adapter;
}
#endif

}  // namespace

Result<D3D12MemoryDevice, HRESULT> D3D12MemoryDevice::create(ID3D12Device* device) {
    auto info = query_adapter_info(device);
    if (!info) return unexpected(info.error());
    return D3D12MemoryDevice(device, build_memory_layout(*info));
}

D3D12MemoryDevice::D3D12MemoryDevice(ID3D12Device* device, MemoryLayout layout) noexcept
    : device_(device), layout_(std::move(layout)) {
    if (device_ == nullptr) detail::contract_violation("D3D12MemoryDevice needs a device");
    if (!is_valid(layout_.properties) || layout_.memory_types.size() != layout_.properties.memory_types.size())
        detail::contract_violation("D3D12MemoryDevice needs a valid layout with one HeapKind per memory type");
    device_->AddRef();
#if GPU_ALLOC_D3D12_HAS_DXGI
    adapter_ = find_adapter(device_);
#endif
}

D3D12MemoryDevice::D3D12MemoryDevice(D3D12MemoryDevice&& other) noexcept
    : device_(std::exchange(other.device_, nullptr)),
      layout_(std::move(other.layout_)),
      live_heaps_(other.live_heaps_.exchange(0)),
      last_failure_(other.last_failure_.load()) {
#if GPU_ALLOC_D3D12_HAS_DXGI
    adapter_ = std::exchange(other.adapter_, nullptr);
#endif
}

D3D12MemoryDevice& D3D12MemoryDevice::operator=(D3D12MemoryDevice&& other) noexcept {
    if (this != &other) {
        release();
        device_ = std::exchange(other.device_, nullptr);
        layout_ = std::move(other.layout_);
        live_heaps_.store(other.live_heaps_.exchange(0));
        last_failure_.store(other.last_failure_.load());
#if GPU_ALLOC_D3D12_HAS_DXGI
        adapter_ = std::exchange(other.adapter_, nullptr);
#endif
    }
    return *this;
}

D3D12MemoryDevice::~D3D12MemoryDevice() { release(); }

void D3D12MemoryDevice::release() noexcept {
    if (const std::uint32_t live = live_heaps_.load(); live != 0)
        std::fprintf(stderr, "gpu_alloc::d3d12: D3D12MemoryDevice destroyed with %u live heap(s); leaking them\n",
                     live);
#if GPU_ALLOC_D3D12_HAS_DXGI
    if (adapter_ != nullptr) adapter_->Release();
    adapter_ = nullptr;
#endif
    if (device_ != nullptr) device_->Release();
    device_ = nullptr;
}

Result<D3D12Memory, OutOfMemory> D3D12MemoryDevice::allocate_memory(const MemoryAllocateInfo& info) {
    if (info.memory_type >= layout_.memory_types.size())
        detail::contract_violation("allocate_memory: memory type index out of range");
    if (info.size == 0 || info.size > layout_.properties.max_memory_allocation_size)
        detail::contract_violation("allocate_memory: size is 0 or above max_memory_allocation_size");
    const HeapKind& kind = layout_.memory_types[info.memory_type];

    D3D12_HEAP_DESC desc{};
    desc.SizeInBytes = info.size;
    desc.Properties = kind.properties;
    desc.Alignment = kind.alignment;
    desc.Flags = kind.flags;
    ID3D12Heap* heap = nullptr;
    HRESULT hr = device_->CreateHeap(&desc, iid_of<ID3D12Heap>(), reinterpret_cast<void**>(&heap));
    if (FAILED(hr)) {
        last_failure_.store(hr, std::memory_order_relaxed);
        // D3D12 reports every refusal (no memory, or a heap kind the adapter lacks) as an
        // HRESULT; the contract's only device-side error is out_of_device_memory.
        return unexpected(OutOfMemory::out_of_device_memory);
    }

    ID3D12Resource* buffer = nullptr;
    if (kind.mappable) {
        const D3D12_RESOURCE_DESC buffer_desc = covering_buffer_desc(info.size);
        hr = device_->CreatePlacedResource(heap, 0, &buffer_desc, kind.mapping_state, nullptr,
                                           iid_of<ID3D12Resource>(), reinterpret_cast<void**>(&buffer));
        if (FAILED(hr)) {
            heap->Release();
            last_failure_.store(hr, std::memory_order_relaxed);
            return unexpected(OutOfMemory::out_of_device_memory);
        }
    }

    auto* record = new (std::nothrow) detail::HeapRecord{device_, heap, buffer, info.size, info.memory_type, nullptr};
    if (record == nullptr) {
        if (buffer != nullptr) buffer->Release();
        heap->Release();
        return unexpected(OutOfMemory::out_of_host_memory);
    }
    live_heaps_.fetch_add(1, std::memory_order_relaxed);
    return D3D12Memory(record);
}

void D3D12MemoryDevice::deallocate_memory(D3D12Memory memory) {
    detail::HeapRecord* record = memory.record_;
    if (record == nullptr) detail::contract_violation("deallocate_memory: null memory");
    if (record->owner != device_) detail::contract_violation("deallocate_memory: memory of another device");
    if (record->mapped != nullptr) detail::contract_violation("deallocate_memory: memory is still mapped");
    if (record->mapping_buffer != nullptr) record->mapping_buffer->Release();
    record->heap->Release();
    delete record;
    live_heaps_.fetch_sub(1, std::memory_order_relaxed);
}

Result<std::byte*, DeviceMapError> D3D12MemoryDevice::map_memory(const D3D12Memory& memory, std::uint64_t offset,
                                                                 std::uint64_t size) {
    detail::HeapRecord* record = memory.record_;
    if (record == nullptr) detail::contract_violation("map_memory: null memory");
    if (record->owner != device_) detail::contract_violation("map_memory: memory of another device");
    if (record->mapping_buffer == nullptr) detail::contract_violation("map_memory: memory type is not host-visible");
    if (record->mapped != nullptr) detail::contract_violation("map_memory: memory is already mapped");
    if (size == 0 || offset > record->size || size > record->size - offset)
        detail::contract_violation("map_memory: range is empty or outside the heap");

    // UPLOAD: the host does not read, so the read range is empty.
    const bool upload = layout_.memory_types[record->memory_type].properties.Type == D3D12_HEAP_TYPE_UPLOAD;
    const D3D12_RANGE nothing{0, 0};
    void* data = nullptr;
    const HRESULT hr = record->mapping_buffer->Map(0, upload ? &nothing : nullptr, &data);
    if (FAILED(hr) || data == nullptr) {
        last_failure_.store(FAILED(hr) ? hr : E_FAIL, std::memory_order_relaxed);
        return unexpected(hr == E_OUTOFMEMORY ? DeviceMapError::out_of_host_memory : DeviceMapError::map_failed);
    }
    record->mapped = static_cast<std::byte*>(data);
    return record->mapped + offset;
}

void D3D12MemoryDevice::unmap_memory(const D3D12Memory& memory) {
    detail::HeapRecord* record = memory.record_;
    if (record == nullptr) detail::contract_violation("unmap_memory: null memory");
    if (record->owner != device_) detail::contract_violation("unmap_memory: memory of another device");
    if (record->mapped == nullptr) detail::contract_violation("unmap_memory: memory is not mapped");
    // READBACK: the host wrote nothing the device must see.
    const bool readback = layout_.memory_types[record->memory_type].properties.Type == D3D12_HEAP_TYPE_READBACK;
    const D3D12_RANGE nothing{0, 0};
    record->mapping_buffer->Unmap(0, readback ? &nothing : nullptr);
    record->mapped = nullptr;
}

void D3D12MemoryDevice::check_ranges(std::span<const MappedMemoryRange<D3D12Memory>> ranges,
                                     const char* operation) const {
    for (const MappedMemoryRange<D3D12Memory>& range : ranges) {
        if (range.memory == nullptr || range.memory->record_ == nullptr) {
            std::fprintf(stderr, "gpu_alloc::d3d12: %s: ", operation);
            detail::contract_violation("range without memory");
        }
        const detail::HeapRecord* record = range.memory->record_;
        if (record->owner != device_ || record->mapped == nullptr) {
            std::fprintf(stderr, "gpu_alloc::d3d12: %s: ", operation);
            detail::contract_violation("range of memory that is not mapped (or of another device)");
        }
        if (range.offset > record->size || range.size > record->size - range.offset) {
            std::fprintf(stderr, "gpu_alloc::d3d12: %s: range [%" PRIu64 ", +%" PRIu64 ") of a %" PRIu64
                                 "-byte heap: ",
                         operation, range.offset, range.size, record->size);
            detail::contract_violation("range outside the memory object");
        }
    }
}

Result<void, OutOfMemory> D3D12MemoryDevice::flush_memory_ranges(
    std::span<const MappedMemoryRange<D3D12Memory>> ranges) {
    check_ranges(ranges, "flush_memory_ranges");
    return {};
}

Result<void, OutOfMemory> D3D12MemoryDevice::invalidate_memory_ranges(
    std::span<const MappedMemoryRange<D3D12Memory>> ranges) {
    check_ranges(ranges, "invalidate_memory_ranges");
    return {};
}

#if GPU_ALLOC_D3D12_HAS_DXGI
bool D3D12MemoryDevice::query_budget(std::span<HeapBudget> heaps) {
    if (adapter_ == nullptr || heaps.size() != layout_.properties.memory_heaps.size()) return false;
    const DXGI_MEMORY_SEGMENT_GROUP groups[] = {DXGI_MEMORY_SEGMENT_GROUP_LOCAL, DXGI_MEMORY_SEGMENT_GROUP_NON_LOCAL};
    for (std::size_t i = 0; i < heaps.size() && i < 2; ++i) {
        DXGI_QUERY_VIDEO_MEMORY_INFO info{};
        if (FAILED(adapter_->QueryVideoMemoryInfo(0, groups[i], &info))) return false;
        heaps[i].budget = info.Budget;
        heaps[i].usage = info.CurrentUsage;
    }
    return true;
}
#endif

}  // namespace gpu_alloc::d3d12
