// libFuzzer target: GpuAllocator over the strict MockDevice, with the device's
// faults driven by the input.
//
// The input picks the device (heap sizes, object-count limit, atom,
// granularity, device-address support), the Config (policy, chunk sizes,
// spare chunks, over-budget policy, block tracking) and the MockDevice options,
// then a sequence of operations: allocate (valid and invalid requests), free,
// map + write + unmap, arm a device fault (fail the n-th call, allocation or
// map, random failures), shrink a heap or its budget, cleanup, import a memory
// object, read statistics.
//
// Checked after every step: no live blocks of one memory object overlap, each
// block lies inside its object and meets its alignment and type mask; the
// allocator's counters equal the model's (blocks, requested bytes) and the
// device's (objects, bytes); a failed allocate changed nothing; no misuse of
// the mock (the device aborts on misuse) nor of the allocator (its handler
// aborts); the bytes written into a host-visible block are still there when it
// is freed (no two blocks alias). At the end, every block is freed, cleanup()
// runs, and the device must hold no object: nothing leaked.
#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include "fuzz_input.hpp"

namespace {

using namespace gpu_alloc;
using gpu_alloc::fuzz::FuzzInput;
using Memory = gpu_alloc::mock::MockMemory;
using Block = MemoryBlock<Memory>;
using MockDevice = gpu_alloc::mock::MockDevice;

constexpr std::uint64_t MiB = 1024 * 1024;
constexpr int max_ops = 512;

struct Live {
    Block block;
    std::uint64_t alignment = 1;
    std::uint64_t tag = 0;  ///< written at the block's first bytes when tagged
    bool tagged = false;
};

DeviceProperties make_device(FuzzInput& in) {
    using F = MemoryPropertyFlags;
    DeviceProperties p;
    const std::uint64_t heap0 = (4 + in.below(60)) * MiB;
    const std::uint64_t heap1 = (4 + in.below(60)) * MiB;
    p.memory_heaps = {{heap0, MemoryHeapFlags::device_local}, {heap1, MemoryHeapFlags::none}};
    p.memory_types = {{0, F::device_local},
                      {0, F::device_local | F::host_visible | F::host_coherent},
                      {1, F::host_visible | F::host_cached},
                      {1, F::host_visible | F::host_coherent}};
    // Sometimes drop types, so that some usages have nowhere to go.
    const std::uint8_t drop = in.byte();
    if (drop % 4 == 0) p.memory_types.erase(p.memory_types.begin() + 1 + drop / 4 % 3);
    p.max_memory_allocation_count = static_cast<std::uint32_t>(1 + in.below(64));
    p.max_memory_allocation_size = std::max<std::uint64_t>(in.log_size(64 * MiB), 4096);
    p.non_coherent_atom_size = in.power_of_two(8);
    p.buffer_image_granularity = in.power_of_two(16);
    p.buffer_device_address = in.byte() % 2 == 0;
    return p;
}

Config make_config(FuzzInput& in) {
    Config c = Config::low_memory();
    c.max_chunk_size = in.power_of_two(24);
    c.min_chunk_size = in.power_of_two(24);
    c.dedicated_threshold = in.log_size(32 * MiB);
    c.slab_max_size = in.byte() % 4 == 0 ? 0 : std::uint64_t{16} << in.below(9);
    c.slab_page_size = std::max<std::uint64_t>(c.slab_max_size, std::uint64_t{4096} << in.below(5));
    c.linear_max_size = in.byte() % 4 == 0 ? 0 : in.log_size(4 * MiB);
    c.buddy_min_block = std::uint64_t{16} << in.below(8);
    c.budget_fraction = 0.25 + 0.75 * static_cast<double>(in.byte()) / 255.0;
    c.budget_refresh_interval = static_cast<std::uint32_t>(in.below(4));
    c.over_budget = in.byte() % 2 ? OverBudgetPolicy::fail : OverBudgetPolicy::fall_back;
    c.spare_chunks = static_cast<std::uint32_t>(in.below(3));
    c.policy = static_cast<StrategyPolicy>(in.below(5));
    c.track_blocks = in.byte() % 2 == 0;
    return c;
}

Request make_request(FuzzInput& in, const DeviceProperties& p) {
    Request r;
    const std::uint8_t shape = in.byte();
    if (shape % 32 == 0) r.size = 0;
    else if (shape % 32 == 1) r.size = p.max_memory_allocation_size + 1 + in.integer(2);
    else r.size = in.log_size(shape % 4 == 0 ? 32 * MiB : 1 * MiB);
    const std::uint8_t align = in.byte();
    if (align % 32 == 0) r.alignment = 0;
    else if (align % 32 == 1) r.alignment = 3 + 2 * in.integer(1);
    else if (align % 32 == 2) r.alignment = std::uint64_t{1} << (26 + in.below(38));  // past any chunk
    else r.alignment = in.power_of_two(16);
    const std::uint8_t mask = in.byte();
    r.memory_types = mask % 4 == 0 ? static_cast<std::uint32_t>(in.integer(1)) << (mask % 8 == 0 ? 4 : 0) : ~0u;
    r.usage = static_cast<UsageFlags>(in.byte() & 63);
    r.kind = static_cast<ResourceKind>(in.below(3));
    const std::uint8_t dedicated = in.byte();
    r.dedicated = dedicated % 8 == 0 ? DedicatedHint::required : dedicated % 8 == 1 ? DedicatedHint::preferred
                                                                                  : DedicatedHint::none;
    r.priority = static_cast<float>(in.byte()) / 255.0f;
    r.name = "fuzz";
    return r;
}

/// The reason check_request must give, or none (the order of its checks).
InvalidRequest expected_invalid(const Request& r, const DeviceProperties& p) {
    if (r.size == 0) return InvalidRequest::zero_size;
    if (r.alignment == 0 || (r.alignment & (r.alignment - 1)) != 0) return InvalidRequest::alignment_not_power_of_two;
    if (r.size > p.max_memory_allocation_size) return InvalidRequest::size_too_large;
    if (r.alignment > p.max_memory_allocation_size) return InvalidRequest::alignment_too_large;
    if (contains(r.usage, UsageFlags::device_address) && !p.buffer_device_address)
        return InvalidRequest::device_address_unsupported;
    return InvalidRequest::none;
}

[[noreturn]] void abort_on_allocator_misuse(AllocatorMisuse kind, const char* what) {
    std::fprintf(stderr, "allocator misuse (%d): %s\n", static_cast<int>(kind), what);
    std::abort();
}
void abort_on_block_leak(const BlockLeak& leak) {
    std::fprintf(stderr, "block leaked: type %u offset %llu\n", leak.memory_type,
                 static_cast<unsigned long long>(leak.offset));
    std::abort();
}

class Session {
public:
    Session(FuzzInput& in, const DeviceProperties& props, Config config, gpu_alloc::mock::MockDeviceOptions options)
        : in_(in), props_(props), device_(props, options), allocator_(props, config) {
        device_.set_misuse_handler([](const gpu_alloc::mock::MisuseReport& r) {
            std::fprintf(stderr, "mock device misuse: %s: %s\n", std::string(to_string(r.kind)).c_str(),
                         r.detail.c_str());
        });
    }

