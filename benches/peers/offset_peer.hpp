// sebbbi's OffsetAllocator, the bare-algorithm reference: one allocator over
// one virtual range of 2^31 units of 256 bytes (512 GiB, never backed), no
// memory types, no device objects, no lock. A request takes
// ceil((size + max(0, alignment - 256)) / 256) units and its offset is rounded
// up to the alignment inside them, as a user of a unit-granular allocator does.
// Node capacity: 4 x the trace's peak live count (at least the default 128 Ki).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>

#include "harness.hpp"
#include "offsetAllocator.hpp"

namespace peers {

class OffsetPeer {
public:
    static constexpr std::uint64_t unit = 256;
    static constexpr std::uint32_t units = 1u << 31;

    struct Handle {
        OffsetAllocator::Allocation allocation;
        std::uint64_t offset = 0;  ///< bytes, aligned
    };

    bool start(const TraceSummary& summary) {
        const std::uint64_t nodes = std::max<std::uint64_t>(128 * 1024, 4 * summary.peak_live + 1024);
        allocator_ = std::make_unique<OffsetAllocator::Allocator>(units, static_cast<std::uint32_t>(nodes));
        return true;
    }

    bool allocate(const TraceOp& op, Handle& h) noexcept {
        const std::uint64_t pad = op.alignment > unit ? op.alignment - unit : 0;
        const std::uint64_t n = (op.size + pad + unit - 1) / unit;
        if (n >= units) return false;
        const OffsetAllocator::Allocation a = allocator_->allocate(static_cast<std::uint32_t>(n));
        if (a.offset == OffsetAllocator::Allocation::NO_SPACE) return false;
        h.allocation = a;
        const std::uint64_t mask = op.alignment - 1;
        h.offset = (static_cast<std::uint64_t>(a.offset) * unit + mask) & ~mask;
        return true;
    }

    void free(Handle& h) noexcept { allocator_->free(h.allocation); }
    void cleanup() {}
    Counters counters() const { return {}; }
    Placed placed(const Handle& h) const {
        return {1, std::uint64_t{units} * unit, h.offset,
                static_cast<std::uint64_t>(allocator_->allocationSize(h.allocation)) * unit};
    }
    void stop() { allocator_.reset(); }

private:
    std::unique_ptr<OffsetAllocator::Allocator> allocator_;
};

}  // namespace peers
