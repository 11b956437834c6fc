// FakeMetal: see fake_metal.hpp.
#include "fake_metal.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace gpu_alloc::mock {

namespace {

constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

constexpr std::uint64_t gib = 1ull << 30;
constexpr std::uint64_t mib = 1ull << 20;

std::size_t mode_index(MetalStorageMode mode) { return static_cast<std::size_t>(mode); }

bool host_visible(MetalStorageMode mode) {
    return mode == MetalStorageMode::shared || mode == MetalStorageMode::managed;
}

}  // namespace

FakeMetalProfile apple_silicon_profile() {
    FakeMetalProfile p;
    p.name = "apple-silicon";
    p.info.unified_memory = true;
    p.info.shared_heaps = true;
    p.info.managed_storage = true;
    p.info.memoryless_storage = true;
    p.info.gpu_address = true;
    p.info.recommended_max_working_set_size = gib;
    p.info.system_memory_size = gib + gib / 2;
    p.info.max_buffer_length = 768 * mib;
    p.info.buffer_offset_alignment = 256;
    for (std::uint64_t& a : p.buffer_alignment) a = 16384;
    for (std::uint64_t& a : p.texture_alignment) a = 16384;
    p.texture_alignment[mode_index(MetalStorageMode::private_)] = 65536;
    return p;
}

FakeMetalProfile discrete_mac_profile() {
    FakeMetalProfile p;
    p.name = "discrete-mac";
    p.info.unified_memory = false;
    p.info.shared_heaps = false;
    p.info.managed_storage = true;
    p.info.memoryless_storage = false;
    p.info.gpu_address = false;
    p.info.recommended_max_working_set_size = 2 * gib;
    p.info.system_memory_size = 4 * gib;
    p.info.max_buffer_length = gib;
    p.info.buffer_offset_alignment = 256;
    for (std::uint64_t& a : p.buffer_alignment) a = 65536;
    for (std::uint64_t& a : p.texture_alignment) a = 65536;
    return p;
}

FakeMetalProfile intel_integrated_profile() {
    FakeMetalProfile p;
    p.name = "intel-integrated";
    p.info.unified_memory = true;
    p.info.shared_heaps = false;
    p.info.managed_storage = true;
    p.info.memoryless_storage = false;
    p.info.gpu_address = false;
    p.info.recommended_max_working_set_size = gib + gib / 2;
    p.info.system_memory_size = 2 * gib;
    p.info.max_buffer_length = gib;
    p.info.buffer_offset_alignment = 256;
    for (std::uint64_t& a : p.buffer_alignment) a = 4096;
    for (std::uint64_t& a : p.texture_alignment) a = 4096;
    return p;
}

FakeMetal::FakeMetal(const FakeMetalProfile& profile) : profile_(profile) {
    working_set_ = profile.info.recommended_max_working_set_size;
    functions_.context = this;
    functions_.device = profile.info;
    functions_.create_heap = &FakeMetal::create_heap;
    functions_.destroy_heap = &FakeMetal::destroy_heap;
    functions_.contents = &FakeMetal::contents;
    functions_.did_modify_range = &FakeMetal::did_modify_range;
    functions_.synchronize_ranges = &FakeMetal::synchronize_ranges;
    functions_.heap_buffer_size_and_align = &FakeMetal::heap_buffer_size_and_align;
    functions_.heap_texture_size_and_align = &FakeMetal::heap_texture_size_and_align;
    functions_.current_allocated_size = &FakeMetal::current_allocated_size;
    functions_.recommended_max_working_set_size = &FakeMetal::recommended_max_working_set_size;
}

FakeMetal::~FakeMetal() {
    std::lock_guard lock(mutex_);
    for (const auto& [bits, object] : objects_)
        ADD_FAILURE() << profile_.name << ": memory object " << bits << " (" << object.description.size
                      << " bytes, " << to_string(object.description.options.storage_mode) << ") leaked";
}

FakeMetal::Calls FakeMetal::calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
}

void FakeMetal::fail_next_creates(MetalStatus status, std::uint32_t count) {
    std::lock_guard lock(mutex_);
    create_failure_ = status;
    failing_creates_ = count;
}

void FakeMetal::fail_next_contents() {
    std::lock_guard lock(mutex_);
    fail_contents_ = true;
}

void FakeMetal::fail_next_synchronize(MetalStatus status) {
    std::lock_guard lock(mutex_);
    synchronize_failure_ = status;
}

void FakeMetal::reject_buffer_lengths_above(std::uint64_t length) {
    std::lock_guard lock(mutex_);
    max_buffer_query_length_ = length;
}

void FakeMetal::set_working_set(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    working_set_ = bytes;
}

void FakeMetal::set_external_allocated(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    external_allocated_ = bytes;
}

