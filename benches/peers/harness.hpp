// The peers benchmark's one replay loop, its one ID-to-handle map, and the
// untimed placement check (see docs/peers.md).
//
// A "peer" is anything that serves trace operations:
//
//   struct Peer {
//       using Handle = ...;                       // what the map keeps per live ID
//       bool start(const TraceSummary&);          // fresh allocator and device
//       bool allocate(const TraceOp&, Handle&) noexcept;  // false: refused
//       void free(Handle&) noexcept;              // gives the block back
//       void cleanup();                           // the allocator gives back what it keeps
//       Counters counters() const;                // the device's view
//       Placed placed(const Handle&) const;       // where a live block lies
//       void stop();                              // destroys allocator and device
//   };
//
// Every peer is replayed by replay_loop<Peer>, the same template, over the same
// map: gpu_alloc::replay::IdTable (the replay tool's table) holding
// Slot<Handle>, which pads every handle to slot_bytes, so that the baseline (a
// peer that stores the size and does nothing else) moves exactly as many bytes
// per operation as each allocator's column, and cost = ns/op - baseline ns/op
// is the allocator's own cost. The loop prefetches the map slots of the
// operations ahead as the replay tool's loops do.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/mock/mock_device.hpp>

#include "id_map.hpp"
#include "trace.hpp"

