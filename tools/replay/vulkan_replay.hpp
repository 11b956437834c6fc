// gpu-alloc-replay --vulkan: the same replay on a real Vulkan device (lavapipe,
// an NVIDIA H100, ...) through the Vulkan adapter, instead of the mock.
//
// It creates its own instance and device through the system loader: Vulkan
// 1.1 or later (up to 1.3), the first device whose name contains
// GPU_ALLOC_VK_DEVICE when that is set, otherwise discrete > integrated >
// virtual > CPU; VK_EXT_memory_budget and bufferDeviceAddress are enabled when
// offered. No validation layer: this is a benchmark (the adapter's own tests
// run under the layer). Built with AddressSanitizer, it keeps the libraries the
// loader opened for the instance loaded until the process exits, so that
// LeakSanitizer sees the driver's own allocations as reachable (see
// vulkan_replay.cpp).
//
// What differs from the mock: the device's real vkAllocateMemory/vkFreeMemory
// run inside the timed loop (that is their real cost, so the loops are timed
// by wall clock, Clock::wall, not thread CPU time), modeled_device_ms is 0
// (there is no model, the time is real), and the invariant "every block lies
// inside its memory object" is not checked (the driver does not report object
// sizes); every other invariant is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <gpu_alloc/snapshot.hpp>
#include <gpu_alloc/types/properties.hpp>
#include <gpu_alloc/types/result.hpp>

#include "replay.hpp"
#include "trace.hpp"

namespace gpu_alloc::replay {

/// A Vulkan instance and device opened for replaying traces.
class VulkanReplayDevice {
public:
    /// Opens the device (see the file comment).
    /// Errors: a message naming the step that failed (no loader, no device, ...).
    static Result<std::unique_ptr<VulkanReplayDevice>, std::string> open();

    VulkanReplayDevice(const VulkanReplayDevice&) = delete;
    VulkanReplayDevice& operator=(const VulkanReplayDevice&) = delete;
    /// Destroys the device and the instance.
    ~VulkanReplayDevice();

    /// "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3)".
    const std::string& name() const noexcept;
    /// The memory properties read through the adapter.
    const DeviceProperties& properties() const noexcept;

    /// The checked run and `runs` timed runs on the device.
    TraceMeasurement measure(const Trace& trace, StrategyPolicy policy, unsigned runs);
    /// The allocator's snapshot after trace.ops[0 .. last_op] (blocks tracked).
    AllocatorSnapshot snapshot(const Trace& trace, StrategyPolicy policy, std::uint64_t last_op);

    struct State;

private:
    explicit VulkanReplayDevice(std::unique_ptr<State> state) noexcept;
    std::unique_ptr<State> state_;
};

}  // namespace gpu_alloc::replay
