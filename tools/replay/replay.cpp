// The non-template parts of the replay: the baseline loop (compiled once, so
// that its code does not depend on what the allocator's loop inlines), the
// median, and the policy names.
#include "replay.hpp"

#include <algorithm>

namespace gpu_alloc::replay {

double baseline_timed(const Trace& trace) {
    IdTable<std::uint64_t> map(trace.summary.peak_live);
    const TraceOp* op = trace.ops.data();
    const TraceOp* const end = op + trace.ops.size();
    std::uint64_t checksum = 0;

    const double start = detail::thread_cpu_ns();
    for (; op != end; ++op) {
        if (op->code == OpCode::allocate) {
            map.try_emplace(op->id, op->size);
        } else if (auto size = map.take(op->id)) {
            checksum += *size;
        }
    }
    const double stop = detail::thread_cpu_ns();
    // Keeps the loop's results observable, so that nothing in it is optimized away.
    volatile std::uint64_t sink = checksum + map.size();
    (void)sink;
    return stop - start;
}

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
