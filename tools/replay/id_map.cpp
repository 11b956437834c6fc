// The tables' storage: huge-page backed when large (see id_map.hpp).
#include "id_map.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace gpu_alloc::replay::detail {

namespace {
constexpr std::size_t huge_page = std::size_t{2} << 20;
}

void* table_allocate(std::size_t bytes) noexcept {
    if (bytes < huge_page) return std::malloc(bytes == 0 ? 1 : bytes);
    const std::size_t rounded = (bytes + huge_page - 1) / huge_page * huge_page;
    void* p = std::aligned_alloc(huge_page, rounded);
    if (p != nullptr) ::madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure changes nothing
    return p;
}

void table_free(void* p) noexcept { std::free(p); }

}  // namespace gpu_alloc::replay::detail
