// peers_bench: the project's trace files replayed, in one loop with one
// ID-to-handle map, in one run, through the map alone (the baseline), our
// allocator, VMA, OffsetAllocator and the Rust gpu-alloc 0.6 (each where it was
// built), with an untimed placement check of every allocator and, on request,
// the threads comparison. docs/peers.md has the method and the figures.
//
// usage: peers_bench [options] [--traces DIR] [TRACE...]
//   --traces DIR      DIR/churn.trace, frames, streaming, small (gpu-alloc-replay --generate DIR)
//   --reps N          interleaved repetitions (default 5)
//   --pin CPU         pin the single-thread comparison to CPU (sched_setaffinity)
//   --clock cpu|wall  the single-thread clock: the thread's CPU time (default) or wall time
//   --only LIST       allocators of the comparison among ours,vma,rust,offset (the baseline always runs)
//   --threads LIST    also the threads comparison for these thread counts, e.g. 1,2,4,8
//   --threads-only    only the threads comparison (no placement check, no single-thread table)
//   --threads-reps N  repetitions of the threads comparison (default: --reps)
//   --profile PATH    device profile (default: the project's nvidia-h100-vulkan.json)
//   --self-test       check that the placement check catches overlap, misalignment and
//                     blocks outside their object, then exit
// Exit status: 0; 1 when a placement check failed; 2 for a bad command line or input.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gpu_alloc/mock/device_profile.hpp>

#include "harness.hpp"
#include "mock_replay.hpp"
#include "ours.hpp"
#include "trace.hpp"
#include "workloads.hpp"
#if GPU_ALLOC_PEERS_VMA
#include "vma_peer.hpp"
#endif
#if GPU_ALLOC_PEERS_OFFSET
#include "offset_peer.hpp"
#endif
#if GPU_ALLOC_PEERS_RUST
#include "rust_peer.hpp"
#endif

