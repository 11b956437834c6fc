// libFuzzer target: GpuAllocator over the strict MockDevice, with the device's
// faults driven by the input.
//
// The input picks the device, the Config and the MockDevice options, then a
// sequence of operations: allocate (valid and invalid requests), free,
// map + write + unmap, arm a device fault (fail the n-th call, allocation or
// map, random failures), shrink a heap or its budget, cleanup, import a memory
// object, read statistics.
//
// The device and the Config are drawn over their whole ranges, not only the
// shapes of real devices: heaps from 0 bytes to 2^62, max_memory_allocation_size
// from a few KiB to a heap's size or 2^64 - 1, atoms and granularities among the
// powers of two up to 64 KiB, object limits from 1 to 2^32 - 1, sometimes a
// random set of memory types; chunk sizes up to 2^50 (and any 64-bit value),
// every other Config field out of range too (budget_fraction NaN, infinite,
// negative or above 1; pool_shards 0 to 16; zero and huge sizes). The allocator
// adjusts the Config at construction; what config() reports must be in range.
// One input in four (the first byte decides) is a huge device: heaps of 2^40
// to 2^62 bytes, objects as large, chunks of 1 GiB to 2^50 bytes, so that
// blocks are placed at offsets no small device reaches.
// Requests take sizes and alignments near the 64-bit limits (2^64 - 1,
// 2^64 - 2^k, 2^63, alignments up to 2^63) besides ordinary ones. The mock
// reserves host memory for an object only when it is mapped, so huge objects
// cost nothing as long as they are never mapped: objects above
// max_mapped_object bytes are not.
//
// Checked after every step: no live blocks of one memory object overlap, not
// even once each is widened to the atoms and granularity pages it occupies;
// each block lies inside its object and meets its alignment and type mask; the
// allocator's counters equal the model's (blocks, requested bytes) and the
// device's (objects, bytes); a failed allocate changed nothing and failed with
// the right error (see check_failure); no misuse of the mock (the device
// aborts on misuse) nor of the allocator (its handler aborts); the bytes
// written into a host-visible block are still there when it is freed (no two
// blocks alias). At the end, every block is freed, cleanup() runs, and the
// device must hold no object: nothing leaked.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/memory_type_selector.hpp>
#include <gpu_alloc/mock/mock_device.hpp>
#include <gpu_alloc/slab.hpp>

#include "fuzz_input.hpp"

