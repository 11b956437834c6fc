// The trace v1 parser: one pass over the text, a live-ID table for the
// duplicate / unknown-ID checks and the summary.
#include "trace.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "id_map.hpp"

namespace gpu_alloc::replay {

namespace {

constexpr std::string_view header = "gpu-alloc-trace 1";
constexpr std::size_t max_tokens = 8;

struct UsageToken {
    std::string_view name;
    UsageFlags flag;
};
constexpr UsageToken usage_tokens[] = {
    {"device", UsageFlags::fast_device_access}, {"host", UsageFlags::host_access},
    {"upload", UsageFlags::upload},             {"download", UsageFlags::download},
    {"transient", UsageFlags::transient},       {"address", UsageFlags::device_address},
};

// A token quoted for a message: printable ASCII kept, the rest as \xNN, long
// tokens cut, so that a binary file gives a readable error.
std::string quote(std::string_view token) {
    std::string out = "'";
    std::size_t shown = 0;
    for (char c : token) {
        if (++shown > 40) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        }
    }
    return out + "'";
}

// Decimal digits only, no sign, at most 2^64 - 1.
bool parse_u64(std::string_view text, std::uint64_t& value) noexcept {
    if (text.empty() || text.size() > 20) return false;
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (v > (~std::uint64_t{0} - digit) / 10) return false;
        v = v * 10 + digit;
    }
    value = v;
    return true;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

// Splits a line into tokens; returns how many (up to max_tokens, more counted as max_tokens).
std::size_t split(std::string_view line, std::string_view (&tokens)[max_tokens]) noexcept {
    std::size_t count = 0;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i == line.size()) break;
        std::size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        if (count == max_tokens) return max_tokens;
        tokens[count++] = line.substr(start, i - start);
    }
    return count;
}

TraceError error_at(std::size_t line, std::string message) { return TraceError{line, std::move(message)}; }

}  // namespace

std::string to_string(const TraceError& error, std::string_view path) {
    std::string out(path);
    if (error.line != 0) out += ":" + std::to_string(error.line);
    out += ": ";
    out += error.message;
    return out;
}

bool parse_usage(std::string_view text, UsageFlags& usage) noexcept {
    if (text.empty()) return false;
    usage = UsageFlags::none;
    while (true) {
        const std::size_t bar = text.find('|');
        const std::string_view token = text.substr(0, bar);
        bool known = false;
        for (const UsageToken& t : usage_tokens) {
            if (t.name == token) {
                usage |= t.flag;
                known = true;
                break;
            }
        }
        if (!known) return false;
        if (bar == std::string_view::npos) return true;
        text.remove_prefix(bar + 1);
    }
}

std::string usage_to_trace_token(UsageFlags usage) {
    std::string out;
    for (const UsageToken& t : usage_tokens) {
        if (contains(usage, t.flag)) {
            if (!out.empty()) out += '|';
            out += t.name;
        }
    }
    return out.empty() ? "none" : out;
}

std::string trace_name_from_path(std::string_view path) {
    const std::size_t slash = path.find_last_of('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    constexpr std::string_view suffix = ".trace";
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix)
        name.remove_suffix(suffix.size());
    return std::string(name);
}