namespace peers {
namespace {

// -- numbers ---------------------------------------------------------------------

struct Spread {
    double median = 0, min = 0, max = 0;
};

Spread spread(std::vector<double> v) {
    Spread s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v.front();
    s.max = v.back();
    return s;
}

std::string num(double x, int precision) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", precision, x);
    return buf;
}

std::string with_spread(const Spread& s, int precision, bool show_spread) {
    std::string out = num(s.median, precision);
    if (show_spread) out += " (" + num(s.min, precision) + "–" + num(s.max, precision) + ")";
    return out;
}

std::string grouped(std::uint64_t v) {
    std::string digits = std::to_string(v), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// -- the columns -------------------------------------------------------------------

struct ThreadsResult {
    bool started = false;
    double wall_ns = 0;
    std::uint64_t ops = 0;
    std::uint64_t failures = 0;
    Counters end;
};

/// Lets the replaying threads go together, once all are ready.
class StartGate {
public:
    explicit StartGate(std::size_t n) : waiting_(n) {}
    void arrive_and_wait() {
        std::unique_lock lock(mutex_);
        if (--waiting_ == 0) {
            cv_.notify_all();
            return;
        }
        cv_.wait(lock, [&] { return waiting_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::size_t waiting_;
};

/// T threads, one slice each, on `shared` (or, for a per-thread peer, one each).
template <class Peer>
ThreadsResult threads_replay(Peer& shared, const Trace& whole, const std::vector<Trace>& slices) {
    ThreadsResult r;
    if (!shared.start(whole.summary)) return r;
    r.started = true;
    const std::size_t n = slices.size();
    StartGate gate(n);
    std::vector<LoopResult> loops(n);
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (std::size_t t = 0; t < n; ++t) {
        threads.emplace_back([&, t] {
            const Trace& slice = slices[t];
            std::optional<Peer> own;
            Peer* peer = &shared;
            if constexpr (requires { Peer::per_thread; }) {
                own.emplace();
                peer = &*own;
            }
            {
                Table<Peer> table(slice.summary.peak_live);
                gate.arrive_and_wait();
                loops[t] = replay_loop(*peer, slice.ops.data(), slice.ops.data() + slice.ops.size(), table, Clock::wall);
                release_rest(*peer, table);
            }
            if constexpr (requires { peer->thread_done(); }) peer->thread_done();
        });
    }
    for (auto& th : threads) th.join();
    shared.cleanup();
    r.end = shared.counters();
    shared.stop();
    // From the first thread's first operation to the last thread's last one.
    double start = loops[0].start, stop = loops[0].stop;
    for (const LoopResult& l : loops) {
        start = std::min(start, l.start);
        stop = std::max(stop, l.stop);
        r.failures += l.failures;
    }
    r.wall_ns = stop - start;
    r.ops = whole.ops.size();
    return r;
}

struct Column {
    std::string key;    ///< ours, vma, rust, offset, baseline
    std::string title;  ///< in the tables
    bool device = true;  ///< overhead and device counts mean something
    std::function<CheckedRun(const Trace&)> checked;
    std::function<LoopResult(const Trace&)> timed;
    std::function<ThreadsResult(const Trace&, const std::vector<Trace>&)> threads;  ///< empty: not thread-safe
};

template <class Peer>
Column make_column(std::string key, std::string title, bool device, Peer& peer, std::uint64_t granularity,
                   const Clock& clock, bool threads) {
    Column c;
    c.key = std::move(key);
    c.title = std::move(title);
    c.device = device;
    c.checked = [&peer, granularity](const Trace& t) { return checked_replay(peer, t, granularity); };
    c.timed = [&peer, &clock](const Trace& t) { return timed_replay(peer, t, clock); };
    if (threads)
        c.threads = [&peer](const Trace& whole, const std::vector<Trace>& slices) {
            return threads_replay(peer, whole, slices);
        };
    return c;
}

/// The baseline, marked as one peer per thread in the threads mode.
struct ThreadBaseline : BaselinePeer {
    static constexpr bool per_thread = true;
};

/// Splits a trace over `n` threads by ID (a hash of it): an ID's allocation and
/// free go to the same slice, so each slice is a valid trace and together
/// they are the whole.
std::vector<Trace> slice_trace(const Trace& trace, unsigned n) {
    std::vector<Trace> out(n);
    for (unsigned i = 0; i < n; ++i) {
        out[i].name = trace.name + "/" + std::to_string(i);
        out[i].ops.reserve(trace.ops.size() / n + 16);
    }
    for (const TraceOp& op : trace.ops) out[((op.id * 0x9E3779B97F4A7C15ull) >> 32) % n].ops.push_back(op);
    for (Trace& t : out) {
        std::uint64_t live = 0;
        for (const TraceOp& op : t.ops) {
            if (op.code == OpCode::allocate) {
                ++t.summary.allocs;
                t.summary.total_alloc_bytes += op.size;
                t.summary.peak_live = std::max(t.summary.peak_live, ++live);
            } else {
                ++t.summary.frees;
                --live;
            }
        }
        t.summary.live_at_end = live;
    }
    return out;
}

// -- machine and build -----------------------------------------------------------

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

int usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    return CPU_COUNT(&set);
}

// -- the self-test of the placement check ---------------------------------------------

/// A deliberately broken peer: every block at offset 0 (overlap) or at an odd
/// offset (misaligned) of one object.
template <bool Misaligned>
struct BrokenPeer {
    struct Handle {
        std::uint64_t offset = 0;
    };
    std::uint64_t next = 0;
    bool start(const TraceSummary&) { return true; }
    bool allocate(const TraceOp& op, Handle& h) noexcept {
        h.offset = Misaligned ? (next += op.size + 3) : 0;
        return true;
    }
    void free(Handle&) noexcept {}
    void cleanup() {}
    Counters counters() const { return {}; }
    Placed placed(const Handle& h) const { return {1, std::uint64_t{1} << 50, h.offset, 1u << 30}; }
    void stop() {}
};

int self_test(const gpu_alloc::mock::DeviceProfile& profile) {
    int failed = 0;
    auto expect = [&](bool ok, const char* what) {
        std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
        if (!ok) ++failed;
    };
    TraceOp op;
    op.size = 256;
    op.alignment = 256;
    {
        PlacementChecker c(1024);
        c.on_allocate(0, op, {1, 4096, 0, 256});
        expect(c.ok(), "a block alone passes");
        c.on_allocate(1, op, {1, 4096, 256, 256});
        expect(c.ok(), "an adjacent block passes");
        c.on_allocate(2, op, {1, 4096, 128, 256});
        expect(c.overlapping == 1 && c.misaligned == 1, "an overlapping, misaligned block is caught");
        c.on_allocate(3, op, {2, 4096, 0, 256});
        expect(c.overlapping == 1, "the same offset in another object is no overlap");
        c.on_allocate(4, op, {1, 4096, 3840 + 256, 256});
        expect(c.outside_object == 1, "a block past its object's end is caught");
        TraceOp big = op;
        big.size = 512;
        c.on_allocate(5, big, {3, 4096, 0, 256});
        expect(c.outside_object == 2, "a block smaller than asked is caught");
        TraceOp image = op;
        image.kind = gpu_alloc::ResourceKind::optimal;
        c.on_allocate(6, image, {1, 4096, 512, 256});
        expect(c.granularity_shared == 1 && c.overlapping == 1, "a linear/optimal page shared is counted, not failed");
        expect(c.on_free(7, {1, 4096, 0, 256}) == 256 && c.unknown_frees == 0, "a free returns the requested size");
        c.on_free(8, {1, 4096, 0, 256});
        expect(c.unknown_frees == 1 && !c.ok(), "a second free of a block is caught");
    }
    std::string text;
    gpu_alloc::replay::generate_workload("churn", 1, 0.002, text);
    auto trace = gpu_alloc::replay::parse_trace(text, "churn");
    if (!trace) {
        std::printf("FAILED: cannot generate a trace: %s\n", trace.error().message.c_str());
        return 1;
    }
    {
        BrokenPeer<false> overlapping;
        const CheckedRun r = checked_replay(overlapping, *trace, 1024);
        expect(!r.placement_ok, "a peer that overlaps blocks fails the check");
        BrokenPeer<true> misaligned;
        const CheckedRun m = checked_replay(misaligned, *trace, 1024);
        expect(!m.placement_ok && m.placement.find("misaligned") != std::string::npos,
               "a peer that misaligns blocks fails the check");
        OursPeer ours(profile);
        const CheckedRun o = checked_replay(ours, *trace, profile.properties.buffer_image_granularity);
        expect(o.placement_ok, "our allocator passes the check");
    }
    std::printf("%s\n", failed ? "self-test FAILED" : "self-test passed");
    return failed ? 1 : 0;
}

// -- options --------------------------------------------------------------------------

struct Options {
    std::vector<std::string> traces;
    unsigned reps = 5;
    int pin = -1;
    Clock clock = Clock::thread_cpu;
    std::vector<std::string> only;
    std::vector<unsigned> threads;
    bool threads_only = false;
    unsigned threads_reps = 0;
    std::string profile;
    bool self_test = false;
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = s.find(',', start);
        const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) out.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

bool parse_unsigned(const std::string& s, unsigned& out) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = static_cast<unsigned>(std::stoul(s));
    return true;
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "peers_bench: %s\n"
                 "usage: peers_bench [--reps N] [--pin CPU] [--clock cpu|wall] [--only ours,vma,rust,offset]\n"
                 "                   [--threads 1,2,4,8] [--threads-only] [--threads-reps N] [--profile PATH]\n"
                 "                   [--traces DIR] [TRACE...]\n"
                 "       peers_bench --self-test\n",
                 why);
    return 2;
}

std::optional<int> parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--traces") {
            const char* dir = value();
            if (!dir) return usage("--traces needs a folder");
            for (std::string_view w : gpu_alloc::replay::workload_names)
                o.traces.push_back(std::string(dir) + "/" + std::string(w) + ".trace");
        } else if (a == "--reps") {
            const char* v = value();
            if (!v || !parse_unsigned(v, o.reps) || o.reps == 0) return usage("--reps needs a positive number");
        } else if (a == "--pin") {
            const char* v = value();
            unsigned cpu = 0;
            if (!v || !parse_unsigned(v, cpu)) return usage("--pin needs a CPU number");
            o.pin = static_cast<int>(cpu);
        } else if (a == "--clock") {
            const char* v = value();
            if (v && std::strcmp(v, "cpu") == 0) o.clock = Clock::thread_cpu;
            else if (v && std::strcmp(v, "wall") == 0) o.clock = Clock::wall;
            else return usage("--clock is cpu or wall");
        } else if (a == "--only") {
            const char* v = value();
            if (!v) return usage("--only needs a list");
            o.only = split(v);
            for (const auto& k : o.only)
                if (k != "ours" && k != "vma" && k != "rust" && k != "offset") return usage("--only: ours, vma, rust, offset");
        } else if (a == "--threads") {
            const char* v = value();
            if (!v) return usage("--threads needs a list");
            for (const auto& part : split(v)) {
                unsigned t = 0;
                if (!parse_unsigned(part, t) || t == 0 || t > 256) return usage("--threads: thread counts 1 to 256");
                o.threads.push_back(t);
            }
        } else if (a == "--threads-only") {
            o.threads_only = true;
        } else if (a == "--threads-reps") {
            const char* v = value();
            if (!v || !parse_unsigned(v, o.threads_reps) || o.threads_reps == 0)
                return usage("--threads-reps needs a positive number");
        } else if (a == "--profile") {
            const char* v = value();
            if (!v) return usage("--profile needs a path");
            o.profile = v;
        } else if (a == "--self-test") {
            o.self_test = true;
        } else if (!a.empty() && a[0] == '-') {
            return usage(("unknown option " + a).c_str());
        } else {
            o.traces.push_back(a);
        }
    }
    if (o.threads_only && o.threads.empty()) return usage("--threads-only needs --threads");
    if (o.threads_reps == 0) o.threads_reps = o.reps;
    if (!o.self_test && o.traces.empty()) return usage("no traces (--traces DIR or TRACE...)");
    return std::nullopt;
}