FakeMetal::Object* FakeMetal::find_locked(MetalHeap heap) {
    auto it = objects_.find(heap.bits);
    return it == objects_.end() ? nullptr : &it->second;
}

const FakeMetal::Object* FakeMetal::find_locked(MetalHeap heap) const {
    auto it = objects_.find(heap.bits);
    return it == objects_.end() ? nullptr : &it->second;
}

void FakeMetal::gpu_write(MetalHeap heap, std::uint64_t offset, std::span<const std::byte> bytes) {
    std::lock_guard lock(mutex_);
    Object* object = find_locked(heap);
    if (object == nullptr) {
        ADD_FAILURE() << "gpu_write to an unknown object";
        return;
    }
    std::vector<std::byte>& target =
        object->description.options.storage_mode == MetalStorageMode::managed ? object->gpu : object->cpu;
    if (offset > target.size() || bytes.size() > target.size() - offset) {
        ADD_FAILURE() << "gpu_write outside the object";
        return;
    }
    std::memcpy(target.data() + offset, bytes.data(), bytes.size());
}

std::vector<std::byte> FakeMetal::gpu_read(MetalHeap heap, std::uint64_t offset, std::uint64_t size) const {
    std::lock_guard lock(mutex_);
    const Object* object = find_locked(heap);
    if (object == nullptr) {
        ADD_FAILURE() << "gpu_read of an unknown object";
        return {};
    }
    const std::vector<std::byte>& source =
        object->description.options.storage_mode == MetalStorageMode::managed ? object->gpu : object->cpu;
    if (offset > source.size() || size > source.size() - offset) {
        ADD_FAILURE() << "gpu_read outside the object";
        return {};
    }
    return std::vector<std::byte>(source.begin() + static_cast<std::ptrdiff_t>(offset),
                                  source.begin() + static_cast<std::ptrdiff_t>(offset + size));
}

std::size_t FakeMetal::live_objects() const {
    std::lock_guard lock(mutex_);
    return objects_.size();
}

MetalHeapDescription FakeMetal::description(MetalHeap heap) const {
    std::lock_guard lock(mutex_);
    const Object* object = find_locked(heap);
    EXPECT_NE(object, nullptr) << "description of an unknown object";
    return object ? object->description : MetalHeapDescription{};
}

std::vector<MetalRange> FakeMetal::modified_ranges() const {
    std::lock_guard lock(mutex_);
    return modified_;
}

std::vector<MetalRange> FakeMetal::synchronized_ranges() const {
    std::lock_guard lock(mutex_);
    return synchronized_;
}

std::vector<MetalTextureDescription> FakeMetal::texture_queries() const {
    std::lock_guard lock(mutex_);
    return texture_queries_;
}

std::uint64_t FakeMetal::live_bytes() const {
    std::lock_guard lock(mutex_);
    std::uint64_t bytes = 0;
    for (const auto& [bits, object] : objects_)
        if (object.description.backing != MetalBacking::none) bytes += object.description.size;
    return bytes;
}

MetalStatus FakeMetal::create_heap(void* context, const MetalHeapDescription& d, MetalHeap* out) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.create_heap;
    if (fake.failing_creates_ > 0) {
        --fake.failing_creates_;
        return fake.create_failure_;
    }
    const MetalStorageMode mode = d.options.storage_mode;
    const MetalDeviceInfo& info = fake.profile_.info;
    // What Metal itself would refuse.
    bool valid = d.size > 0;
    switch (d.backing) {
        case MetalBacking::heap:
            valid = valid && (mode == MetalStorageMode::private_ || (mode == MetalStorageMode::shared && info.shared_heaps));
            if (host_visible(mode)) {
                valid = valid && d.covering_length > 0 &&
                        fake.buffer_size_and_align_locked(d.covering_length, d.options).size <= d.size;
            } else {
                valid = valid && d.covering_length == 0;
            }
            break;
        case MetalBacking::buffer:
            valid = valid && host_visible(mode) && d.covering_length == 0 && d.size <= info.max_buffer_length &&
                    (mode != MetalStorageMode::managed || info.managed_storage);
            break;
        case MetalBacking::none: valid = valid && mode == MetalStorageMode::memoryless && info.memoryless_storage; break;
    }
    if (!valid) {
        ADD_FAILURE() << fake.profile_.name << ": create_heap that Metal would refuse: " << to_string(mode) << " "
                      << to_string(d.backing) << ", size " << d.size << ", covering " << d.covering_length;
        return MetalStatus::out_of_device_memory;
    }
    Object object;
    object.description = d;
    if (host_visible(mode)) {
        object.cpu.assign(d.backing == MetalBacking::heap ? d.covering_length : d.size, std::byte{0});
        if (mode == MetalStorageMode::managed) object.gpu.assign(d.size, std::byte{0});
    }
    const std::uint64_t handle = fake.next_handle_;
    fake.next_handle_ += 0x40;
    fake.objects_.emplace(handle, std::move(object));
    out->bits = handle;
    return MetalStatus::ok;
}

