// Allocation traces (format v1, docs/replay.md "Traces"): the strict parser,
// and the in-memory form that the replay loop walks.
//
// The whole file is read into memory and parsed before anything is replayed,
// so that the timed loops touch only a vector of 32-byte operations. The
// parser validates every line and rejects a trace at its first malformed line,
// naming the line number and the problem:
//   - line 1 must be "gpu-alloc-trace 1" (another version is refused by name);
//   - "a ID SIZE ALIGN KIND USAGE": ID and SIZE decimal integers (SIZE > 0),
//     ALIGN a power of two, KIND "buf" or "img", USAGE '|'-joined tokens of
//     device, host, upload, download, transient, address; ID must not be live;
//   - "f ID": ID must be live (allocated earlier and not freed since);
//   - "frame", and "#" comments anywhere; blank lines are ignored;
//   - anything else (an unknown op, a missing or extra field, a sign, a
//     number past 2^64 - 1, a stray byte) is an error.
// Tokens are separated by spaces or tabs; a trailing '\r' (CRLF files) is
// dropped.
//
// Freeing an unknown ID is a parse error, not a replay failure: the parser
// tracks the live set anyway (for duplicate IDs), and a trace that frees what
// it never allocated is self-inconsistent, so numbers replayed from it would
// compare with nothing. Replay "failures" are reserved for the allocator
// refusing a valid request (out of memory, too many objects).
//
// A trace may end with allocations still live; the replay tool frees them
// after the timed loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gpu_alloc/request.hpp>
#include <gpu_alloc/types/result.hpp>

namespace gpu_alloc::replay {

/// What a trace operation does.
enum class OpCode : std::uint8_t {
    allocate,  ///< "a ID SIZE ALIGN KIND USAGE"
    free,      ///< "f ID"
};

/// One parsed operation. "frame" lines are counted, not stored.
struct TraceOp {
    std::uint64_t id = 0;
    std::uint64_t size = 0;       ///< bytes; allocate only
    std::uint64_t alignment = 0;  ///< bytes, a power of two; allocate only
    UsageFlags usage = UsageFlags::none;
    ResourceKind kind = ResourceKind::linear;
    OpCode code = OpCode::allocate;
};

/// What the parser counted, with the same meaning as the "# stats" line that
/// gen_traces.py writes (so the two can be compared).
struct TraceSummary {
    std::uint64_t allocs = 0;
    std::uint64_t frees = 0;
    std::uint64_t frames = 0;
    std::uint64_t peak_live = 0;          ///< most allocations live at once
    std::uint64_t peak_live_bytes = 0;    ///< most requested bytes live at once
    std::uint64_t total_alloc_bytes = 0;  ///< sum of all allocation sizes
    std::uint64_t live_at_end = 0;        ///< allocations never freed by the trace

    /// allocs + frees: the operations the replay times.
    std::uint64_t ops() const noexcept { return allocs + frees; }
    friend bool operator==(const TraceSummary&, const TraceSummary&) = default;
};

/// A parsed trace.
struct Trace {
    std::string name;  ///< file name without directory and ".trace"
    std::vector<TraceOp> ops;
    TraceSummary summary;
};

/// Why a trace was refused: where (1-based line; 0 when the file itself could
/// not be read) and what, e.g. line 7 "ALIGN '48' is not a power of two".
struct TraceError {
    std::size_t line = 0;
    std::string message;
};

/// "PATH:LINE: MESSAGE" (or "PATH: MESSAGE" for line 0).
std::string to_string(const TraceError& error, std::string_view path);

/// Parses trace text (the whole file).
/// Returns: the trace, named `name`. Errors: the first malformed line. Never
/// aborts, whatever the bytes.
Result<Trace, TraceError> parse_trace(std::string_view text, std::string name);

/// Reads the whole file at `path` into memory and parses it; the trace is
/// named after the file ("dir/churn.trace" -> "churn").
/// Errors: line 0 "cannot open: ..." when unreadable, else as parse_trace.
Result<Trace, TraceError> load_trace(const std::string& path);

/// The trace name for a path: file name without directory and ".trace".
std::string trace_name_from_path(std::string_view path);

/// Parses one USAGE field ("upload|transient"). Returns false for an empty
/// field, an empty token or an unknown token (then `usage` is unspecified).
bool parse_usage(std::string_view text, UsageFlags& usage) noexcept;

/// The USAGE field for `usage`, tokens in the order device, host, upload,
/// download, transient, address ("none" for UsageFlags::none).
std::string usage_to_trace_token(UsageFlags usage);

}  // namespace gpu_alloc::replay