bool wanted(const Options& o, const std::string& key) {
    return o.only.empty() || std::find(o.only.begin(), o.only.end(), key) != o.only.end();
}

// -- the runs --------------------------------------------------------------------------

struct TraceResult {
    const Trace* trace = nullptr;
    std::vector<CheckedRun> checked;           ///< per column
    std::vector<std::vector<double>> ns;       ///< per column, per repetition: ns/op
};

const Column* find(const std::vector<Column>& cols, const std::string& key, std::size_t* index = nullptr) {
    for (std::size_t i = 0; i < cols.size(); ++i)
        if (cols[i].key == key) {
            if (index) *index = i;
            return &cols[i];
        }
    return nullptr;
}

/// Per repetition: ns/op of column i minus the baseline's of the same repetition.
std::vector<double> costs(const TraceResult& r, std::size_t i, std::size_t baseline) {
    std::vector<double> out;
    for (std::size_t k = 0; k < r.ns[i].size() && k < r.ns[baseline].size(); ++k) out.push_back(r.ns[i][k] - r.ns[baseline][k]);
    return out;
}

void print_trace_table(const TraceResult& r, const std::vector<Column>& cols, std::size_t baseline, bool show_spread) {
    const Trace& t = *r.trace;
    std::printf("\n### %s: %s ops, %s live at most, %s requested bytes live at most\n\n", t.name.c_str(),
                grouped(t.ops.size()).c_str(), grouped(t.summary.peak_live).c_str(),
                grouped(t.summary.peak_live_bytes).c_str());
    std::printf("| allocator | ns/op | cost ns/op | cost / ours | overhead | device allocations | peak device objects | modeled driver ms | failures | placement check |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    std::size_t ours_index = 0;
    const bool have_ours = find(cols, "ours", &ours_index) != nullptr;
    const double ours_cost = have_ours ? spread(costs(r, ours_index, baseline)).median : 0;
    std::vector<std::size_t> order{baseline};
    for (std::size_t i = 0; i < cols.size(); ++i)
        if (i != baseline) order.push_back(i);
    for (std::size_t i : order) {
        const Column& c = cols[i];
        const CheckedRun& k = r.checked[i];
        const Spread ns = spread(r.ns[i]);
        std::string cost = "—", ratio = "—", overhead = "—", allocs = "—", objects = "—", driver = "—";
        if (i != baseline) {
            const Spread cs = spread(costs(r, i, baseline));
            cost = with_spread(cs, 1, show_spread);
            if (have_ours && ours_cost > 0) ratio = num(cs.median / ours_cost, 2) + "×";
        }
        if (c.device) {
            overhead = num(k.overhead(), 3);
            allocs = grouped(k.end.device_allocations);
            objects = grouped(k.end.peak_objects);
            if (k.modeled_device_ms >= 0) driver = grouped(static_cast<std::uint64_t>(k.modeled_device_ms + 0.5));
        }
        std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.title.c_str(),
                    with_spread(ns, 1, show_spread).c_str(), cost.c_str(), ratio.c_str(), overhead.c_str(),
                    allocs.c_str(), objects.c_str(), driver.c_str(),
                    i == baseline ? "—" : grouped(k.failures).c_str(), i == baseline ? "—" : k.placement.c_str());
    }
    for (std::size_t i : order)
        for (const std::string& m : r.checked[i].messages) std::printf("\n%s: %s", cols[i].title.c_str(), m.c_str());
    bool any = false;
    for (std::size_t i : order) any = any || !r.checked[i].messages.empty();
    if (any) std::printf("\n");
}

