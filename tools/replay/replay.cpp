// The non-template parts of the replay: the median and the policy names.
#include "replay.hpp"

#include <algorithm>

namespace gpu_alloc::replay {

double median(std::vector<double> values) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

Config config_for(const DeviceProperties& props, StrategyPolicy policy) noexcept {
    Config config = Config::for_device(props);
    config.policy = policy;
    return config;
}

namespace {
struct PolicyName {
    std::string_view name;
    StrategyPolicy policy;
};
constexpr PolicyName policy_names[] = {
    {"default", StrategyPolicy::automatic}, {"buddy", StrategyPolicy::buddy},
    {"free-list", StrategyPolicy::free_list}, {"slab", StrategyPolicy::slab},
    {"dedicated", StrategyPolicy::dedicated},
};
}  // namespace

std::string_view policy_name(StrategyPolicy policy) noexcept {
    for (const PolicyName& p : policy_names)
        if (p.policy == policy) return p.name;
    return "unknown";
}

bool parse_policy(std::string_view name, StrategyPolicy& policy) noexcept {
    for (const PolicyName& p : policy_names) {
        if (p.name == name) {
            policy = p.policy;
            return true;
        }
    }
    return false;
}

}  // namespace gpu_alloc::replay
