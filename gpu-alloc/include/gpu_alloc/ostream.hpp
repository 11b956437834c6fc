// Stream output of the allocator's values (gtest prints them through it),
// opt-in so that the allocator's own headers need no <ostream>.
#pragma once

#include <ostream>

#include <gpu_alloc/allocation_error.hpp>
#include <gpu_alloc/memory_block.hpp>
#include <gpu_alloc/types/errors.hpp>
#include <gpu_alloc/types/flags.hpp>

namespace gpu_alloc {

inline std::ostream& operator<<(std::ostream& os, const AllocationError& e) { return os << to_string(e); }
inline std::ostream& operator<<(std::ostream& os, AllocationErrorKind k) { return os << to_string(k); }
inline std::ostream& operator<<(std::ostream& os, InvalidRequest r) { return os << to_string(r); }
inline std::ostream& operator<<(std::ostream& os, MapError e) { return os << to_string(e); }

}  // namespace gpu_alloc
