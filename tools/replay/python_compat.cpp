// CPython's Mersenne Twister (Modules/_randommodule.c), its str seeding
// (Lib/random.py, version 2) and its float repr (Python/pystrtod.c, 'r' mode).
#include "python_compat.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "sha512.hpp"

namespace gpu_alloc::replay {

PythonRandom::PythonRandom(std::string_view seed) {
    // a = int.from_bytes(seed + sha512(seed).digest(), 'big'); the C code then
    // takes the integer's little-endian bytes as 32-bit words.
    std::vector<unsigned char> big_endian(seed.begin(), seed.end());
    const auto digest = sha512(seed);
    big_endian.insert(big_endian.end(), digest.begin(), digest.end());
    std::size_t first = 0;  // drop leading zero bytes: they add no bits
    while (first < big_endian.size() && big_endian[first] == 0) ++first;
    const std::size_t significant = big_endian.size() - first;
    std::vector<std::uint32_t> key(significant == 0 ? 1 : (significant + 3) / 4, 0);
    for (std::size_t i = 0; i < significant; ++i) {
        const unsigned char byte = big_endian[big_endian.size() - 1 - i];  // i-th least significant byte
        key[i / 4] |= static_cast<std::uint32_t>(byte) << (8 * (i % 4));
    }

    // init_by_array
    init_genrand(19650218u);
    const int key_length = static_cast<int>(key.size());
    int i = 1;
    int j = 0;
    for (int k = state_size_ > key_length ? state_size_ : key_length; k > 0; --k) {
        state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525u)) + key[j] +
                    static_cast<std::uint32_t>(j);
        ++i;
        ++j;
        if (i >= state_size_) {
            state_[0] = state_[state_size_ - 1];
            i = 1;
        }
        if (j >= key_length) j = 0;
    }
    for (int k = state_size_ - 1; k > 0; --k) {
        state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941u)) -
                    static_cast<std::uint32_t>(i);
        ++i;
        if (i >= state_size_) {
            state_[0] = state_[state_size_ - 1];
            i = 1;
        }
    }
    state_[0] = 0x80000000u;
    index_ = state_size_;
}

void PythonRandom::init_genrand(std::uint32_t seed) noexcept {
    state_[0] = seed;
    for (int i = 1; i < state_size_; ++i)
        state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
    index_ = state_size_;
}

std::uint32_t PythonRandom::next_u32() noexcept {
    constexpr int m = 397;
    constexpr std::uint32_t upper = 0x80000000u;
    constexpr std::uint32_t lower = 0x7fffffffu;
    constexpr std::uint32_t matrix_a = 0x9908b0dfu;
    if (index_ >= state_size_) {
        int k = 0;
        for (; k < state_size_ - m; ++k) {
            const std::uint32_t y = (state_[k] & upper) | (state_[k + 1] & lower);
            state_[k] = state_[k + m] ^ (y >> 1) ^ ((y & 1u) ? matrix_a : 0u);
        }
        for (; k < state_size_ - 1; ++k) {
            const std::uint32_t y = (state_[k] & upper) | (state_[k + 1] & lower);
            state_[k] = state_[k + (m - state_size_)] ^ (y >> 1) ^ ((y & 1u) ? matrix_a : 0u);
        }
        const std::uint32_t y = (state_[state_size_ - 1] & upper) | (state_[0] & lower);
        state_[state_size_ - 1] = state_[m - 1] ^ (y >> 1) ^ ((y & 1u) ? matrix_a : 0u);
        index_ = 0;
    }
    std::uint32_t y = state_[index_++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

double PythonRandom::random() noexcept {
    const std::uint32_t a = next_u32() >> 5;
    const std::uint32_t b = next_u32() >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

std::string python_float_repr(double value) {
    // Shortest round-tripping digits in scientific form, "d.ddde[+-]x".
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    if (ec != std::errc{}) return "nan";
    std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
    std::string out;
    if (!text.empty() && text.front() == '-') {
        out += '-';
        text.remove_prefix(1);
    }
    const std::size_t e = text.find('e');
    std::string digits;
    for (char c : text.substr(0, e))
        if (c != '.') digits += c;
    const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
    // Python: value = 0.DIGITS * 10^decpt; fixed notation when -4 < decpt <= 16.
    const int decpt = exponent + 1;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-decpt), '0');
            out += digits;
        } else if (static_cast<std::size_t>(decpt) >= digits.size()) {
            out += digits;
            out.append(static_cast<std::size_t>(decpt) - digits.size(), '0');
            out += ".0";
        } else {
            out += digits.substr(0, static_cast<std::size_t>(decpt));
            out += '.';
            out += digits.substr(static_cast<std::size_t>(decpt));
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
        out += '.';
        out += digits.substr(1);
    }
    const int shown = decpt - 1;
    out += shown < 0 ? "e-" : "e+";
    const int magnitude = shown < 0 ? -shown : shown;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
    return out;
}

double python_round(double value) noexcept {
    const double floor_value = std::floor(value);
    const double fraction = value - floor_value;
    if (fraction > 0.5) return floor_value + 1.0;
    if (fraction < 0.5) return floor_value;
    return std::fmod(floor_value, 2.0) == 0.0 ? floor_value : floor_value + 1.0;
}

}  // namespace gpu_alloc::replay