    void run() {
        check();
        for (int i = 0; i < max_ops && in_.more(); ++i) {
            step(in_.byte() % 12);
            check();
        }
        device_.clear_faults();
        while (!live_.empty()) free_one(live_.size() - 1);
        check();
        allocator_.cleanup(device_);
        const TotalCounters t = allocator_.totals();
        GPU_ALLOC_FUZZ_CHECK(t.block_count == 0 && t.device_objects == 0 && t.reserved_bytes == 0);
        GPU_ALLOC_FUZZ_CHECK(t.used_bytes == 0 && t.requested_bytes == 0);
        GPU_ALLOC_FUZZ_CHECK(device_.live_object_count() == 0);
        GPU_ALLOC_FUZZ_CHECK(allocator_.remaining_allocations() == props_.max_memory_allocation_count);
        GPU_ALLOC_FUZZ_CHECK(allocator_.misuse_count() == 0);
        GPU_ALLOC_FUZZ_CHECK(device_.misuse_count() == 0);
    }

private:
    void step(std::uint8_t op) {
        switch (op) {
            case 0: case 1: case 2: case 3: return allocate();
            case 4: case 5:
                if (!live_.empty()) free_one(static_cast<std::size_t>(in_.below(live_.size())));
                return;
            case 6: return map_and_write();
            case 7: return arm_fault();
            case 8: return squeeze_heap();
            case 9: return allocator_.cleanup(device_);
            case 10: return import();
            default: return read_statistics();
        }
    }