void print_summary(const std::vector<TraceResult>& results, const std::vector<Column>& cols, std::size_t baseline,
                   bool show_spread) {
    std::printf("\n### Summary: cost = ns/op minus the baseline's of the same repetition; median (min–max)\n\n");
    std::printf("| trace | baseline ns/op | our cost | Rust cost | OffsetAllocator cost | VMA cost | overhead ours / Rust / VMA | device allocations ours / Rust / VMA |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const TraceResult& r : results) {
        std::size_t ours = 0;
        const bool have_ours = find(cols, "ours", &ours) != nullptr;
        const double ours_cost = have_ours ? spread(costs(r, ours, baseline)).median : 0;
        auto cost_cell = [&](const char* key) -> std::string {
            std::size_t i = 0;
            if (!find(cols, key, &i)) return "—";
            const Spread cs = spread(costs(r, i, baseline));
            std::string out = with_spread(cs, 1, show_spread);
            if (i != ours && have_ours && ours_cost > 0) out += ", " + num(cs.median / ours_cost, 2) + "×";
            return out;
        };
        auto device_cell = [&](bool overhead) -> std::string {
            std::string out;
            for (const char* key : {"ours", "rust", "vma"}) {
                std::size_t i = 0;
                if (!out.empty()) out += " / ";
                if (!find(cols, key, &i)) {
                    out += "—";
                    continue;
                }
                out += overhead ? num(r.checked[i].overhead(), 3) : grouped(r.checked[i].end.device_allocations);
            }
            return out;
        };
        std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.trace->name.c_str(),
                    with_spread(spread(r.ns[baseline]), 1, show_spread).c_str(), cost_cell("ours").c_str(),
                    cost_cell("rust").c_str(), cost_cell("offset").c_str(), cost_cell("vma").c_str(),
                    device_cell(true).c_str(), device_cell(false).c_str());
    }
}

