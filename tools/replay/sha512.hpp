// SHA-512 (FIPS 180-4), the one hash Python's random.Random uses to turn a
// string seed into its Mersenne Twister key. It lives here only so that the
// workload generator can reproduce gen_traces.py's random numbers exactly; it
// is not a security primitive of the project.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace gpu_alloc::replay {

/// The 64-byte SHA-512 digest of `data`.
std::array<unsigned char, 64> sha512(std::string_view data);

}  // namespace gpu_alloc::replay