void FakeMetal::destroy_heap(void* context, MetalHeap heap) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.destroy_heap;
    if (fake.objects_.erase(heap.bits) == 0) ADD_FAILURE() << "destroy_heap of an unknown object " << heap.bits;
}

std::byte* FakeMetal::contents(void* context, MetalHeap heap) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.contents;
    Object* object = fake.find_locked(heap);
    if (object == nullptr || object->cpu.empty()) {
        ADD_FAILURE() << "contents of an unknown or not host-visible object";
        return nullptr;
    }
    if (std::exchange(fake.fail_contents_, false)) return nullptr;
    return object->cpu.data();
}

void FakeMetal::did_modify_range(void* context, MetalHeap heap, std::uint64_t offset, std::uint64_t size) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.did_modify_range;
    fake.modified_.push_back(MetalRange{heap, offset, size});
    Object* object = fake.find_locked(heap);
    if (object == nullptr || object->description.options.storage_mode != MetalStorageMode::managed ||
        offset > object->cpu.size() || size > object->cpu.size() - offset) {
        ADD_FAILURE() << "didModifyRange: on a non-managed object or outside it";
        return;
    }
    std::memcpy(object->gpu.data() + offset, object->cpu.data() + offset, size);
}

MetalStatus FakeMetal::synchronize_ranges(void* context, const MetalRange* ranges, std::size_t count) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.synchronize_ranges;
    if (fake.synchronize_failure_) {
        const MetalStatus status = *fake.synchronize_failure_;
        fake.synchronize_failure_.reset();
        return status;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const MetalRange& r = ranges[i];
        ++fake.calls_.synchronized_ranges;
        fake.synchronized_.push_back(r);
        Object* object = fake.find_locked(r.heap);
        // copyFromBuffer: on macOS needs offsets and sizes that are multiples of 4.
        if (object == nullptr || object->description.options.storage_mode != MetalStorageMode::managed ||
            r.offset % 4 != 0 || r.size % 4 != 0 || r.size == 0 || r.offset > object->gpu.size() ||
            r.size > object->gpu.size() - r.offset) {
            ADD_FAILURE() << "synchronize of a non-managed object, an unaligned range or one outside it";
            continue;
        }
        std::memcpy(object->cpu.data() + r.offset, object->gpu.data() + r.offset, r.size);
    }
    return MetalStatus::ok;
}

MetalSizeAndAlign FakeMetal::buffer_size_and_align_locked(std::uint64_t length, MetalResourceOptions options) const {
    if (length == 0 || length > max_buffer_query_length_) return {0, 0};
    const std::uint64_t align = profile_.buffer_alignment[mode_index(options.storage_mode)];
    return {round_up(length, align), align};
}

MetalSizeAndAlign FakeMetal::heap_buffer_size_and_align(void* context, std::uint64_t length,
                                                        MetalResourceOptions options) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.heap_buffer_size_and_align;
    return fake.buffer_size_and_align_locked(length, options);
}

MetalSizeAndAlign FakeMetal::heap_texture_size_and_align(void* context, const MetalTextureDescription& d) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.heap_texture_size_and_align;
    fake.texture_queries_.push_back(d);
    if (d.width == 0 || d.height == 0 || d.depth == 0 || d.mipmap_level_count == 0 || d.array_length == 0 ||
        d.sample_count == 0)
        return {0, 0};
    // 4 bytes a texel; each mip level a quarter of the one above (at least a texel).
    std::uint64_t bytes = 0;
    std::uint64_t w = d.width, h = d.height;
    for (std::uint32_t level = 0; level < d.mipmap_level_count; ++level) {
        bytes += w * h * d.depth * 4;
        w = std::max<std::uint64_t>(1, w / 2);
        h = std::max<std::uint64_t>(1, h / 2);
    }
    bytes *= std::uint64_t{d.array_length} * d.sample_count;
    const std::uint64_t align = fake.profile_.texture_alignment[mode_index(d.options.storage_mode)];
    return {round_up(bytes, align), align};
}

std::uint64_t FakeMetal::current_allocated_size(void* context) {
    FakeMetal& fake = self(context);
    std::uint64_t live = fake.live_bytes();
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.current_allocated_size;
    return live + fake.external_allocated_;
}

std::uint64_t FakeMetal::recommended_max_working_set_size(void* context) {
    FakeMetal& fake = self(context);
    std::lock_guard lock(fake.mutex_);
    ++fake.calls_.recommended_max_working_set_size;
    return fake.working_set_;
}

}  // namespace gpu_alloc::mock
