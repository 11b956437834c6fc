// The parts of Python that gen_traces.py's output depends on, reproduced in C++
// so that the project's own workload generator writes the same traces:
//
//   - random.Random(str): Mersenne Twister MT19937 keyed, as CPython does for a
//     str seed (version 2), by the big integer of seed.encode() followed by its
//     SHA-512 digest, split into 32-bit words least significant first;
//     random() combines two 32-bit outputs into a double with 53 random bits.
//   - repr(float): the shortest round-tripping digits, in fixed notation when
//     the decimal exponent is in [-4, 16) and as "1e-05" style otherwise.
//   - round(float): round half to even.
//
// These are exact reproductions (tests compare against python3 byte for byte
// when it is installed), not approximations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gpu_alloc::replay {

/// CPython's random.Random seeded with a string, restricted to random().
class PythonRandom {
public:
    /// Seeds like `random.Random(seed)` for a str `seed` (UTF-8 bytes as given).
    explicit PythonRandom(std::string_view seed);

    /// The next double in [0, 1), equal to Python's random.Random.random().
    double random() noexcept;

private:
    std::uint32_t next_u32() noexcept;
    void init_genrand(std::uint32_t seed) noexcept;

    static constexpr int state_size_ = 624;
    std::uint32_t state_[state_size_]{};
    int index_ = state_size_;
};

/// Python's repr() of a float, e.g. "0.01", "1.0", "1e-05", "1.2345678901234568e+17".
/// Requires: `value` is finite.
std::string python_float_repr(double value);

/// Python's round() of a float to an integer (half to even), as a double.
double python_round(double value) noexcept;

}  // namespace gpu_alloc::replay