namespace {

using namespace gpu_alloc;
using gpu_alloc::fuzz::FuzzInput;
using Memory = gpu_alloc::mock::MockMemory;
using Block = MemoryBlock<Memory>;
using MockDevice = gpu_alloc::mock::MockDevice;

constexpr std::uint64_t MiB = 1024 * 1024;
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr int max_ops = 512;
/// Objects larger than this are never mapped: the mock would reserve that much
/// host address space.
constexpr std::uint64_t max_mapped_object = 256 * MiB;

struct Live {
    Block block;
    std::uint64_t alignment = 1;
    ResourceKind kind = ResourceKind::linear;
    std::uint64_t tag = 0;  ///< written at the block's first bytes when tagged
    bool tagged = false;
};

bool is_pow2(std::uint64_t v) { return std::has_single_bit(v); }

/// A value of bit length k, k drawn in [0, max_bits] (0 gives 0): every
/// magnitude up to 2^max_bits - 1 is as likely, the bits below the top one are
/// random.
std::uint64_t wide(FuzzInput& in, unsigned max_bits) {
    const unsigned k = in.byte() % (max_bits + 1);
    const std::uint64_t low = in.integer(8);
    if (k == 0) return 0;
    const std::uint64_t top = std::uint64_t{1} << (k - 1);
    return top | (low & (top - 1));
}

/// A small signed offset in [-2, 2].
std::int64_t nudge(FuzzInput& in) { return static_cast<std::int64_t>(in.byte() % 5) - 2; }

/// v + d, wrapping (the point is to land next to 2^k and 2^64).
std::uint64_t plus(std::uint64_t v, std::int64_t d) { return v + static_cast<std::uint64_t>(d); }

// Two reads of the input are never arguments of one call: the order in which
// arguments are evaluated is left to the compiler, and an input must mean the
// same under every compiler.

std::uint64_t huge_heap_size(FuzzInput& in) {
    const unsigned k = 40 + in.byte() % 23;
    return plus(std::uint64_t{1} << k, nudge(in));
}

std::uint64_t heap_size(FuzzInput& in) {
    const std::uint8_t shape = in.byte();
    switch (shape % 8) {
        case 0: return wide(in, 62);
        case 1: return std::uint64_t{1} << (in.byte() % 63);
        case 2: return in.below(4096);  // tiny heaps, empty ones included
        case 3: return huge_heap_size(in);
        default: return (4 + in.below(60)) * MiB;
    }
}

/// `huge`: heaps of 2^40 to 2^62 bytes and objects as large (else heaps and
/// limits of any size, mostly tens of MiB).
DeviceProperties make_device(FuzzInput& in, bool huge) {
    using F = MemoryPropertyFlags;
    DeviceProperties p;
    const std::uint64_t heap0 = huge ? huge_heap_size(in) : heap_size(in);
    const std::uint64_t heap1 = huge ? huge_heap_size(in) : heap_size(in);
    p.memory_heaps = {{heap0, MemoryHeapFlags::device_local}, {heap1, MemoryHeapFlags::none}};
    const std::uint8_t layout = in.byte();
    if (layout % 8 == 7) {
        // Any set of types, mappable or not, lazily allocated and protected ones included.
        const std::uint32_t count = 1 + in.byte() % 8;
        for (std::uint32_t t = 0; t < count; ++t) {
            const std::uint8_t bits = in.byte();
            p.memory_types.push_back({static_cast<std::uint32_t>(bits >> 7), static_cast<F>(bits & 63)});
        }
    } else {
        p.memory_types = {{0, F::device_local},
                          {0, F::device_local | F::host_visible | F::host_coherent},
                          {1, F::host_visible | F::host_cached},
                          {1, F::host_visible | F::host_coherent}};
        // Sometimes drop types, so that some usages have nowhere to go.
        if (layout % 4 == 0) p.memory_types.erase(p.memory_types.begin() + 1 + layout / 4 % 3);
    }
    const std::uint8_t count = in.byte();
    p.max_memory_allocation_count = count == 255 ? std::numeric_limits<std::uint32_t>::max()
                                    : count >= 240 ? std::uint32_t{1} << (count - 228)  // 4096 .. 2^26
                                                   : static_cast<std::uint32_t>(1 + count % 64);
    const std::uint8_t max_size = in.byte();
    const std::uint64_t heap_max = std::max<std::uint64_t>(max_size & 8 ? heap1 : heap0, 1);
    if (huge) {
        switch (max_size % 4) {
            case 0: p.max_memory_allocation_size = u64_max; break;
            case 1: p.max_memory_allocation_size = heap_max; break;
            case 2: p.max_memory_allocation_size = std::uint64_t{1} << (40 + in.byte() % 24); break;
            default: p.max_memory_allocation_size = u64_max - in.below(65536); break;
        }
    } else {
        switch (max_size % 8) {
            case 0: p.max_memory_allocation_size = u64_max; break;
            case 1: p.max_memory_allocation_size = heap_max; break;
            case 2: p.max_memory_allocation_size = std::max<std::uint64_t>(wide(in, 64), 1); break;
            case 3: p.max_memory_allocation_size = u64_max - in.below(65536); break;
            case 4: p.max_memory_allocation_size = std::uint64_t{1} << (in.byte() % 64); break;
            default: p.max_memory_allocation_size = std::max<std::uint64_t>(in.log_size(64 * MiB), 4096); break;
        }
    }
    p.non_coherent_atom_size = in.power_of_two(16);
    p.buffer_image_granularity = in.power_of_two(16);
    p.buffer_device_address = in.byte() % 2 == 0;
    return p;
}

/// A chunk size field: the ordinary range, a power of two up to 2^50, any value
/// up to 2^50, or any 64-bit value (0 included).
std::uint64_t chunk_size(FuzzInput& in) {
    const std::uint8_t shape = in.byte();
    switch (shape % 8) {
        case 0: case 1: return in.power_of_two(24);
        case 2: case 3: return std::uint64_t{1} << (in.byte() % 51);
        case 4: return wide(in, 50);
        case 5: return wide(in, 64);
        default: return std::uint64_t{1} << (30 + in.byte() % 21);  // 1 GiB to 2^50
    }
}

double budget_fraction(FuzzInput& in) {
    const std::uint8_t shape = in.byte();
    const std::uint8_t v = in.byte();
    switch (shape % 8) {
        case 0: return std::numeric_limits<double>::quiet_NaN();
        case 1: return std::numeric_limits<double>::infinity();
        case 2: return -std::numeric_limits<double>::infinity();
        case 3: return -static_cast<double>(v) / 16.0;  // -0.0 included
        case 4: return 1.0 + static_cast<double>(v) / 16.0;
        case 5: return v % 2 ? std::numeric_limits<double>::denorm_min() : 0.0;
        default: return 0.25 + 0.75 * static_cast<double>(v) / 255.0;
    }
}

/// `huge`: chunks of 1 GiB to 2^50 bytes, the first up to 2^11 times smaller,
/// dedicated objects only from an eighth of a chunk.
Config make_config(FuzzInput& in, const DeviceProperties& props, bool huge) {
    const std::uint8_t preset = in.byte();
    Config c = preset % 4 == 1 ? Config::balanced() : preset % 4 == 2 ? Config::for_device(props) : Config::low_memory();
    if (huge) {
        c.max_chunk_size = std::uint64_t{1} << (30 + in.byte() % 21);
        c.min_chunk_size = c.max_chunk_size >> in.byte() % 12;
        c.dedicated_threshold = in.byte() % 2 ? u64_max : c.max_chunk_size >> in.byte() % 4;
    } else if (preset % 4 == 0 || (preset & 4) == 0) {
        // A preset's own chunk sizes, or drawn ones.
        c.max_chunk_size = chunk_size(in);
        c.min_chunk_size = chunk_size(in);
        const std::uint8_t threshold = in.byte();
        c.dedicated_threshold = threshold % 4 == 0   ? wide(in, 50)
                                : threshold % 4 == 1 ? wide(in, 64)
                                                     : in.log_size(32 * MiB);
    }
    const std::uint8_t slab = in.byte();
    c.slab_max_size = slab % 8 == 0 ? 0 : slab % 8 == 1 ? wide(in, 64) : std::uint64_t{16} << in.below(9);
    const std::uint8_t page = in.byte();
    c.slab_page_size = page % 4 == 0 ? wide(in, 64) : std::max<std::uint64_t>(c.slab_max_size, std::uint64_t{4096} << in.below(5));
    const std::uint8_t linear = in.byte();
    c.linear_max_size = linear % 4 == 0 ? 0 : linear % 4 == 1 ? wide(in, 64) : in.log_size(4 * MiB);
    const std::uint8_t large = in.byte();
    c.large_request_size = large % 4 == 0 ? wide(in, 50) : 0;
    const std::uint8_t buddy = in.byte();
    c.buddy_min_block = buddy % 4 == 0 ? wide(in, 64) : std::uint64_t{16} << in.below(8);
    c.budget_fraction = budget_fraction(in);
    const std::uint8_t refresh = in.byte();
    c.budget_refresh_interval = refresh == 255 ? std::numeric_limits<std::uint32_t>::max() : refresh % 4;
    c.over_budget = in.byte() % 2 ? OverBudgetPolicy::fail : OverBudgetPolicy::fall_back;
    const std::uint8_t spare = in.byte();
    c.spare_chunks = spare == 255 ? std::numeric_limits<std::uint32_t>::max() : spare % 5;
    c.policy = static_cast<StrategyPolicy>(in.below(5));
    c.pool_shards = in.byte() % 17;
    c.track_blocks = in.byte() % 2 == 0;
    return c;
}

/// The Config in effect must be in the ranges the strategies accept, and the
/// adjustment must keep every value that was in range already.
void check_adjusted(const Config& drawn, const Config& c) {
    GPU_ALLOC_FUZZ_CHECK(c.budget_fraction >= 0.0 && c.budget_fraction <= 1.0);
    if (drawn.budget_fraction >= 0.0 && drawn.budget_fraction <= 1.0)
        GPU_ALLOC_FUZZ_CHECK(c.budget_fraction == drawn.budget_fraction);
    GPU_ALLOC_FUZZ_CHECK(is_pow2(c.max_chunk_size));
    if (is_pow2(drawn.max_chunk_size)) GPU_ALLOC_FUZZ_CHECK(c.max_chunk_size == drawn.max_chunk_size);
    GPU_ALLOC_FUZZ_CHECK(is_pow2(c.min_chunk_size) && c.min_chunk_size <= c.max_chunk_size);
    if (is_pow2(drawn.min_chunk_size) && drawn.min_chunk_size <= c.max_chunk_size)
        GPU_ALLOC_FUZZ_CHECK(c.min_chunk_size == drawn.min_chunk_size);
    if (c.slab_max_size != 0) {
        GPU_ALLOC_FUZZ_CHECK(is_pow2(c.slab_max_size) && is_pow2(c.slab_page_size));
        GPU_ALLOC_FUZZ_CHECK(c.slab_max_size >= SlabAllocator::min_slot_size);
        GPU_ALLOC_FUZZ_CHECK(c.slab_max_size <= c.slab_page_size && c.slab_page_size <= SlabAllocator::max_page_size);
    }
    GPU_ALLOC_FUZZ_CHECK((c.slab_max_size == 0) == (drawn.slab_max_size == 0));
    GPU_ALLOC_FUZZ_CHECK(is_pow2(c.buddy_min_block));
    if (is_pow2(drawn.buddy_min_block)) GPU_ALLOC_FUZZ_CHECK(c.buddy_min_block == drawn.buddy_min_block);
    GPU_ALLOC_FUZZ_CHECK(c.pool_shards >= 1 && c.pool_shards <= max_pool_shards);
    if (drawn.pool_shards >= 1 && drawn.pool_shards <= max_pool_shards)
        GPU_ALLOC_FUZZ_CHECK(c.pool_shards == drawn.pool_shards);
    GPU_ALLOC_FUZZ_CHECK(c.policy == drawn.policy && c.over_budget == drawn.over_budget);
    GPU_ALLOC_FUZZ_CHECK(c.spare_chunks == drawn.spare_chunks && c.track_blocks == drawn.track_blocks);
    GPU_ALLOC_FUZZ_CHECK(c.budget_refresh_interval == drawn.budget_refresh_interval);
}

Request make_request(FuzzInput& in, const DeviceProperties& p, const Config& config) {
    Request r;
    const std::uint8_t shape = in.byte();
    switch (shape % 32) {
        case 0: r.size = 0; break;
        case 1: r.size = p.max_memory_allocation_size + 1 + in.integer(2); break;  // wraps to small at 2^64 - 1
        case 2: r.size = u64_max - in.byte(); break;
        case 3: {  // next to 2^64 - 2^k: wraps when rounded to an atom or a page of 2^k or more
            const unsigned k = in.byte() % 17;
            r.size = plus(std::uint64_t{0} - (std::uint64_t{1} << k), nudge(in));
            break;
        }
        case 4: r.size = plus(std::uint64_t{1} << 63, nudge(in)); break;
        case 5: {
            const unsigned k = in.byte() % 64;
            r.size = plus(std::uint64_t{1} << k, nudge(in));
            break;
        }
        case 6: r.size = wide(in, 64); break;
        case 7: r.size = in.log_size(config.max_chunk_size); break;  // fills chunks of any size
        case 8: r.size = in.log_size(p.memory_heaps[in.byte() % 2].size); break;
        case 9: r.size = in.log_size(p.max_memory_allocation_size); break;
        case 10: case 11: {  // a few of these fill a chunk: blocks at large offsets
            const unsigned shift = 1 + in.byte() % 6;
            r.size = plus(config.max_chunk_size >> shift, nudge(in));
            break;
        }
        default: r.size = in.log_size(shape % 4 == 0 ? 32 * MiB : 1 * MiB); break;
    }
    const std::uint8_t align = in.byte();
    switch (align % 32) {
        case 0: r.alignment = 0; break;
        case 1: r.alignment = 3 + 2 * in.integer(1); break;
        case 2: r.alignment = std::uint64_t{1} << (26 + in.below(38)); break;  // past any small chunk
        case 3: r.alignment = std::uint64_t{1} << 63; break;
        case 4: r.alignment = std::uint64_t{1} << (in.byte() % 64); break;
        case 5: r.alignment = wide(in, 64); break;  // mostly not a power of two
        case 6: r.alignment = config.max_chunk_size << (in.byte() % 2); break;  // a chunk's size, or twice it
        default: r.alignment = in.power_of_two(16); break;
    }
    const std::uint8_t mask = in.byte();
    r.memory_types = mask % 4 == 0 ? static_cast<std::uint32_t>(in.integer(1)) << (mask % 8 == 0 ? 4 : 0)
                     : mask % 4 == 1 ? static_cast<std::uint32_t>(in.integer(4))
                                     : ~0u;
    const std::uint8_t usage = in.byte();  // device_address in one request of eight
    r.usage = static_cast<UsageFlags>(usage & 31) | (usage >= 224 ? UsageFlags::device_address : UsageFlags::none);
    r.kind = static_cast<ResourceKind>(in.below(3));
    const std::uint8_t dedicated = in.byte();
    r.dedicated = dedicated % 8 == 0 ? DedicatedHint::required : dedicated % 8 == 1 ? DedicatedHint::preferred
                                                                                  : DedicatedHint::none;
    r.priority = static_cast<float>(in.byte()) / 255.0f;
    r.name = "fuzz";
    return r;
}

/// The reason AllocatorCore::allocate must give, from the request and the
/// device alone, or none (the order of its checks).
InvalidRequest expected_invalid(const Request& r, const DeviceProperties& p) {
    if (r.size == 0) return InvalidRequest::zero_size;
    if (r.alignment == 0 || (r.alignment & (r.alignment - 1)) != 0) return InvalidRequest::alignment_not_power_of_two;
    if (r.size > p.max_memory_allocation_size) return InvalidRequest::size_too_large;
    if (r.alignment > p.max_memory_allocation_size) return InvalidRequest::alignment_too_large;
    if (contains(r.usage, UsageFlags::device_address) && !p.buffer_device_address)
        return InvalidRequest::device_address_unsupported;
    const std::uint32_t valid = p.memory_types.size() >= 32 ? ~0u : (1u << p.memory_types.size()) - 1;
    if ((r.memory_types & valid) == 0) return InvalidRequest::empty_memory_type_mask;
    return InvalidRequest::none;
}

/// The atom blocks of a memory type with `props` are placed on (1: none).
std::uint64_t atom_of(const DeviceProperties& p, MemoryPropertyFlags props) {
    return contains(props, MemoryPropertyFlags::host_visible) && !contains(props, MemoryPropertyFlags::host_coherent)
               ? p.non_coherent_atom_size
               : 1;
}

/// v rounded up to a multiple of `a` (a power of two); false when that wraps.
bool round_up(std::uint64_t& v, std::uint64_t a) {
    if (a <= 1) return true;
    if (v > u64_max - (a - 1)) return false;
    v = (v + a - 1) & ~(a - 1);
    return true;
}

/// Whether the request's size wraps when rounded to the atom of memory type `t`
/// and then, for images, to the granularity page.
bool size_wraps(const DeviceProperties& p, std::uint32_t t, const Request& r) {
    std::uint64_t size = r.size;
    if (!round_up(size, atom_of(p, p.memory_types[t].props))) return true;
    if (r.kind != ResourceKind::linear && !round_up(size, p.buffer_image_granularity)) return true;
    return false;
}

std::string describe(const Request& r) {
    std::ostringstream s;
    s << "size " << r.size << " alignment " << r.alignment << " types 0x" << std::hex << r.memory_types << std::dec
      << " usage " << to_string(r.usage) << " kind " << static_cast<int>(r.kind) << " dedicated "
      << static_cast<int>(r.dedicated);
    return s.str();
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
    Session(FuzzInput& in, const DeviceProperties& props, const Config& config,
            gpu_alloc::mock::MockDeviceOptions options)
        : in_(in), props_(props), selector_(props), device_(props, options), allocator_(props, config) {
        device_.set_misuse_handler([](const gpu_alloc::mock::MisuseReport& r) {
            std::fprintf(stderr, "mock device misuse: %s: %s\n", std::string(to_string(r.kind)).c_str(),
                         r.detail.c_str());
        });
        check_adjusted(config, allocator_.config());
        GPU_ALLOC_FUZZ_CHECK(allocator_.properties() == props);
        for (std::uint32_t h = 0; h < props.memory_heaps.size(); ++h)
            GPU_ALLOC_FUZZ_CHECK(allocator_.heap_budget(h).budget <= props.memory_heaps[h].size);
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
        const Request r = make_request(in_, props_, allocator_.config());
        const TotalCounters before = allocator_.totals();
        auto b = allocator_.allocate(device_, r);
        if (!b) return check_failure(r, b.error(), before);
        GPU_ALLOC_FUZZ_CHECK(expected_invalid(r, props_) == InvalidRequest::none);
        GPU_ALLOC_FUZZ_CHECK(b->holds_memory());
        GPU_ALLOC_FUZZ_CHECK(b->size() == r.size);
        GPU_ALLOC_FUZZ_CHECK(b->offset() % r.alignment == 0);
        GPU_ALLOC_FUZZ_CHECK(b->memory_type() < props_.memory_types.size());
        GPU_ALLOC_FUZZ_CHECK((r.memory_types >> b->memory_type()) & 1u);
        GPU_ALLOC_FUZZ_CHECK(MemoryTypeSelector::is_compatible(r.usage, props_.memory_types[b->memory_type()].props));
        GPU_ALLOC_FUZZ_CHECK(b->props() == props_.memory_types[b->memory_type()].props);
        GPU_ALLOC_FUZZ_CHECK(!size_wraps(props_, b->memory_type(), r));
        if (needs_host_access(r.usage)) GPU_ALLOC_FUZZ_CHECK(contains(b->props(), MemoryPropertyFlags::host_visible));
        // "preferred" may fall back to a sub-allocation when no dedicated object can be made.
        if (r.dedicated == DedicatedHint::required) GPU_ALLOC_FUZZ_CHECK(b->is_dedicated());
        if (b->is_dedicated()) {
            // One resource, an object of exactly its size.
            const auto info = device_.object_info(b->memory());
            GPU_ALLOC_FUZZ_CHECK(info.has_value() && info->size == r.size && b->offset() == 0);
        }
        Live l{std::move(*b), r.alignment, r.kind, next_tag_++, false};
        tag(l);
        live_.push_back(std::move(l));
    }

    /// A failed allocate: the error the request calls for, and nothing changed.
    ///
    /// From the request and the device alone (AllocatorCore::allocate's order):
    /// invalid_request zero_size, alignment_not_power_of_two, size_too_large,
    /// alignment_too_large, device_address_unsupported, empty_memory_type_mask;
    /// then no_compatible_memory_types exactly when no memory type of the mask
    /// suits the usage. Past those, each candidate type fails on its own: with
    /// size_too_large when the size wraps once rounded to that type's atom or
    /// the granularity page, else with a shortage (out of device or host
    /// memory, too many objects, over budget). The error returned is the first
    /// candidate's (or an over_budget under OverBudgetPolicy::fail), so: when
    /// every candidate wraps it must be size_too_large, when none does it must
    /// be a shortage, and in between either.
    void check_failure(const Request& r, const AllocationError& error, const TotalCounters& before) {
        const TotalCounters after = allocator_.totals();
        // "On error nothing changed" (gpu_allocator.hpp): no block, no byte, no object.
        const bool unchanged = after.device_objects == before.device_objects && after.block_count == before.block_count &&
                               after.requested_bytes == before.requested_bytes && after.used_bytes == before.used_bytes &&
                               after.reserved_bytes == before.reserved_bytes;
        bool wrapping = false, fitting = false;
        const InvalidRequest invalid = expected_invalid(r, props_);
        bool right = false;
        if (invalid != InvalidRequest::none) {
            right = error == AllocationError::invalid_request(invalid);
        } else {
            const MemoryTypeList& candidates = selector_.types_for(r.usage);
            for (std::uint32_t i = 0; i < candidates.count; ++i) {
                const std::uint32_t t = candidates.types[i];
                if (((r.memory_types >> t) & 1u) == 0) continue;
                (size_wraps(props_, t, r) ? wrapping : fitting) = true;
            }
            const bool shortage = error == AllocationErrorKind::out_of_device_memory ||
                                  error == AllocationErrorKind::out_of_host_memory ||
                                  error == AllocationErrorKind::too_many_objects ||
                                  error == AllocationErrorKind::over_budget;
            const bool too_large = error == AllocationError::invalid_request(InvalidRequest::size_too_large);
            if (!wrapping && !fitting) right = error == AllocationErrorKind::no_compatible_memory_types;
            else if (!fitting) right = too_large;
            else if (!wrapping) right = shortage && error.invalid == InvalidRequest::none;
            else right = too_large || (shortage && error.invalid == InvalidRequest::none);
        }
        if (!right || !unchanged)
            std::fprintf(stderr,
                         "failed allocate (%s) of %s: expected %s%s%s; device objects %llu -> %llu, blocks %llu -> %llu, "
                         "reserved %llu -> %llu\n",
                         std::string(to_string(error)).c_str(), describe(r).c_str(),
                         invalid != InvalidRequest::none ? std::string(to_string(invalid)).c_str() : "",
                         invalid == InvalidRequest::none && wrapping ? " size_too_large (wraps)" : "",
                         invalid == InvalidRequest::none && fitting ? " a shortage" : "",
                         static_cast<unsigned long long>(before.device_objects),
                         static_cast<unsigned long long>(after.device_objects),
                         static_cast<unsigned long long>(before.block_count),
                         static_cast<unsigned long long>(after.block_count),
                         static_cast<unsigned long long>(before.reserved_bytes),
                         static_cast<unsigned long long>(after.reserved_bytes));
        GPU_ALLOC_FUZZ_CHECK(right);
        GPU_ALLOC_FUZZ_CHECK(unchanged);
    }

    /// Whether the block's memory object may be mapped (the mock reserves all of it).
    bool mappable(const Block& b) const {
        const auto info = device_.object_info(b.memory());
        return info.has_value() && info->size <= max_mapped_object;
    }

    /// Writes the block's tag at its first bytes (host-visible blocks, when mapping works).
    void tag(Live& l) {
        if (!contains(l.block.props(), MemoryPropertyFlags::host_visible) || l.block.size() < sizeof(l.tag)) return;
        if (!mappable(l.block)) return;
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
        const bool host_visible = contains(l.block.props(), MemoryPropertyFlags::host_visible);
        const bool in_bounds = offset <= l.block.size() && size <= l.block.size() - offset;
        // A huge object is only asked for the errors found before any mapping.
        if (host_visible && !was_mapped && in_bounds && !mappable(l.block)) return;
        auto p = l.block.map(device_, offset, size);
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
        const std::uint8_t shape = in_.byte();
        const std::uint64_t heap_size = props_.memory_heaps[heap].size;
        const std::uint64_t bytes = shape % 8 == 0   ? u64_max
                                    : shape % 8 == 1 ? in_.log_size(heap_size)
                                    : shape % 8 == 2 ? heap_size - std::min<std::uint64_t>(heap_size, in_.below(4096))
                                                     : in_.below(heap_size / MiB + 1) * MiB;
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
        live_.push_back(Live{std::move(*b), 1, ResourceKind::linear, next_tag_++, false});
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
            // What the block occupies: whole atoms of non-coherent memory, whole
            // granularity pages for images; a dedicated object is all its own.
            std::uint64_t end = b.offset() + b.size();
            if (!b.is_dedicated()) {
                const std::uint64_t atom = atom_of(props_, b.props());
                GPU_ALLOC_FUZZ_CHECK(b.offset() % atom == 0 && round_up(end, atom));
                if (l.kind != ResourceKind::linear) {
                    GPU_ALLOC_FUZZ_CHECK(b.offset() % props_.buffer_image_granularity == 0);
                    GPU_ALLOC_FUZZ_CHECK(round_up(end, props_.buffer_image_granularity));
                }
                GPU_ALLOC_FUZZ_CHECK(end <= info->size);
            }
            auto& mine = ranges[b.memory().id];
            auto [it, fresh] = mine.emplace(b.offset(), end);
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
    MemoryTypeSelector selector_;
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
    const bool huge = in.byte() % 4 == 0;
    const DeviceProperties props = make_device(in, huge);
    const Config config = make_config(in, props, huge);
    gpu_alloc::mock::MockDeviceOptions options;
    const std::uint8_t flags = in.byte();
    options.report_budget = flags & 1;
    options.inject_host_oom = flags & 2;
    options.abort_on_misuse = true;
    Session session(in, props, config, options);
    session.run();
    return 0;
}
