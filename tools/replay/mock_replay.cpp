// Mock-device replay and the default profile's location.
#include "mock_replay.hpp"

#include <unistd.h>

#include <climits>
#include <cstdio>

#include <gpu_alloc/mock/mock_device.hpp>

namespace gpu_alloc::replay {

namespace {

void configure(mock::MockDevice& device, const mock::DeviceProfile& profile) {
    device.set_cost_model(profile.cost);
    device.set_misuse_handler({});  // recorded; replay_checked turns reports into violations
}

bool readable(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    std::fclose(f);
    return true;
}

}  // namespace

TraceMeasurement measure_on_mock(const Trace& trace, const mock::DeviceProfile& profile, StrategyPolicy policy,
                                 unsigned runs) {
    mock::MockDevice device(profile.properties);
    configure(device, profile);
    return measure_trace(device, trace, profile.properties, config_for(profile.properties, policy), runs);
}

AllocatorSnapshot snapshot_on_mock(const Trace& trace, const mock::DeviceProfile& profile, StrategyPolicy policy,
                                   std::uint64_t last_op) {
    mock::MockDevice device(profile.properties);
    configure(device, profile);
    return snapshot_after(device, trace, profile.properties, config_for(profile.properties, policy), last_op);
}

std::string default_profile_path() {
    constexpr const char* file = "nvidia-h100-vulkan.json";
    char exe[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        std::string dir(exe, static_cast<std::size_t>(n));
        dir = dir.substr(0, dir.find_last_of('/'));  // <prefix>/bin
        const std::string installed = dir + "/../share/gpu_alloc/profiles/" + file;
        if (readable(installed)) return installed;
    }
    return std::string(GPU_ALLOC_REPLAY_PROFILE_DIR) + "/" + file;
}

}  // namespace gpu_alloc::replay