    void allocate() {
        const Request r = make_request(in_, props_);
        const TotalCounters before = allocator_.totals();
        auto b = allocator_.allocate(device_, r);
        InvalidRequest invalid = expected_invalid(r, props_);
        const std::uint32_t valid_types = (1u << props_.memory_types.size()) - 1;
        if (invalid == InvalidRequest::none && (r.memory_types & valid_types) == 0)
            invalid = InvalidRequest::empty_memory_type_mask;
        if (invalid != InvalidRequest::none) {
            GPU_ALLOC_FUZZ_CHECK(!b && b.error() == AllocationError::invalid_request(invalid));
            GPU_ALLOC_FUZZ_CHECK(device_objects_unchanged(before));
            return;
        }
        if (!b) {
            // "On error nothing changed" (gpu_allocator.hpp): no block, no byte, no object.
            const TotalCounters after = allocator_.totals();
            if (after.device_objects != before.device_objects || after.block_count != before.block_count)
                std::fprintf(stderr, "failed allocate (%s) of size %llu alignment %llu usage %s kind %d dedicated %d: "
                             "device objects %llu -> %llu, blocks %llu -> %llu\n", std::string(to_string(b.error())).c_str(),
                             static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.alignment),
                             to_string(r.usage).c_str(), static_cast<int>(r.kind), static_cast<int>(r.dedicated),
                             static_cast<unsigned long long>(before.device_objects),
                             static_cast<unsigned long long>(after.device_objects),
                             static_cast<unsigned long long>(before.block_count),
                             static_cast<unsigned long long>(after.block_count));
            GPU_ALLOC_FUZZ_CHECK(after.block_count == before.block_count);
            GPU_ALLOC_FUZZ_CHECK(after.requested_bytes == before.requested_bytes);
            GPU_ALLOC_FUZZ_CHECK(after.used_bytes == before.used_bytes);
            GPU_ALLOC_FUZZ_CHECK(after.device_objects == before.device_objects);
            return;
        }
        GPU_ALLOC_FUZZ_CHECK(b->holds_memory());
        GPU_ALLOC_FUZZ_CHECK(b->size() == r.size);
        GPU_ALLOC_FUZZ_CHECK(b->offset() % r.alignment == 0);
        GPU_ALLOC_FUZZ_CHECK((r.memory_types >> b->memory_type()) & 1u);
        if (needs_host_access(r.usage)) GPU_ALLOC_FUZZ_CHECK(contains(b->props(), MemoryPropertyFlags::host_visible));
        // "preferred" may fall back to a sub-allocation when no dedicated object can be made.
        if (r.dedicated == DedicatedHint::required) GPU_ALLOC_FUZZ_CHECK(b->is_dedicated());
        Live l{std::move(*b), r.alignment, next_tag_++, false};
        tag(l);
        live_.push_back(std::move(l));
    }

    bool device_objects_unchanged(const TotalCounters& before) const {
        const TotalCounters after = allocator_.totals();
        return after.device_objects == before.device_objects && after.block_count == before.block_count;
    }

    /// Writes the block's tag at its first bytes (host-visible blocks, when mapping works).
    void tag(Live& l) {
        if (!contains(l.block.props(), MemoryPropertyFlags::host_visible) || l.block.size() < sizeof(l.tag)) return;
        std::byte bytes[sizeof(l.tag)];
        std::memcpy(bytes, &l.tag, sizeof(bytes));
        l.tagged = static_cast<bool>(l.block.write_bytes(device_, 0, bytes));
        GPU_ALLOC_FUZZ_CHECK(l.block.mapped_ptr() == nullptr);  // write_bytes unmaps what it mapped
    }

    void free_one(std::size_t i) {
        Live& l = live_[i];
        if (l.tagged) {
            std::byte bytes[sizeof(l.tag)];
            // Faults are armed only while running; a failed read proves nothing either way.
            if (l.block.read_bytes(device_, 0, bytes)) {
                std::uint64_t seen = 0;
                std::memcpy(&seen, bytes, sizeof(seen));
                GPU_ALLOC_FUZZ_CHECK(seen == l.tag);
            }
        }
        allocator_.deallocate(device_, std::move(l.block));
        GPU_ALLOC_FUZZ_CHECK(!l.block.holds_memory());
        live_[i] = std::move(live_.back());
        live_.pop_back();
    }