Result<Trace, TraceError> parse_trace(std::string_view text, std::string name) {
    Trace trace;
    trace.name = std::move(name);
    // A first guess at the op count (gen_traces.py lines average ~25 bytes) so
    // that the vector grows a few times at most.
    trace.ops.reserve(text.size() / 24 + 16);
    IdMap<std::uint64_t> live;  // ID -> size
    std::uint64_t live_bytes = 0;
    TraceSummary& s = trace.summary;

    std::size_t line_number = 0;
    std::size_t position = 0;
    while (position < text.size() || line_number == 0) {
        ++line_number;
        std::size_t end = text.find('\n', position);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(position, end - position);
        position = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

        if (line_number == 1) {
            if (line == header) continue;
            if (line.substr(0, 16) == "gpu-alloc-trace ")
                return unexpected(error_at(1, "unsupported trace version " + quote(line.substr(16)) +
                                                  " (this tool reads version 1)"));
            return unexpected(error_at(1, "expected the header 'gpu-alloc-trace 1', found " + quote(line)));
        }
        std::string_view tokens[max_tokens];
        const std::size_t count = split(line, tokens);
        if (count == 0 || tokens[0].front() == '#') continue;

        const std::string_view op = tokens[0];
        if (op == "a") {
            if (count != 6)
                return unexpected(error_at(line_number, "'a' takes 5 fields (ID SIZE ALIGN KIND USAGE), found " +
                                                            std::to_string(count - 1)));
            TraceOp a;
            a.code = OpCode::allocate;
            if (!parse_u64(tokens[1], a.id))
                return unexpected(error_at(line_number, "ID " + quote(tokens[1]) +
                                                            " is not a decimal integer below 2^64"));
            if (!parse_u64(tokens[2], a.size) || a.size == 0)
                return unexpected(error_at(line_number, "SIZE " + quote(tokens[2]) +
                                                            " is not a decimal integer in [1, 2^64)"));
            if (!parse_u64(tokens[3], a.alignment))
                return unexpected(error_at(line_number, "ALIGN " + quote(tokens[3]) +
                                                            " is not a decimal integer below 2^64"));
            if (a.alignment == 0 || (a.alignment & (a.alignment - 1)) != 0)
                return unexpected(error_at(line_number, "ALIGN " + quote(tokens[3]) + " is not a power of two"));
            if (tokens[4] == "buf") a.kind = ResourceKind::linear;
            else if (tokens[4] == "img") a.kind = ResourceKind::optimal;
            else
                return unexpected(error_at(line_number, "KIND " + quote(tokens[4]) + " is neither 'buf' nor 'img'"));
            if (!parse_usage(tokens[5], a.usage))
                return unexpected(error_at(line_number, "USAGE " + quote(tokens[5]) +
                                                            " is not '|'-joined tokens of device, host, upload, "
                                                            "download, transient, address"));
            if (!live.try_emplace(a.id, a.size))
                return unexpected(error_at(line_number, "ID " + std::to_string(a.id) + " is already live"));
            live_bytes += a.size;
            ++s.allocs;
            s.total_alloc_bytes += a.size;
            if (live.size() > s.peak_live) s.peak_live = live.size();
            if (live_bytes > s.peak_live_bytes) s.peak_live_bytes = live_bytes;
            trace.ops.push_back(a);
        } else if (op == "f") {
            if (count != 2)
                return unexpected(error_at(line_number, "'f' takes 1 field (ID), found " + std::to_string(count - 1)));
            TraceOp f;
            f.code = OpCode::free;
            if (!parse_u64(tokens[1], f.id))
                return unexpected(error_at(line_number, "ID " + quote(tokens[1]) +
                                                            " is not a decimal integer below 2^64"));
            const std::optional<std::uint64_t> size = live.take(f.id);
            if (!size)
                return unexpected(error_at(line_number, "free of ID " + std::to_string(f.id) +
                                                            ", which is not live (never allocated, or already freed)"));
            live_bytes -= *size;
            ++s.frees;
            trace.ops.push_back(f);
        } else if (op == "frame") {
            if (count != 1)
                return unexpected(error_at(line_number, "'frame' takes no fields, found " + std::to_string(count - 1)));
            ++s.frames;
        } else {
            return unexpected(error_at(line_number, "unknown operation " + quote(op) +
                                                        " (expected 'a', 'f', 'frame' or a '#' comment)"));
        }
    }
    s.live_at_end = live.size();
    trace.ops.shrink_to_fit();
    return trace;
}

Result<Trace, TraceError> load_trace(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return unexpected(error_at(0, std::string("cannot open: ") + std::strerror(errno)));
    struct stat info {};
    if (::fstat(::fileno(file), &info) != 0 || S_ISDIR(info.st_mode)) {
        std::fclose(file);
        return unexpected(error_at(0, "cannot open: is a directory"));
    }
    std::string text;
    // Pipes (a decompressor's output) have no size; they grow the string as they are read.
    if (S_ISREG(info.st_mode)) text.reserve(static_cast<std::size_t>(info.st_size));
    char buffer[1 << 16];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
    const bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed) return unexpected(error_at(0, "read error"));
    return parse_trace(text, trace_name_from_path(path));
}

}  // namespace gpu_alloc::replay
