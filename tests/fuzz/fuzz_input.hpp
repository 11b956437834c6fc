// FuzzInput: reads a fuzzer's bytes as a stream of small decisions, and
// fuzz_check, the one way a fuzz target reports a broken invariant.
//
// Every target decodes its input as a sequence of operations (an opcode byte,
// then the operation's arguments) so that libFuzzer's mutations (flip a byte,
// splice two inputs, insert a run) stay meaningful: a mutated opcode is another
// operation, a mutated argument another size. An exhausted input reads as
// zeros, so every input, however short, is a complete program.
//
// fuzz_check prints what broke and aborts: libFuzzer (and the plain corpus
// runner, fuzz_main.cpp) turns an abort into a saved crashing input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace gpu_alloc::fuzz {

/// Sequential reader over the fuzzer's input; reads past the end give zeros.
class FuzzInput {
public:
    FuzzInput(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

    /// True while unread bytes remain.
    bool more() const noexcept { return pos_ < size_; }

    /// The next byte (0 once the input is exhausted).
    std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }

    /// The next `bytes` bytes (at most 8) as a little-endian integer.
    std::uint64_t integer(unsigned bytes) noexcept {
        std::uint64_t v = 0;
        for (unsigned i = 0; i < bytes && i < 8; ++i) v |= std::uint64_t{byte()} << (8 * i);
        return v;
    }

    /// A value in [0, n) (n > 0), taking one byte when n <= 256, else four.
    std::uint64_t below(std::uint64_t n) noexcept { return (n <= 256 ? byte() : integer(4)) % n; }

    /// A size in [1, limit], roughly log-uniform: one byte picks the bit length,
    /// up to four more pick the bits below it.
    std::uint64_t log_size(std::uint64_t limit) noexcept {
        const unsigned bits = 1 + byte() % 63;
        std::uint64_t v = (std::uint64_t{1} << (bits - 1)) | (integer(4) & ((std::uint64_t{1} << (bits - 1)) - 1));
        if (limit == 0) return 1;
        return v > limit ? 1 + v % limit : v;
    }

    /// A power of two 2^k with k in [0, max_log2].
    std::uint64_t power_of_two(unsigned max_log2) noexcept {
        return std::uint64_t{1} << (byte() % (max_log2 + 1));
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

/// Aborts with `what` when `ok` is false.
inline void fuzz_check(bool ok, const char* what, const char* file, int line) {
    if (ok) return;
    std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
    std::abort();
}

}  // namespace gpu_alloc::fuzz

/// Aborts (a crash for libFuzzer) when `cond` does not hold.
#define GPU_ALLOC_FUZZ_CHECK(cond) ::gpu_alloc::fuzz::fuzz_check(static_cast<bool>(cond), #cond, __FILE__, __LINE__)
