// The Rust gpu-alloc 0.6 (Config::i_am_prototyping, alloc/dealloc with no
// lock) through its C ABI (rust/peer_rs.h), over the Rust-side mock device
// with the profile's memory layout. Single-threaded: not in the threads mode.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <gpu_alloc/mock/device_profile.hpp>

#include "harness.hpp"
#include "peer_rs.h"

namespace peers {

static_assert(rust_block_bytes == peer_rs_block_storage);

class RustPeer {
public:
    struct Handle {
        alignas(8) unsigned char bytes[peer_rs_block_storage];
    };

    explicit RustPeer(const gpu_alloc::mock::DeviceProfile& profile) : props_(profile.properties), cost_(profile.cost) {
        const auto n = props_.memory_types.size();
        types_ = n >= 32 ? ~0u : (1u << n) - 1u;
        // Our UsageFlags bits -> gpu-alloc 0.6's (upload and download swap places).
        for (std::uint32_t u = 0; u < usage_.size(); ++u) {
            std::uint32_t r = 0;
            if (u & 1u) r |= 0x01;   // fast_device_access -> FAST_DEVICE_ACCESS
            if (u & 2u) r |= 0x02;   // host_access -> HOST_ACCESS
            if (u & 4u) r |= 0x08;   // upload -> UPLOAD
            if (u & 8u) r |= 0x04;   // download -> DOWNLOAD
            if (u & 16u) r |= 0x10;  // transient -> TRANSIENT
            if (u & 32u) r |= 0x20;  // device_address -> DEVICE_ADDRESS
            usage_[u] = r;
        }
    }

    bool start(const TraceSummary&) {
        std::vector<std::uint64_t> heaps;
        for (const auto& h : props_.memory_heaps) heaps.push_back(h.size);
        std::vector<PeerRsMemoryType> types;
        for (const auto& t : props_.memory_types) types.push_back({t.heap, static_cast<std::uint32_t>(t.props)});
        rs_ = peer_rs_create(heaps.data(), static_cast<std::uint32_t>(heaps.size()), types.data(),
                             static_cast<std::uint32_t>(types.size()), props_.max_memory_allocation_count,
                             props_.max_memory_allocation_size, props_.non_coherent_atom_size,
                             props_.buffer_device_address ? 1 : 0);
        return rs_ != nullptr;
    }

    bool allocate(const TraceOp& op, Handle& h) noexcept {
        return peer_rs_alloc(rs_, op.size, op.alignment - 1, usage_[static_cast<std::uint32_t>(op.usage) & 63u],
                             types_, h.bytes) == 0;
    }
    void free(Handle& h) noexcept { peer_rs_dealloc(rs_, h.bytes); }
    void cleanup() { peer_rs_cleanup(rs_); }
    Counters counters() const {
        const PeerRsCounters c = peer_rs_counters(rs_);
        return {c.device_allocations, c.live_objects, c.peak_objects, c.live_bytes};
    }
    Placed placed(const Handle& h) const {
        Placed p;
        peer_rs_block_info(h.bytes, &p.object, &p.offset, &p.size);
        p.object_size = peer_rs_object_size(rs_, p.object);
        return p;
    }
    /// The profile's modeled driver time of every memory object created and destroyed so far.
    double modeled_device_us() const {
        double us = 0;
        const std::uint64_t n = peer_rs_object_count(rs_);
        for (std::uint64_t i = 0; i < n; ++i) {
            std::uint64_t size = 0;
            std::uint32_t type = 0;
            const bool live = peer_rs_object(rs_, i, &size, &type) != 0;
            us += cost_.allocate_us(type, size) + (live ? 0.0 : cost_.free_us(type, size));
        }
        return us;
    }
    void stop() {
        peer_rs_destroy(rs_);
        rs_ = nullptr;
    }

private:
    gpu_alloc::DeviceProperties props_;
    gpu_alloc::mock::CostModel cost_;
    std::uint32_t types_ = 0;
    std::array<std::uint32_t, 64> usage_{};
    PeerRs* rs_ = nullptr;
};

}  // namespace peers
