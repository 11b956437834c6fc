// The driver cost model of a device profile (device_profile.hpp): no JSON here,
// so the mock device needs nothing but the types package.
#include <gpu_alloc/mock/device_profile.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <utility>

namespace gpu_alloc::mock {
namespace detail {
namespace {

// -- Cost model helpers ------------------------------------------------------------

// Into [0, max_cost_us]; NaN -> 0. Every cost the model answers goes through here.
double bounded(double us) noexcept {
    if (!(us > 0.0)) return 0.0;  // NaN, negative, zero
    return std::min(us, CostModel::max_cost_us);
}

double evaluate(const std::vector<CostPoint>& curve, std::uint64_t size) noexcept {
    if (curve.empty()) return 0.0;
    if (size <= curve.front().size) return curve.front().us;
    const CostPoint& last = curve.back();
    // Points are within max_cost_us and the size ratio below 2^64: the product
    // is finite (at most ~2e49) and then bounded.
    if (size >= last.size) return bounded(last.us * (static_cast<double>(size) / static_cast<double>(last.size)));
    auto upper = std::upper_bound(curve.begin(), curve.end(), size,
                                  [](std::uint64_t s, const CostPoint& p) { return s < p.size; });
    const CostPoint& hi = *upper;
    const CostPoint& lo = *(upper - 1);
    const double t = static_cast<double>(size - lo.size) / static_cast<double>(hi.size - lo.size);
    return bounded(lo.us + t * (hi.us - lo.us));
}

// For each type, the measured type it takes its curve from (itself when measured),
// or -1 when nothing was measured. The rule is documented on CostModel.
std::vector<int> resolve_sources(const DeviceProperties& props, const std::vector<std::vector<CostPoint>>& measured) {
    const std::size_t n = props.memory_types.size();
    std::vector<int> sources(n, -1);
    for (std::size_t t = 0; t < n; ++t) {
        if (t < measured.size() && !measured[t].empty()) {
            sources[t] = static_cast<int>(t);
            continue;
        }
        const MemoryType& type = props.memory_types[t];
        int best = -1;
        int best_distance = std::numeric_limits<int>::max();
        bool best_same_heap = false;
        for (std::size_t c = 0; c < n && c < measured.size(); ++c) {
            if (measured[c].empty()) continue;
            const MemoryType& candidate = props.memory_types[c];
            const bool same_heap = candidate.heap == type.heap;
            const int distance = std::popcount(static_cast<std::uint32_t>(candidate.props ^ type.props));
            const bool better = best < 0 || (same_heap && !best_same_heap) ||
                                (same_heap == best_same_heap && distance < best_distance);
            if (better) {
                best = static_cast<int>(c);
                best_distance = distance;
                best_same_heap = same_heap;
            }
        }
        sources[t] = best;
    }
    return sources;
}

bool any_measured(const std::vector<std::vector<CostPoint>>& measured) {
    return std::any_of(measured.begin(), measured.end(), [](const auto& v) { return !v.empty(); });
}

}  // namespace
}  // namespace detail


// -- CostModel -------------------------------------------------------------------------

CostModel CostModel::from_measurements(const DeviceProperties& props, std::vector<std::vector<CostPoint>> allocate,
                                       std::vector<std::vector<CostPoint>> free) {
    CostModel model;
    const std::size_t n = props.memory_types.size();
    allocate.resize(std::max(allocate.size(), n));
    free.resize(std::max(free.size(), n));
    for (auto* table : {&allocate, &free})
        for (auto& curve : *table)
            for (CostPoint& p : curve) p.us = detail::bounded(p.us);
    auto by_size = [](const CostPoint& a, const CostPoint& b) { return a.size < b.size; };
    for (auto& curve : allocate) std::sort(curve.begin(), curve.end(), by_size);
    for (auto& curve : free) std::sort(curve.begin(), curve.end(), by_size);

    if (detail::any_measured(allocate)) {
        model.allocate_source_ = detail::resolve_sources(props, allocate);
        model.allocate_curves_.resize(n);
        for (std::size_t t = 0; t < n; ++t)
            model.allocate_curves_[t] = allocate[static_cast<std::size_t>(model.allocate_source_[t])];
    } else {
        model.allocate_source_.assign(n, -1);
    }
    if (!detail::any_measured(free)) return model;

    // The ratio free / allocate, averaged over the free points of types measured
    // both ways. One ratio over a tiny allocate cost can be huge (1 / 1e-320 is
    // inf): each is bounded, and the mean is kept as a running mean, which
    // cannot overflow.
    double ratio_mean = 0.0;
    std::size_t ratio_count = 0;
    for (std::size_t t = 0; t < n; ++t) {
        if (free[t].empty() || allocate[t].empty()) continue;
        for (const CostPoint& p : free[t]) {
            const double a = detail::evaluate(allocate[t], p.size);
            if (a <= 0.0) continue;
            const double ratio = detail::bounded(p.us / a);
            ++ratio_count;
            ratio_mean += (ratio - ratio_mean) / static_cast<double>(ratio_count);
        }
    }
    const bool have_ratio = ratio_count > 0;
    if (have_ratio) model.free_ratio_ = detail::bounded(ratio_mean);

    const std::vector<int> free_sources = detail::resolve_sources(props, free);
    model.free_curves_.resize(n);
    model.free_from_allocate_.assign(n, false);
    for (std::size_t t = 0; t < n; ++t) {
        if (!free[t].empty()) {
            model.free_curves_[t] = free[t];
        } else if (have_ratio) {
            model.free_from_allocate_[t] = true;
        } else {
            model.free_curves_[t] = free[static_cast<std::size_t>(free_sources[t])];
        }
    }
    return model;
}

double CostModel::allocate_us(std::uint32_t memory_type, std::uint64_t size) const noexcept {
    if (memory_type >= allocate_curves_.size()) return 0.0;
    return detail::evaluate(allocate_curves_[memory_type], size);
}

double CostModel::free_us(std::uint32_t memory_type, std::uint64_t size) const noexcept {
    if (memory_type >= free_curves_.size()) return 0.0;
    if (free_from_allocate_[memory_type]) return detail::bounded(allocate_us(memory_type, size) * free_ratio_);
    return detail::evaluate(free_curves_[memory_type], size);
}

int CostModel::allocate_source(std::uint32_t memory_type) const noexcept {
    if (memory_type >= allocate_source_.size()) return -1;
    return allocate_source_[memory_type];
}

}  // namespace gpu_alloc::mock