    void map_and_write() {
        if (live_.empty()) return;
        Live& l = live_[static_cast<std::size_t>(in_.below(live_.size()))];
        const std::uint64_t offset = in_.below(l.block.size() + 2);
        const std::uint64_t size = in_.below(l.block.size() + 2);
        const bool was_mapped = l.block.mapped_ptr() != nullptr;
        auto p = l.block.map(device_, offset, size);
        const bool host_visible = contains(l.block.props(), MemoryPropertyFlags::host_visible);
        const bool in_bounds = offset <= l.block.size() && size <= l.block.size() - offset;
        // The order of MemoryBlock::map's checks: host visible, already mapped, in bounds.
        if (!host_visible) GPU_ALLOC_FUZZ_CHECK(!p && p.error() == MapError::not_host_visible);
        else if (was_mapped) GPU_ALLOC_FUZZ_CHECK(!p && p.error() == MapError::already_mapped);
        else if (!in_bounds) GPU_ALLOC_FUZZ_CHECK(!p && p.error() == MapError::out_of_bounds);
        if (!p) return;
        GPU_ALLOC_FUZZ_CHECK(*p == l.block.mapped_ptr() + offset);
        GPU_ALLOC_FUZZ_CHECK(l.block.map(device_, 0, 1).error() == MapError::already_mapped);
        // Fill the range, sparing the tag.
        const std::uint64_t begin = l.tagged ? std::max<std::uint64_t>(offset, sizeof(l.tag)) : offset;
        // At most 4 KiB at each end of the range: touching all of a 32 MiB block costs more than it finds.
        const std::uint64_t end = offset + size;
        if (begin < end) {
            const std::uint64_t head = std::min<std::uint64_t>(end - begin, 4096);
            std::memset(l.block.mapped_ptr() + begin, 0xA5, static_cast<std::size_t>(head));
            const std::uint64_t tail = std::min<std::uint64_t>(end - begin - head, 4096);
            std::memset(l.block.mapped_ptr() + end - tail, 0x5A, static_cast<std::size_t>(tail));
        }
        (void)l.block.flush(device_, offset, size);
        (void)l.block.invalidate(device_, offset, size);
        if (in_.byte() % 4 != 0) GPU_ALLOC_FUZZ_CHECK(l.block.unmap(device_));  // else free it while mapped, later
    }

    void arm_fault() {
        const std::uint8_t kind = in_.byte() % 6;
        const std::uint64_t n = 1 + in_.below(8);
        switch (kind) {
            case 0: return device_.fail_nth_call(n);
            case 1: return device_.fail_nth_allocation(n);
            case 2: return device_.fail_nth_map(n);
            case 3: {
                // Two reads, in this order (function arguments would leave the order to the compiler).
                const double p = static_cast<double>(in_.byte()) / 255.0;
                const std::uint64_t seed = in_.integer(2);
                return device_.set_failure_probability(p, seed);
            }
            default: return device_.clear_faults();
        }
    }

    void squeeze_heap() {
        const auto heap = static_cast<std::uint32_t>(in_.below(props_.memory_heaps.size()));
        const std::uint64_t bytes = in_.below(props_.memory_heaps[heap].size / MiB + 1) * MiB;
        if (in_.byte() % 2) device_.set_heap_size_limit(heap, bytes);
        else device_.set_heap_budget(heap, bytes);
        allocator_.refresh_budget(device_);
    }

    void import() {
        MemoryAllocateInfo info;
        info.memory_type = static_cast<std::uint32_t>(in_.below(props_.memory_types.size()));
        info.size = in_.log_size(std::min<std::uint64_t>(props_.max_memory_allocation_size, 8 * MiB));
        if (device_.live_object_count() >= props_.max_memory_allocation_count) return;  // the device would call it misuse
        auto memory = device_.allocate_memory(info);
        if (!memory) return;
        auto b = allocator_.import_memory(*memory, info.memory_type, info.size);
        if (!b) {
            GPU_ALLOC_FUZZ_CHECK(b.error() == AllocationErrorKind::too_many_objects);
            device_.deallocate_memory(*memory);
            return;
        }
        GPU_ALLOC_FUZZ_CHECK(b->is_dedicated() && b->size() == info.size && b->offset() == 0);
        live_.push_back(Live{std::move(*b), 1, next_tag_++, false});
    }