namespace peers {

using gpu_alloc::replay::IdTable;
using gpu_alloc::replay::OpCode;
using gpu_alloc::replay::Trace;
using gpu_alloc::replay::TraceOp;
using gpu_alloc::replay::TraceSummary;

/// Caller storage of the Rust peer's block (rust/peer_rs.h says the same).
inline constexpr std::size_t rust_block_bytes = 96;

/// Bytes of every map value: the largest handle, plus room, rounded to 16.
inline constexpr std::size_t slot_bytes =
    (std::max(rust_block_bytes, sizeof(gpu_alloc::MemoryBlock<gpu_alloc::mock::MockMemory>)) + 8 + 15) / 16 * 16;

/// A handle padded to slot_bytes (see the file comment).
template <class H>
struct Slot {
    static_assert(sizeof(H) < slot_bytes, "a peer's handle is larger than the map's slots");
    H handle{};
    unsigned char pad[slot_bytes - sizeof(H)]{};
};

/// What a peer's device reports.
struct Counters {
    std::uint64_t device_allocations = 0;  ///< memory objects created (successfully)
    std::uint64_t live_objects = 0;        ///< memory objects live now
    std::uint64_t peak_objects = 0;        ///< most memory objects live at once
    std::uint64_t live_bytes = 0;          ///< bytes of live memory objects
};

/// Where a live block lies.
struct Placed {
    std::uint64_t object = 0;       ///< the memory object (a key unique among live objects)
    std::uint64_t object_size = 0;  ///< its size; 0 when the device does not know it
    std::uint64_t offset = 0;
    std::uint64_t size = 0;  ///< as the allocator reports it
};

enum class Clock : std::uint8_t { thread_cpu, wall };

inline double now_ns(Clock clock) noexcept {
    timespec t{};
    clock_gettime(clock == Clock::wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

/// How many operations ahead the loop prefetches (as the replay tool's loops).
inline constexpr std::ptrdiff_t lookahead = 8;

template <class Peer>
using Table = IdTable<Slot<typename Peer::Handle>>;

struct LoopResult {
    double ns = 0;
    std::uint64_t failures = 0;
    double start = 0;  ///< the clock's reading before the first operation
    double stop = 0;   ///< and after the last
};

/// THE replay loop: ops [begin, end) through `peer`, the map `table`, nothing
/// else between the two clock reads. Frees of refused allocations are skipped.
template <class Peer>
LoopResult replay_loop(Peer& peer, const TraceOp* begin, const TraceOp* end, Table<Peer>& table,
                       Clock clock) noexcept {
    using S = Slot<typename Peer::Handle>;
    std::uint64_t failures = 0;
    const double start = now_ns(clock);
    for (const TraceOp* op = begin; op != end; ++op) {
        if (end - op > 2 * lookahead) table.prefetch_index(op[2 * lookahead].id);
        if (end - op > lookahead && op[lookahead].code == OpCode::free) table.prefetch_value(op[lookahead].id);
        if (op->code == OpCode::allocate) {
            S slot;
            if (peer.allocate(*op, slot.handle))
                table.try_emplace(op->id, std::move(slot));
            else
                ++failures;
        } else if (auto slot = table.take(op->id)) {
            peer.free(slot->handle);
        }
    }
    const double stop = now_ns(clock);
    return {stop - start, failures, start, stop};
}

/// Gives back what a trace left live (after the clock stopped).
template <class Peer>
void release_rest(Peer& peer, Table<Peer>& table) noexcept {
    table.for_each([&](std::uint64_t, Slot<typename Peer::Handle>& slot) { peer.free(slot.handle); });
    table.clear();
}

/// One timed replay of a whole trace on a fresh allocator: ns of the loop.
template <class Peer>
LoopResult timed_replay(Peer& peer, const Trace& trace, Clock clock) {
    LoopResult r;
    if (!peer.start(trace.summary)) return {0, trace.summary.allocs, 0, 0};
    {
        Table<Peer> table(trace.summary.peak_live);
        r = replay_loop(peer, trace.ops.data(), trace.ops.data() + trace.ops.size(), table, clock);
        release_rest(peer, table);
    }
    peer.cleanup();
    peer.stop();
    return r;
}

// -- The placement check --------------------------------------------------------

/// Checks, block by block, that no two live blocks of one memory object
/// overlap (by their requested sizes), that every offset honours the requested
/// alignment, and that every block lies inside its memory object. Also counts,
/// for information only, adjacent linear/optimal blocks sharing a page of the
/// buffer-image granularity (a Vulkan rule that not every peer keeps).
class PlacementChecker {
public:
    explicit PlacementChecker(std::uint64_t granularity) : granularity_(granularity ? granularity : 1) {}

    std::uint64_t misaligned = 0;
    std::uint64_t overlapping = 0;
    std::uint64_t outside_object = 0;  ///< past the object's end, smaller than asked, or unknown object
    std::uint64_t unknown_frees = 0;   ///< a freed block the checker never saw
    std::uint64_t granularity_shared = 0;  ///< information, not an error

    bool ok() const noexcept { return misaligned + overlapping + outside_object + unknown_frees == 0; }
    const std::vector<std::string>& messages() const noexcept { return messages_; }
    std::uint64_t live_blocks() const noexcept { return live_; }

    /// A block that was just allocated for `op` (operation number `index`).
    void on_allocate(std::uint64_t index, const TraceOp& op, const Placed& p) {
        if (op.alignment != 0 && p.offset % op.alignment != 0) {
            ++misaligned;
            note(index, "offset " + std::to_string(p.offset) + " is not a multiple of the alignment " +
                            std::to_string(op.alignment));
        }
        if (p.size < op.size || p.object_size == 0 || p.offset > p.object_size ||
            p.object_size - p.offset < op.size) {
            ++outside_object;
            note(index, "block [" + std::to_string(p.offset) + ", +" + std::to_string(p.size) + ") for " +
                            std::to_string(op.size) + " bytes in an object of " + std::to_string(p.object_size));
        }
        auto& blocks = objects_[p.object];
        const std::uint64_t end = p.offset + op.size;
        auto next = blocks.lower_bound(p.offset);
        bool overlap = false;
        if (next != blocks.end() && next->first < end) overlap = true;
        if (next != blocks.begin()) {
            auto prev = std::prev(next);
            if (prev->second.end > p.offset) overlap = true;
            else if (prev->second.kind != op.kind && (prev->second.end - 1) / granularity_ == p.offset / granularity_)
                ++granularity_shared;
        }
        if (!overlap && next != blocks.end() && next->second.kind != op.kind &&
            (end - 1) / granularity_ == next->first / granularity_)
            ++granularity_shared;
        if (overlap) {
            ++overlapping;
            note(index, "block [" + std::to_string(p.offset) + ", " + std::to_string(end) + ") of object " +
                            std::to_string(p.object) + " overlaps a live block");
            unrecorded_.insert({p.object, p.offset});
            return;
        }
        blocks.emplace(p.offset, Live{end, op.size, op.kind});
        ++live_;
    }

    /// A block about to be freed. Returns: the bytes requested for it (0 if unknown).
    std::uint64_t on_free(std::uint64_t index, const Placed& p) {
        auto object = objects_.find(p.object);
        if (object != objects_.end()) {
            auto it = object->second.find(p.offset);
            if (it != object->second.end()) {
                const std::uint64_t requested = it->second.requested;
                object->second.erase(it);
                if (object->second.empty()) objects_.erase(object);
                --live_;
                return requested;
            }
        }
        if (auto it = unrecorded_.find({p.object, p.offset}); it != unrecorded_.end()) {
            unrecorded_.erase(it);  // one that overlapped, already reported
            return 0;
        }
        ++unknown_frees;
        note(index, "freed a block the checker never saw (object " + std::to_string(p.object) + ", offset " +
                        std::to_string(p.offset) + ")");
        return 0;
    }

    std::string summary() const {
        if (ok())
            return granularity_shared ? "ok (" + std::to_string(granularity_shared) + " granularity pages shared)"
                                      : "ok";
        return "FAILED: " + std::to_string(overlapping) + " overlapping, " + std::to_string(misaligned) +
               " misaligned, " + std::to_string(outside_object) + " outside their object, " +
               std::to_string(unknown_frees) + " unknown frees";
    }

private:
    struct Live {
        std::uint64_t end;
        std::uint64_t requested;
        gpu_alloc::ResourceKind kind;
    };

    void note(std::uint64_t index, std::string message) {
        if (messages_.size() < 5) messages_.push_back("op " + std::to_string(index) + ": " + std::move(message));
    }

    std::uint64_t granularity_;
    std::unordered_map<std::uint64_t, std::map<std::uint64_t, Live>> objects_;
    std::uint64_t live_ = 0;
    std::multiset<std::pair<std::uint64_t, std::uint64_t>> unrecorded_;  ///< (object, offset) of overlapping blocks
    std::vector<std::string> messages_;
};

/// What the checked (untimed) run measured.
struct CheckedRun {
    bool started = false;
    std::uint64_t failures = 0;
    std::uint64_t peak_requested_bytes = 0;  ///< most requested bytes live at once (blocks served)
    std::uint64_t peak_reserved_bytes = 0;   ///< most bytes of live memory objects
    Counters end;                            ///< the device's counters after cleanup
    double modeled_device_ms = -1;           ///< the profile's driver cost model over the run (-1: none)
    std::string placement = "not checked";
    bool placement_ok = true;
    std::vector<std::string> messages;

    double overhead() const noexcept {
        return peak_requested_bytes == 0 ? 0.0
                                         : static_cast<double>(peak_reserved_bytes) /
                                               static_cast<double>(peak_requested_bytes);
    }
};

/// The untimed run: every block checked on allocation and on free, the
/// device's live bytes read after every operation.
template <class Peer>
CheckedRun checked_replay(Peer& peer, const Trace& trace, std::uint64_t granularity) {
    CheckedRun run;
    if (!peer.start(trace.summary)) {
        run.placement = "FAILED: the peer did not start";
        run.placement_ok = false;
        return run;
    }
    run.started = true;
    PlacementChecker checker(granularity);
    std::uint64_t live_requested = 0;
    {
        Table<Peer> table(trace.summary.peak_live);
        for (std::uint64_t i = 0; i < trace.ops.size(); ++i) {
            const TraceOp& op = trace.ops[i];
            if (op.code == OpCode::allocate) {
                Slot<typename Peer::Handle> slot;
                if (peer.allocate(op, slot.handle)) {
                    checker.on_allocate(i, op, peer.placed(slot.handle));
                    live_requested += op.size;
                    table.try_emplace(op.id, std::move(slot));
                } else {
                    ++run.failures;
                }
            } else if (auto slot = table.take(op.id)) {
                live_requested -= checker.on_free(i, peer.placed(slot->handle));
                peer.free(slot->handle);
            }
            run.peak_requested_bytes = std::max(run.peak_requested_bytes, live_requested);
            run.peak_reserved_bytes = std::max(run.peak_reserved_bytes, peer.counters().live_bytes);
        }
        release_rest(peer, table);
    }
    peer.cleanup();
    run.end = peer.counters();
    if constexpr (requires { peer.modeled_device_us(); }) run.modeled_device_ms = peer.modeled_device_us() / 1000.0;
    if constexpr (requires { peer.extra_problems(); }) {
        for (std::string& problem : peer.extra_problems()) {
            run.placement_ok = false;
            run.messages.push_back(std::move(problem));
        }
    }
    peer.stop();
    run.placement_ok = run.placement_ok && checker.ok();
    run.placement = checker.summary();
    if (!run.messages.empty() && checker.ok()) run.placement = "FAILED: " + run.messages.front();
    for (const std::string& m : checker.messages()) run.messages.push_back(m);
    return run;
}

// -- The peers that need nothing but this project ----------------------------------

/// The map alone: stores the size, gives it back.
struct BaselinePeer {
    struct Handle {
        std::uint64_t size = 0;
    };
    std::uint64_t checksum = 0;

    bool start(const TraceSummary&) { return true; }
    bool allocate(const TraceOp& op, Handle& h) noexcept {
        h.size = op.size;
        return true;
    }
    void free(Handle& h) noexcept { checksum += h.size; }
    void cleanup() {}
    Counters counters() const { return {}; }
    Placed placed(const Handle&) const { return {}; }
    void stop() {}
};

}  // namespace peers