void run_threads(const Options& o, const std::vector<Trace>& traces, const std::vector<Column>& cols) {
    std::vector<const Column*> tcols;
    for (const char* key : {"ours", "vma", "baseline"})
        if (const Column* c = find(cols, key); c && c->threads) tcols.push_back(c);
    for (const Trace& trace : traces) {
        std::printf("\n### Threads: %s, sliced by ID over T threads, one shared allocator; "
                    "aggregate Mops/s (wall time), median (min–max) of %u\n\n",
                    trace.name.c_str(), o.threads_reps);
        std::printf("| T |");
        for (const Column* c : tcols) std::printf(" %s Mops/s |", c->title.c_str());
        for (const Column* c : tcols)
            if (c->device) std::printf(" %s device allocations / peak objects / failures |", c->title.c_str());
        std::printf("\n|---:|");
        for (std::size_t i = 0; i < tcols.size(); ++i) std::printf("---:|");
        for (const Column* c : tcols)
            if (c->device) std::printf("---:|");
        std::printf("\n");
        std::vector<double> t1(tcols.size(), 0);
        for (unsigned t : o.threads) {
            const std::vector<Trace> slices = slice_trace(trace, t);
            std::vector<std::vector<double>> mops(tcols.size());
            std::vector<ThreadsResult> last(tcols.size());
            for (unsigned rep = 0; rep < o.threads_reps; ++rep) {
                for (std::size_t i = 0; i < tcols.size(); ++i) {
                    const ThreadsResult r = tcols[i]->threads(trace, slices);
                    if (!r.started) continue;
                    mops[i].push_back(static_cast<double>(r.ops) / r.wall_ns * 1e3);
                    last[i] = r;
                }
            }
            std::printf("| %u |", t);
            for (std::size_t i = 0; i < tcols.size(); ++i) {
                const Spread s = spread(mops[i]);
                if (t == o.threads.front()) t1[i] = s.median;
                std::string cell = with_spread(s, 2, o.threads_reps > 1);
                if (t != o.threads.front() && t1[i] > 0)
                    cell += ", " + num(s.median / t1[i], 2) + "× T=" + std::to_string(o.threads.front());
                std::printf(" %s |", cell.c_str());
            }
            for (std::size_t i = 0; i < tcols.size(); ++i)
                if (tcols[i]->device)
                    std::printf(" %s / %s / %s |", grouped(last[i].end.device_allocations).c_str(),
                                grouped(last[i].end.peak_objects).c_str(), grouped(last[i].failures).c_str());
            std::printf("\n");
            std::fflush(stdout);
        }
    }
}

