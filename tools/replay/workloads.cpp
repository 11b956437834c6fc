// gen_traces.py, statement for statement: TraceWriter, Rng, LiveSet and the
// four workload functions keep their Python names and order of random draws.
#include "workloads.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "python_compat.hpp"

namespace gpu_alloc::replay {

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

void append_u64(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

// gen_traces.py's TraceWriter: emits lines, tracks the live set and the stats.
class TraceWriter {
public:
    TraceWriter(std::string& out, std::string_view workload, std::int64_t seed, double scale) : out_(out) {
        out_ += "gpu-alloc-trace 1\n# workload=";
        out_ += workload;
        out_ += " seed=" + std::to_string(seed) + " scale=" + python_float_repr(scale) +
                " generator=gpu-alloc-replay\n";
        sizes_.push_back(0);  // IDs start at 1
    }

    void comment(std::string_view text) {
        out_ += "# ";
        out_ += text;
        out_ += '\n';
    }

    std::uint64_t alloc(std::uint64_t size, std::uint64_t align, std::string_view kind, std::string_view usage) {
        const std::uint64_t id = sizes_.size();
        out_ += "a ";
        append_u64(out_, id);
        out_ += ' ';
        append_u64(out_, size);
        out_ += ' ';
        append_u64(out_, align);
        out_ += ' ';
        out_ += kind;
        out_ += ' ';
        out_ += usage;
        out_ += '\n';
        sizes_.push_back(size);
        ++live_;
        live_bytes_ += size;
        ++stats_.allocs;
        stats_.total_alloc_bytes += size;
        if (live_ > stats_.peak_live) stats_.peak_live = live_;
        if (live_bytes_ > stats_.peak_live_bytes) stats_.peak_live_bytes = live_bytes_;
        return id;
    }

    void free(std::uint64_t id) {
        out_ += "f ";
        append_u64(out_, id);
        out_ += '\n';
        live_bytes_ -= sizes_[id];
        sizes_[id] = 0;  // sizes are never 0, so 0 marks "not live"
        --live_;
        ++stats_.frees;
    }

    void frame() {
        out_ += "frame\n";
        ++stats_.frames;
    }

    std::uint64_t live() const noexcept { return live_; }

    // Frees everything still live (in ID order) and writes the stats line.
    TraceSummary close() {
        if (live_ > 0) {
            comment("teardown: free everything still live");
            for (std::uint64_t id = 1; id < sizes_.size(); ++id)
                if (sizes_[id] != 0) free(id);
        }
        comment("stats allocs=" + std::to_string(stats_.allocs) + " frees=" + std::to_string(stats_.frees) +
                " ops=" + std::to_string(stats_.allocs + stats_.frees) + " frames=" + std::to_string(stats_.frames) +
                " peak_live=" + std::to_string(stats_.peak_live) +
                " peak_live_bytes=" + std::to_string(stats_.peak_live_bytes) +
                " total_alloc_bytes=" + std::to_string(stats_.total_alloc_bytes));
        return stats_;
    }

private:
    std::string& out_;
    std::vector<std::uint64_t> sizes_;  // by ID; 0 when not live
    std::uint64_t live_ = 0;
    std::uint64_t live_bytes_ = 0;
    TraceSummary stats_;
};

// gen_traces.py's Rng: everything derived from random() only.
class Rng {
public:
    Rng(std::int64_t seed, std::string_view workload)
        : random_(std::to_string(seed) + ":" + std::string(workload)) {}

    double uniform01() noexcept { return random_.random(); }

    std::uint64_t below(std::uint64_t n) noexcept {
        const auto v = static_cast<std::uint64_t>(random_.random() * static_cast<double>(n));
        return v < n - 1 ? v : n - 1;
    }

    std::uint64_t int_between(std::uint64_t lo, std::uint64_t hi) noexcept { return lo + below(hi - lo + 1); }

    std::uint64_t log_uniform(std::uint64_t lo, std::uint64_t hi) noexcept {
        const double log_lo = std::log(static_cast<double>(lo));
        const double r = random_.random();
        const double v = std::exp(log_lo + r * (std::log(static_cast<double>(hi)) - log_lo));
        const double rounded = python_round(v);
        if (rounded <= static_cast<double>(lo)) return lo;
        if (rounded >= static_cast<double>(hi)) return hi;
        return static_cast<std::uint64_t>(rounded);
    }

    bool chance(double p) noexcept { return random_.random() < p; }

    template <class T>
    void shuffle(std::vector<T>& items) noexcept {
        for (std::size_t i = items.size() - 1; i > 0; --i) {
            const std::size_t j = below(i + 1);
            std::swap(items[i], items[j]);
        }
    }

private:
    PythonRandom random_;
};

// gen_traces.py's LiveSet: O(1) add and O(1) random removal (swap with last).
class LiveSet {
public:
    std::size_t size() const noexcept { return ids_.size(); }

    void add(std::uint64_t id) {
        if (id >= position_.size()) position_.resize(id + 1, 0);
        position_[id] = ids_.size();
        ids_.push_back(id);
    }

    void remove(std::uint64_t id) noexcept {
        const std::size_t i = position_[id];
        const std::uint64_t last = ids_.back();
        ids_.pop_back();
        if (last != id) {
            ids_[i] = last;
            position_[last] = i;
        }
    }

    std::uint64_t pop_random(Rng& rng) noexcept {
        const std::uint64_t id = ids_[rng.below(ids_.size())];
        remove(id);
        return id;
    }

private:
    std::vector<std::uint64_t> ids_;
    std::vector<std::size_t> position_;  // by ID
};

std::uint64_t scaled(std::uint64_t n, double scale) noexcept {
    const double v = python_round(static_cast<double>(n) * scale);
    return v < 1.0 ? 1 : static_cast<std::uint64_t>(v);
}

struct Alloc {
    std::uint64_t size;
    std::uint64_t align;
    std::string_view kind;
    std::string_view usage;
};

template <class MakeAlloc>
void steady_state(TraceWriter& w, Rng& rng, std::uint64_t total_ops, std::uint64_t target, MakeAlloc make_alloc) {
    LiveSet live;
    bool growing = true;
    for (std::uint64_t op = 0; op < total_ops; ++op) {
        const std::uint64_t n = live.size();
        if (growing && n >= target) growing = false;
        bool do_alloc = true;
        if (!growing) {
            double p_alloc = 0.5 + 0.5 * (static_cast<double>(target) - static_cast<double>(n)) /
                                       static_cast<double>(target);
            p_alloc = p_alloc < 0.0 ? 0.0 : (p_alloc > 1.0 ? 1.0 : p_alloc);
            do_alloc = n == 0 || rng.chance(p_alloc);
        }
        if (do_alloc) {
            const Alloc a = make_alloc();
            live.add(w.alloc(a.size, a.align, a.kind, a.usage));
        } else {
            w.free(live.pop_random(rng));
        }
    }
}

void gen_churn(TraceWriter& w, Rng& rng, double scale) {
    const std::uint64_t total_ops = scaled(1'000'000, scale);
    const std::uint64_t target = scaled(20'000, scale);
    w.comment("churn: ops=" + std::to_string(total_ops) + " live_target=" + std::to_string(target));
    steady_state(w, rng, total_ops, target, [&rng] {
        Alloc a{};
        if (rng.chance(0.8)) a = {rng.log_uniform(256, 4 * MiB), 256, "buf", {}};
        else a = {rng.log_uniform(64 * KiB, 32 * MiB), 65536, "img", {}};
        const double u = rng.uniform01();
        a.usage = u < 0.85 ? "device" : (u < 0.95 ? "upload" : "download");
        return a;
    });
}

void gen_small(TraceWriter& w, Rng& rng, double scale) {
    const std::uint64_t total_ops = scaled(1'000'000, scale);
    const std::uint64_t target = scaled(100'000, scale);
    w.comment("small: ops=" + std::to_string(total_ops) + " live_target=" + std::to_string(target));
    steady_state(w, rng, total_ops, target, [&rng] {
        const std::uint64_t size = rng.int_between(16, 4 * KiB);
        constexpr std::uint64_t aligns[] = {16, 64, 256};
        const std::uint64_t align = aligns[rng.below(3)];
        const std::string_view usage = rng.chance(0.5) ? "device" : "upload";
        return Alloc{size, align, "buf", usage};
    });
}

void gen_frames(TraceWriter& w, Rng& rng, double scale) {
    const std::uint64_t frames = scaled(2'000, scale);
    const std::uint64_t long_target = scaled(5'000, scale);
    constexpr std::size_t transients_per_frame = 500;
    constexpr std::size_t long_per_frame = 10;
    w.comment("frames: frames=" + std::to_string(frames) + " long_lived_target=" + std::to_string(long_target) +
              " transients_per_frame=" + std::to_string(transients_per_frame) +
              " long_lived_per_frame=" + std::to_string(long_per_frame));
    auto long_lived = [&] { return w.alloc(rng.log_uniform(4 * KiB, 8 * MiB), 256, "buf", "device"); };

    LiveSet long_live;
    w.comment("level load");
    for (std::uint64_t i = 0; i < long_target; ++i) long_live.add(long_lived());

    std::vector<std::size_t> slots(transients_per_frame);
    std::vector<bool> long_slot(transients_per_frame);
    std::vector<std::uint64_t> transients;
    transients.reserve(transients_per_frame);
    for (std::uint64_t frame = 0; frame < frames; ++frame) {
        for (std::size_t i = 0; i < transients_per_frame; ++i) slots[i] = i;
        rng.shuffle(slots);
        std::fill(long_slot.begin(), long_slot.end(), false);
        for (std::size_t i = 0; i < long_per_frame; ++i) long_slot[slots[i]] = true;
        transients.clear();
        for (std::size_t i = 0; i < transients_per_frame; ++i) {
            transients.push_back(w.alloc(rng.log_uniform(64, 256 * KiB), 256, "buf", "upload|transient"));
            if (long_slot[i]) {
                long_live.add(long_lived());
                if (long_live.size() > long_target) w.free(long_live.pop_random(rng));
            }
        }
        for (std::uint64_t id : transients) w.free(id);
        w.frame();
    }
}

void gen_streaming(TraceWriter& w, Rng& rng, double scale) {
    constexpr int waves = 50;
    const std::uint64_t loads_per_wave = scaled(2'000, scale);
    w.comment("streaming: waves=" + std::to_string(waves) + " loads_per_wave=" + std::to_string(loads_per_wave));
    std::vector<std::uint64_t> resident;
    for (int wave = 0; wave < waves; ++wave) {
        for (std::uint64_t i = 0; i < loads_per_wave; ++i)
            resident.push_back(w.alloc(rng.log_uniform(4 * KiB, 64 * MiB), 65536, "img", "device"));
        rng.shuffle(resident);
        const std::size_t unload = resident.size() / 2;
        for (std::size_t i = 0; i < unload; ++i) w.free(resident[i]);
        resident.erase(resident.begin(), resident.begin() + static_cast<std::ptrdiff_t>(unload));
        w.comment("end of wave " + std::to_string(wave) + ": resident=" + std::to_string(resident.size()));
    }
}

}  // namespace

bool is_workload(std::string_view name) noexcept {
    for (std::string_view w : workload_names)
        if (w == name) return true;
    return false;
}

TraceSummary generate_workload(std::string_view name, std::int64_t seed, double scale, std::string& out) {
    TraceWriter w(out, name, seed, scale);
    Rng rng(seed, name);
    if (name == "churn") gen_churn(w, rng, scale);
    else if (name == "frames") gen_frames(w, rng, scale);
    else if (name == "streaming") gen_streaming(w, rng, scale);
    else if (name == "small") gen_small(w, rng, scale);
    return w.close();
}

Result<std::vector<GeneratedTrace>, std::string> write_workloads(const std::string& dir,
                                                                 std::span<const std::string> names,
                                                                 std::int64_t seed, double scale) {
    for (const std::string& name : names)
        if (!is_workload(name)) return unexpected("unknown workload '" + name + "' (churn, frames, streaming, small)");
    if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST)
        return unexpected("cannot create " + dir + ": " + std::strerror(errno));
    std::vector<GeneratedTrace> written;
    std::string text;
    for (const std::string& name : names) {
        text.clear();
        GeneratedTrace g;
        g.summary = generate_workload(name, seed, scale, text);
        g.path = dir + "/" + name + ".trace";
        g.bytes = text.size();
        std::FILE* file = std::fopen(g.path.c_str(), "wb");
        if (file == nullptr) return unexpected("cannot write " + g.path + ": " + std::strerror(errno));
        const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
        const bool closed = std::fclose(file) == 0;
        if (!ok || !closed) return unexpected("cannot write " + g.path + ": " + std::strerror(errno));
        written.push_back(std::move(g));
    }
    return written;
}

}  // namespace gpu_alloc::replay