    void read_statistics() {
        const Statistics s = allocator_.statistics();
        const TotalCounters t = allocator_.totals();
        GPU_ALLOC_FUZZ_CHECK(s.total.block_count == t.block_count);
        GPU_ALLOC_FUZZ_CHECK(s.total.device_objects == t.device_objects);
        GPU_ALLOC_FUZZ_CHECK(s.total.reserved_bytes == t.reserved_bytes);
        GPU_ALLOC_FUZZ_CHECK(s.total.peak_device_objects >= t.device_objects);
        const AllocatorSnapshot snap = allocator_.snapshot();
        GPU_ALLOC_FUZZ_CHECK(snap.chunks.size() == t.device_objects);
        std::uint64_t blocks = 0;
        for (const ChunkSnapshot& c : snap.chunks) {
            GPU_ALLOC_FUZZ_CHECK(c.used_bytes <= c.size);
            blocks += c.blocks.size();
        }
        if (snap.blocks_tracked) GPU_ALLOC_FUZZ_CHECK(blocks == t.block_count);
        if (in_.byte() % 8 == 0) {
            std::ostringstream json;
            allocator_.dump_json(json);
            GPU_ALLOC_FUZZ_CHECK(!json.str().empty());
        }
    }

    void check() const {
        std::map<std::uint64_t, std::map<std::uint64_t, std::uint64_t>> ranges;  // memory -> offset -> end
        std::uint64_t requested = 0;
        for (const Live& l : live_) {
            const Block& b = l.block;
            GPU_ALLOC_FUZZ_CHECK(b.holds_memory());
            GPU_ALLOC_FUZZ_CHECK(b.offset() % l.alignment == 0);
            auto info = device_.object_info(b.memory());
            GPU_ALLOC_FUZZ_CHECK(info.has_value());
            GPU_ALLOC_FUZZ_CHECK(info->memory_type == b.memory_type());
            GPU_ALLOC_FUZZ_CHECK(b.offset() <= info->size && b.size() <= info->size - b.offset());
            auto& mine = ranges[b.memory().id];
            auto [it, fresh] = mine.emplace(b.offset(), b.offset() + b.size());
            GPU_ALLOC_FUZZ_CHECK(fresh);
            if (it != mine.begin()) GPU_ALLOC_FUZZ_CHECK(std::prev(it)->second <= it->first);
            if (std::next(it) != mine.end()) GPU_ALLOC_FUZZ_CHECK(it->second <= std::next(it)->first);
            requested += b.size();
        }
        const TotalCounters t = allocator_.totals();
        GPU_ALLOC_FUZZ_CHECK(t.block_count == live_.size());
        GPU_ALLOC_FUZZ_CHECK(t.requested_bytes == requested);
        GPU_ALLOC_FUZZ_CHECK(t.used_bytes >= t.requested_bytes);
        GPU_ALLOC_FUZZ_CHECK(t.device_objects == device_.live_object_count());
        std::uint64_t device_bytes = 0;
        for (std::uint32_t h = 0; h < props_.memory_heaps.size(); ++h) {
            GPU_ALLOC_FUZZ_CHECK(device_.live_bytes(h) <= props_.memory_heaps[h].size);
            device_bytes += device_.live_bytes(h);
        }
        GPU_ALLOC_FUZZ_CHECK(t.reserved_bytes == device_bytes);
        GPU_ALLOC_FUZZ_CHECK(allocator_.remaining_allocations() == props_.max_memory_allocation_count - t.device_objects);
        GPU_ALLOC_FUZZ_CHECK(device_.misuse_count() == 0);
        GPU_ALLOC_FUZZ_CHECK(allocator_.misuse_count() == 0);
    }

    FuzzInput& in_;
    const DeviceProperties& props_;
    MockDevice device_;
    GpuAllocator<Memory> allocator_;
    std::vector<Live> live_;
    std::uint64_t next_tag_ = 0x5eed'0000'0000'0001ull;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool handlers_set = [] {
        set_misuse_handler(&abort_on_allocator_misuse);
        set_block_leak_handler(&abort_on_block_leak);
        return true;
    }();
    (void)handlers_set;
    FuzzInput in(data, size);
    const DeviceProperties props = make_device(in);
    const Config config = make_config(in);
    gpu_alloc::mock::MockDeviceOptions options;
    const std::uint8_t flags = in.byte();
    options.report_budget = flags & 1;
    options.inject_host_oom = flags & 2;
    options.abort_on_misuse = true;
    Session session(in, props, config, options);
    session.run();
    return 0;
}