int run(int argc, char** argv) {
    Options o;
    if (auto rc = parse(argc, argv, o)) return *rc;

    const std::string profile_path = o.profile.empty() ? gpu_alloc::replay::default_profile_path() : o.profile;
    auto loaded = gpu_alloc::mock::load_profile(profile_path);
    if (!loaded) {
        std::fprintf(stderr, "peers_bench: %s\n", loaded.error().message.c_str());
        return 2;
    }
    const gpu_alloc::mock::DeviceProfile profile = std::move(*loaded);
    if (o.self_test) return self_test(profile);

    std::vector<Trace> traces;
    for (const std::string& path : o.traces) {
        auto t = gpu_alloc::replay::load_trace(path);
        if (!t) {
            std::fprintf(stderr, "peers_bench: %s\n", gpu_alloc::replay::to_string(t.error(), path).c_str());
            return 2;
        }
        traces.push_back(std::move(*t));
    }

    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(i == 0 ? "peers_bench" : argv[i]);
    std::printf("## Peers, measured in one loop\n\n");
    std::printf("- command: `%s`\n", command.c_str());
    std::printf("- machine: nproc %d (%ld online), CPU %s\n", usable_cpus(), sysconf(_SC_NPROCESSORS_ONLN),
                cpu_model().c_str());
    std::printf("- build: %s, %s %s\n", GPU_ALLOC_PEERS_BUILD_TYPE, "g++", __VERSION__);
    std::printf("- device: the mock of %s (%s)\n", profile.name.c_str(), profile_path.c_str());
    if (!o.threads_only)
        std::printf("- single-thread clock: %s; %u interleaved repetitions (ours, VMA, Rust, OffsetAllocator, baseline, ours, ...)\n",
                    o.clock == Clock::wall ? "wall time" : "the thread's CPU time", o.reps);
    std::printf("- ours: GpuAllocator with Config::for_device over gpu_alloc::mock::MockDevice\n");
    std::printf("- VMA: %s\n", GPU_ALLOC_PEERS_VMA_NOTE);
    std::printf("- OffsetAllocator: %s\n", GPU_ALLOC_PEERS_OFFSET_NOTE);
    std::printf("- Rust gpu-alloc: %s\n", GPU_ALLOC_PEERS_RUST_NOTE);
    std::printf("- map value: every handle padded to %zu bytes (the baseline's too)\n", slot_bytes);
    std::printf("- modeled driver ms: the profile's measured vkAllocateMemory/vkFreeMemory costs summed over the memory\n"
                "  objects of the untimed run (the mocks charge no time for them)\n");

    const std::uint64_t granularity = profile.properties.buffer_image_granularity;
    const Clock clock = o.clock;
    OursPeer ours(profile);
    BaselinePeer baseline;
    ThreadBaseline thread_baseline;
    std::vector<Column> cols;
    if (wanted(o, "ours")) cols.push_back(make_column("ours", "ours", true, ours, granularity, clock, true));
#if GPU_ALLOC_PEERS_VMA
    VmaPeer vma(profile);
    if (wanted(o, "vma")) cols.push_back(make_column("vma", "VMA", true, vma, granularity, clock, true));
#endif
#if GPU_ALLOC_PEERS_RUST
    RustPeer rust(profile);
    if (wanted(o, "rust")) cols.push_back(make_column("rust", "Rust gpu-alloc", true, rust, granularity, clock, false));
#endif
#if GPU_ALLOC_PEERS_OFFSET
    OffsetPeer offset;
    if (wanted(o, "offset"))
        cols.push_back(make_column("offset", "OffsetAllocator", false, offset, granularity, clock, false));
#endif
    Column base = make_column("baseline", "map alone (baseline)", false, baseline, granularity, clock, false);
    base.threads = [&thread_baseline](const Trace& whole, const std::vector<Trace>& slices) {
        return threads_replay(thread_baseline, whole, slices);
    };
    cols.push_back(std::move(base));
    const std::size_t baseline_index = cols.size() - 1;

    bool placement_ok = true;
    if (!o.threads_only) {
        cpu_set_t before;
        CPU_ZERO(&before);
        const bool have_before = sched_getaffinity(0, sizeof before, &before) == 0;
        if (o.pin >= 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(o.pin, &one);
            if (sched_setaffinity(0, sizeof one, &one) != 0) {
                std::fprintf(stderr, "peers_bench: cannot pin to CPU %d: %s\n", o.pin, std::strerror(errno));
                return 2;
            }
        }
        std::printf("- pinned: %s\n", o.pin >= 0 ? ("to CPU " + std::to_string(o.pin)).c_str() : "no");
        std::vector<TraceResult> results;
        for (const Trace& trace : traces) {
            TraceResult r;
            r.trace = &trace;
            r.checked.resize(cols.size());
            r.ns.resize(cols.size());
            for (std::size_t i = 0; i < cols.size(); ++i) {
                if (i == baseline_index) continue;
                r.checked[i] = cols[i].checked(trace);
                placement_ok = placement_ok && r.checked[i].placement_ok;
            }
            const double ops = static_cast<double>(trace.ops.size());
            for (unsigned rep = 0; rep < o.reps; ++rep)
                for (std::size_t i = 0; i < cols.size(); ++i) r.ns[i].push_back(cols[i].timed(trace).ns / ops);
            print_trace_table(r, cols, baseline_index, o.reps > 1);
            std::fflush(stdout);
            results.push_back(std::move(r));
        }
        print_summary(results, cols, baseline_index, o.reps > 1);
        if (o.pin >= 0 && have_before) sched_setaffinity(0, sizeof before, &before);
        std::printf("\nplacement check: %s\n", placement_ok ? "every allocator passed" : "FAILED (see above)");
    }
    if (!o.threads.empty()) {
        std::printf("\n- threads mode: CPUs available %d; thread counts", usable_cpus());
        for (unsigned t : o.threads) std::printf(" %u", t);
        std::printf("; %u interleaved repetitions (ours, VMA, baseline, ours, ...); each thread replays its slice of the "
                    "trace with its own map, all on one shared allocator (the baseline: no allocator)\n",
                    o.threads_reps);
        run_threads(o, traces, cols);
    }
    std::fflush(stdout);
    return placement_ok ? 0 : 1;
}

}  // namespace
}  // namespace peers

int main(int argc, char** argv) { return peers::run(argc, argv); }
