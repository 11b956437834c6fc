// Our allocator as a user configures it: GpuAllocator<MockMemory> with
// Config::for_device(props) over the strict MockDevice of the device profile
// (its cost model attached, misuse recorded: the checked run fails on any).
// Thread-safe as GpuAllocator and MockDevice are: the threads mode shares one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/device_profile.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include "harness.hpp"

namespace peers {

class OursPeer {
public:
    using Memory = gpu_alloc::mock::MockMemory;
    using Handle = gpu_alloc::MemoryBlock<Memory>;

    explicit OursPeer(const gpu_alloc::mock::DeviceProfile& profile) : profile_(profile) {
        const auto n = profile.properties.memory_types.size();
        types_ = n >= 32 ? ~0u : (1u << n) - 1u;
    }

    bool start(const TraceSummary&) {
        device_ = std::make_unique<gpu_alloc::mock::MockDevice>(profile_.properties);
        device_->set_cost_model(profile_.cost);
        device_->set_misuse_handler({});
        allocator_ = std::make_unique<gpu_alloc::GpuAllocator<Memory>>(
            profile_.properties, gpu_alloc::Config::for_device(profile_.properties));
        return true;
    }

    bool allocate(const TraceOp& op, Handle& h) noexcept {
        gpu_alloc::Request r;
        r.size = op.size;
        r.alignment = op.alignment;
        r.memory_types = types_;
        r.usage = op.usage;
        r.kind = op.kind;
        auto block = allocator_->allocate(*device_, r);
        if (!block) return false;
        h = std::move(*block);
        return true;
    }

    void free(Handle& h) noexcept { allocator_->deallocate(*device_, std::move(h)); }

    void cleanup() { allocator_->cleanup(*device_); }

    Counters counters() const {
        Counters c;
        const auto calls = device_->calls();
        c.device_allocations = calls.allocate - calls.allocate_failed;
        c.live_objects = device_->live_object_count();
        c.peak_objects = device_->peak_live_object_count();
        for (std::uint32_t h = 0; h < profile_.properties.memory_heaps.size(); ++h) c.live_bytes += device_->live_bytes(h);
        return c;
    }

    Placed placed(const Handle& h) const {
        Placed p;
        p.object = h.memory().id;
        const auto info = device_->object_info(h.memory());
        p.object_size = info ? info->size : 0;
        p.offset = h.offset();
        p.size = h.size();
        return p;
    }

    /// The profile's modeled driver time of the memory objects created and destroyed so far.
    double modeled_device_us() const { return device_->modeled_device_us(); }

    /// What the strict device reported (checked run only).
    std::vector<std::string> extra_problems() const {
        std::vector<std::string> out;
        for (const auto& r : device_->misuse_reports())
            out.push_back("device misuse: " + std::string(gpu_alloc::mock::to_string(r.kind)) + ": " + r.detail);
        const Counters c = counters();
        if (c.live_objects != 0)
            out.push_back(std::to_string(c.live_objects) + " memory objects live after every block was given back and cleanup");
        return out;
    }

    void stop() {
        allocator_.reset();
        device_.reset();
    }

private:
    const gpu_alloc::mock::DeviceProfile& profile_;
    std::uint32_t types_ = 0;
    std::unique_ptr<gpu_alloc::mock::MockDevice> device_;
    std::unique_ptr<gpu_alloc::GpuAllocator<Memory>> allocator_;
};

}  // namespace peers
