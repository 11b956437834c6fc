// SlabAllocator: size classes, page pool and per-page slot bitmaps. The
// algorithm, its costs and its invariants are described in slab.hpp.
#include <gpu_alloc/slab.hpp>

#include <bit>
#include <cassert>
#include <cstddef>

namespace gpu_alloc {

namespace detail {
namespace {

constexpr std::uint32_t slab_none = 0xFFFFFFFFu;
constexpr std::uint32_t free_page = 0xFFFFFFFFu;

/// Layout of a hierarchical bitmap over `items` bits (items >= 1). The top
/// word is kept apart (in PageMeta for a page's slots, in a member for the
/// page pool), so a lookup reads it without touching the word array; the
/// levels below it are stored in `rest`, highest first.
BitTreeLayout make_bit_tree_layout(std::uint64_t items) noexcept {
    BitTreeLayout layout;
    std::uint64_t words[BitTreeLayout::max_levels] = {};
    std::uint64_t count = (items + 63) / 64;
    for (;;) {
        words[layout.levels++] = count;
        if (count == 1) break;
        count = (count + 63) / 64;
    }
    std::uint64_t offset = 0;
    for (std::uint32_t level = layout.levels - 1; level-- > 0;) {
        layout.offset[level] = static_cast<std::uint32_t>(offset);
        offset += words[level];
    }
    layout.total_words = static_cast<std::uint32_t>(offset);
    return layout;
}

/// x is a power of two. Not std::has_single_bit: without -mpopcnt g++ makes
/// that a libgcc call, measurable on the allocate path.
constexpr bool is_pow2(std::uint64_t x) noexcept { return x != 0 && (x & (x - 1)) == 0; }

/// Word `index` of level `level`.
inline std::uint64_t bit_tree_word(std::uint64_t top, const std::uint64_t* rest, const BitTreeLayout& layout,
                                   std::uint32_t level, std::uint64_t index) noexcept {
    return level + 1 == layout.levels ? top : rest[layout.offset[level] + index];
}

/// Index of the lowest set bit, or slab_none when none is set. One and two
/// levels (every slot bitmap of a page <= 256 KiB with slots >= 64 B) are
/// spelled out: the generic loop's loads of the level offsets measured on the
/// allocate path.
inline std::uint32_t bit_tree_find_first(std::uint64_t top, const std::uint64_t* rest,
                                         const BitTreeLayout& layout) noexcept {
    if (top == 0) return slab_none;
    std::uint32_t index = static_cast<std::uint32_t>(std::countr_zero(top));
    if (layout.levels == 1) return index;
    if (layout.levels == 2) return (index << 6) | static_cast<std::uint32_t>(std::countr_zero(rest[index]));
    for (std::uint32_t level = layout.levels - 1; level > 0;) {
        --level;
        index = (index << 6) | static_cast<std::uint32_t>(std::countr_zero(rest[layout.offset[level] + index]));
    }
    return index;
}

inline bool bit_tree_test(std::uint64_t top, const std::uint64_t* rest, const BitTreeLayout& layout,
                          std::uint32_t index) noexcept {
    return ((bit_tree_word(top, rest, layout, 0, index >> 6) >> (index & 63)) & 1) != 0;
}

/// Clears bit `index` and the summary bits above it that became stale.
inline void bit_tree_clear(std::uint64_t& top, std::uint64_t* rest, const BitTreeLayout& layout,
                           std::uint32_t index) noexcept {
    for (std::uint32_t level = 0; level + 1 < layout.levels; ++level) {
        std::uint64_t& word = rest[layout.offset[level] + (index >> 6)];
        word &= ~(std::uint64_t{1} << (index & 63));
        if (word != 0) return;
        index >>= 6;
    }
    top &= ~(std::uint64_t{1} << index);
}

/// Sets bit `index` and the summary bits above it.
inline void bit_tree_set(std::uint64_t& top, std::uint64_t* rest, const BitTreeLayout& layout,
                         std::uint32_t index) noexcept {
    for (std::uint32_t level = 0; level + 1 < layout.levels; ++level) {
        std::uint64_t& word = rest[layout.offset[level] + (index >> 6)];
        const std::uint64_t old = word;
        word = old | (std::uint64_t{1} << (index & 63));
        if (old != 0) return;
        index >>= 6;
    }
    top |= std::uint64_t{1} << index;
}

/// Zeroes, at every level below the top, the word that item `index` (a
/// multiple of 64) is the first item of. Called when a page's bump index
/// reaches a multiple of 64, so that words are initialized only as slots come
/// into use; the top word is zeroed when the page is taken.
inline void bit_tree_zero_from(std::uint64_t* rest, const BitTreeLayout& layout, std::uint32_t index) noexcept {
    for (std::uint32_t level = 0; level + 1 < layout.levels; ++level) {
        rest[layout.offset[level] + (index >> 6)] = 0;
        if ((index & (64u * 64u - 1)) != 0) return;  // not the first item of the next level's word
        index >>= 6;
    }
}

/// Checks that every summary bit over the first `leaf_words` leaf words is
/// set iff its word is non-zero, and that summary bits beyond them are zero.
bool bit_tree_summaries_consistent(std::uint64_t top, const std::uint64_t* rest, const BitTreeLayout& layout,
                                   std::uint64_t leaf_words) noexcept {
    std::uint64_t child_words = leaf_words;
    for (std::uint32_t level = 1; level < layout.levels; ++level) {
        const std::uint64_t parent_words = (child_words + 63) / 64;
        for (std::uint64_t w = 0; w < parent_words; ++w) {
            const std::uint64_t parent = bit_tree_word(top, rest, layout, level, w);
            for (std::uint64_t bit = 0; bit < 64; ++bit) {
                const std::uint64_t child = w * 64 + bit;
                const bool expected =
                    child < child_words && bit_tree_word(top, rest, layout, level - 1, child) != 0;
                if (((parent >> bit) & 1) != static_cast<std::uint64_t>(expected)) return false;
            }
        }
        child_words = parent_words;
    }
    return true;
}

/// Size class of a slot size request (1 <= size), four classes per power of
/// two: 16, 20, 24, 28, 32, 40, ...
inline std::uint32_t class_of(std::uint64_t size) noexcept {
    if (size <= 16) return 0;
    const std::uint64_t t = size - 1;
    const std::uint32_t p = static_cast<std::uint32_t>(std::bit_width(t)) - 1;  // 2^p <= t < 2^(p+1)
    const std::uint32_t k = static_cast<std::uint32_t>((t >> (p - 2)) & 3);
    return (p - 4) * 4 + k + 1;
}

/// Slot size of class c (inverse of class_of on slot sizes).
constexpr std::uint64_t class_slot_size(std::uint32_t c) noexcept {
    if (c == 0) return 16;
    const std::uint32_t p = 4 + (c - 1) / 4;
    const std::uint64_t k = (c - 1) % 4;
    return (std::uint64_t{1} << p) + ((k + 1) << (p - 2));
}

}  // namespace
}  // namespace detail

using detail::slab_none;
using detail::free_page;

Result<SlabAllocator, SubAllocationError> SlabAllocator::create(std::uint64_t capacity, SlabConfig config) {
    const std::uint64_t page = config.page_size;
    const std::uint64_t max_slot = config.max_slot_size;
    if (!detail::is_pow2(page) || page > max_page_size) return unexpected(SubAllocationError::invalid_size);
    if (!detail::is_pow2(max_slot) || max_slot < min_slot_size || max_slot > page) {
        return unexpected(SubAllocationError::invalid_size);
    }
    if (capacity == 0 || capacity % page != 0) return unexpected(SubAllocationError::invalid_size);
    const std::uint64_t pages = capacity / page;
    if (pages >= slab_none) return unexpected(SubAllocationError::invalid_size);

    SlabAllocator slab;
    slab.capacity_ = capacity;
    slab.page_size_ = page;
    slab.max_slot_size_ = max_slot;
    slab.page_shift_ = static_cast<std::uint32_t>(std::countr_zero(page));
    slab.page_count_ = static_cast<std::uint32_t>(pages);

    const std::uint32_t classes = detail::class_of(max_slot) + 1;
    slab.classes_.resize(classes);
    for (std::uint32_t c = 0; c < classes; ++c) {
        SizeClass& cls = slab.classes_[c];
        cls.slot_size = detail::class_slot_size(c);
        cls.slots_per_page = static_cast<std::uint32_t>(page / cls.slot_size);
        // Exact for in_page = i * slot_size: the error term i * (reciprocal *
        // slot_size - 2^32) < page_size <= 2^22 stays below 2^32.
        cls.reciprocal = static_cast<std::uint32_t>(((std::uint64_t{1} << 32) + cls.slot_size - 1) / cls.slot_size);
        cls.partial_head = slab_none;
        cls.layout = detail::make_bit_tree_layout(cls.slots_per_page);
    }
    assert(slab.classes_.back().slot_size == max_slot);
    slab.block_words_ = slab.classes_.front().layout.total_words;  // class 0 has the most slots

    slab.pages_.resize(pages);
    for (PageMeta& meta : slab.pages_) {
        meta.prev = slab_none;
        meta.next = slab_none;
        meta.block = slab_none;
        meta.size_class = free_page;
    }

    // Every page starts in the pool: all leaf bits below `pages` set, then the
    // summaries from them.
    slab.pool_layout_ = detail::make_bit_tree_layout(pages);
    slab.pool_words_.assign(slab.pool_layout_.total_words, 0);
    std::uint64_t items = pages;
    for (std::uint32_t level = 0; level + 1 < slab.pool_layout_.levels; ++level) {
        std::uint64_t* words = slab.pool_words_.data() + slab.pool_layout_.offset[level];
        for (std::uint64_t w = 0; w < items / 64; ++w) words[w] = ~std::uint64_t{0};
        if (items % 64 != 0) words[items / 64] = (std::uint64_t{1} << (items % 64)) - 1;
        items = (items + 63) / 64;
    }
    slab.pool_top_ = items == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << items) - 1;
    slab.free_range_count_ = 1;
    return slab;
}

bool SlabAllocator::page_is_free(std::uint32_t page) const noexcept {
    return detail::bit_tree_test(pool_top_, pool_words_.data(), pool_layout_, page);
}

std::uint32_t SlabAllocator::take_page(std::uint32_t size_class) {
    const std::uint32_t page = detail::bit_tree_find_first(pool_top_, pool_words_.data(), pool_layout_);
    if (page == slab_none) return slab_none;
    detail::bit_tree_clear(pool_top_, pool_words_.data(), pool_layout_, page);
    const bool left_free = page > 0 && page_is_free(page - 1);
    const bool right_free = page + 1 < page_count_ && page_is_free(page + 1);
    if (left_free && right_free) ++free_range_count_;        // one range split in two
    else if (!left_free && !right_free) --free_range_count_;  // a one-page range gone
    ++pages_in_use_;

    PageMeta& meta = pages_[page];
    if (meta.block == slab_none) {
        meta.block = blocks_used_++;
        bitmap_words_.resize(static_cast<std::size_t>(blocks_used_) * block_words_);
    }
    meta.size_class = size_class;
    meta.top = 0;
    meta.live = 0;
    meta.bump = 0;
    meta.prev = slab_none;
    meta.next = slab_none;
    return page;
}

void SlabAllocator::release_page(std::uint32_t page) {
    PageMeta& meta = pages_[page];
    meta.size_class = free_page;
    meta.live = 0;
    meta.bump = 0;
    meta.prev = slab_none;
    meta.next = slab_none;
    const bool left_free = page > 0 && page_is_free(page - 1);
    const bool right_free = page + 1 < page_count_ && page_is_free(page + 1);
    if (left_free && right_free) --free_range_count_;  // two ranges joined
    else if (!left_free && !right_free) ++free_range_count_;
    detail::bit_tree_set(pool_top_, pool_words_.data(), pool_layout_, page);
    --pages_in_use_;
}

void SlabAllocator::push_partial(std::uint32_t size_class, std::uint32_t page) {
    SizeClass& cls = classes_[size_class];
    PageMeta& meta = pages_[page];
    meta.prev = slab_none;
    meta.next = cls.partial_head;
    if (cls.partial_head != slab_none) pages_[cls.partial_head].prev = page;
    cls.partial_head = page;
}

void SlabAllocator::unlink_partial(std::uint32_t size_class, std::uint32_t page) {
    PageMeta& meta = pages_[page];
    if (meta.prev != slab_none) pages_[meta.prev].next = meta.next;
    else classes_[size_class].partial_head = meta.next;
    if (meta.next != slab_none) pages_[meta.next].prev = meta.prev;
    meta.prev = slab_none;
    meta.next = slab_none;
}

Result<SubAllocation, SubAllocationError> SlabAllocator::allocate(std::uint64_t size, std::uint64_t alignment) {
    if (size == 0 || size > max_slot_size_) return unexpected(SubAllocationError::invalid_size);
    if (!detail::is_pow2(alignment) || alignment > max_slot_size_) {
        return unexpected(SubAllocationError::invalid_alignment);
    }
    // The slot must hold `size` and be a multiple of `alignment` (so at least
    // alignment). The last class is max_slot_size, a power of two >= alignment,
    // so the walk ends; it takes at most 4 steps (to the next power of two).
    std::uint32_t size_class = detail::class_of(size > alignment ? size : alignment);
    while ((classes_[size_class].slot_size & (alignment - 1)) != 0) ++size_class;
    SizeClass& cls = classes_[size_class];

    std::uint32_t page = cls.partial_head;
    const bool fresh = page == slab_none;
    if (fresh) {
        page = take_page(size_class);
        if (page == slab_none) return unexpected(SubAllocationError::out_of_space);
    }
    PageMeta& meta = pages_[page];
    std::uint64_t* words = block_words(meta.block);
    std::uint32_t slot = detail::bit_tree_find_first(meta.top, words, cls.layout);  // top == 0 on a fresh page
    if (slot != slab_none) {
        detail::bit_tree_clear(meta.top, words, cls.layout, slot);
    } else {
        slot = meta.bump++;
        if ((slot & 63) == 0) detail::bit_tree_zero_from(words, cls.layout, slot);
    }
    ++meta.live;
    if (fresh) {
        if (meta.live < cls.slots_per_page) push_partial(size_class, page);
    } else if (meta.live == cls.slots_per_page) {
        unlink_partial(size_class, page);
    }

    used_bytes_ += cls.slot_size;
    requested_bytes_ += size;
    ++allocation_count_;
    SubAllocation allocation;
    allocation.offset = (static_cast<std::uint64_t>(page) << page_shift_) + slot * cls.slot_size;
    allocation.size = size;
    allocation.reserved = cls.slot_size;
    allocation.metadata = size_class;
    return allocation;
}

void SlabAllocator::free(const SubAllocation& allocation) {
    const std::uint64_t page64 = allocation.offset >> page_shift_;
    assert(page64 < page_count_ && "free: offset outside this allocator");
    const std::uint32_t page = static_cast<std::uint32_t>(page64);
    PageMeta& meta = pages_[page];
    const std::uint32_t size_class = meta.size_class;
    assert(size_class != free_page && "free: page not in use (double free?)");
    assert(size_class == allocation.metadata && "free: allocation not from this allocator");
    SizeClass& cls = classes_[size_class];
    const std::uint64_t in_page = allocation.offset & (page_size_ - 1);
    const std::uint32_t slot = static_cast<std::uint32_t>((in_page * cls.reciprocal) >> 32);
    assert(slot * cls.slot_size == in_page && "free: offset is not a slot start");
    assert(slot < meta.bump && "free: slot never allocated");
    assert(!detail::bit_tree_test(meta.top, block_words(meta.block), cls.layout, slot) && "free: slot already free");
    assert(allocation.reserved == cls.slot_size && allocation.size <= cls.slot_size);

    used_bytes_ -= cls.slot_size;
    requested_bytes_ -= allocation.size;
    --allocation_count_;
    if (meta.live == 1) {
        if (cls.slots_per_page > 1) unlink_partial(size_class, page);
        release_page(page);
        return;
    }
    if (meta.live == cls.slots_per_page) push_partial(size_class, page);
    --meta.live;
    detail::bit_tree_set(meta.top, block_words(meta.block), cls.layout, slot);
}

SubAllocatorStats SlabAllocator::stats() const {
    SubAllocatorStats s;
    s.capacity = capacity_;
    s.used_bytes = used_bytes_;
    s.requested_bytes = requested_bytes_;
    s.allocation_count = allocation_count_;
    s.free_range_count = free_range_count_;

    // Longest run of set bits over the pool's leaf words (bits past the last
    // page are never set).
    std::uint64_t longest = 0;
    std::uint64_t run = 0;
    const std::uint64_t leaf_words = (static_cast<std::uint64_t>(page_count_) + 63) / 64;
    for (std::uint64_t w = 0; w < leaf_words; ++w) {
        std::uint64_t word = detail::bit_tree_word(pool_top_, pool_words_.data(), pool_layout_, 0, w);
        if (word == ~std::uint64_t{0}) {
            run += 64;
            continue;
        }
        if (word == 0) {
            longest = run > longest ? run : longest;
            run = 0;
            continue;
        }
        std::uint32_t position = 0;
        while (position < 64) {
            const std::uint32_t ones = static_cast<std::uint32_t>(std::countr_one(word));
            run += ones;
            position += ones;
            if (position >= 64) break;
            longest = run > longest ? run : longest;
            run = 0;
            word >>= ones;
            const std::uint32_t zeros = static_cast<std::uint32_t>(std::countr_zero(word));
            if (zeros >= 64 - position) break;  // rest of the word is zero
            position += zeros;
            word >>= zeros;
        }
    }
    longest = run > longest ? run : longest;
    s.largest_free_range = longest * page_size_;
    return s;
}

bool SlabAllocator::validate_page(std::uint32_t page) const {
    const PageMeta& meta = pages_[page];
    if (meta.size_class >= classes_.size()) return false;
    const SizeClass& cls = classes_[meta.size_class];
    if (meta.block >= blocks_used_) return false;
    if (meta.live < 1 || meta.live > cls.slots_per_page) return false;
    if (meta.bump < meta.live || meta.bump > cls.slots_per_page) return false;

    const std::uint64_t* words = block_words(meta.block);
    const std::uint64_t leaf_words = (static_cast<std::uint64_t>(meta.bump) + 63) / 64;  // initialized
    std::uint64_t free_slots = 0;
    for (std::uint64_t w = 0; w < leaf_words; ++w) {
        const std::uint64_t word = detail::bit_tree_word(meta.top, words, cls.layout, 0, w);
        const std::uint64_t first = w * 64;
        if (first + 64 > meta.bump) {
            const std::uint64_t valid = meta.bump - first;  // 1..63
            if ((word >> valid) != 0) return false;          // free bit at or beyond the bump index
        }
        free_slots += static_cast<std::uint64_t>(std::popcount(word));
    }
    if (meta.live + free_slots != meta.bump) return false;
    return detail::bit_tree_summaries_consistent(meta.top, words, cls.layout, leaf_words);
}

bool SlabAllocator::validate() const {
    if (page_count_ == 0 || capacity_ != static_cast<std::uint64_t>(page_count_) * page_size_) return false;

    // Page pool bitmap: summaries, nothing past the last page.
    const std::uint64_t pool_leaf_words = (static_cast<std::uint64_t>(page_count_) + 63) / 64;
    if (page_count_ % 64 != 0) {
        const std::uint64_t last =
            detail::bit_tree_word(pool_top_, pool_words_.data(), pool_layout_, 0, pool_leaf_words - 1);
        if ((last >> (page_count_ % 64)) != 0) return false;
    }
    if (!detail::bit_tree_summaries_consistent(pool_top_, pool_words_.data(), pool_layout_, pool_leaf_words)) {
        return false;
    }

    // Pages: pool membership, per-page bitmaps, accounting, free ranges.
    std::uint64_t in_use = 0;
    std::uint64_t ranges = 0;
    std::uint64_t live = 0;
    std::uint64_t used = 0;
    std::uint64_t partial_pages = 0;
    bool previous_free = false;
    for (std::uint32_t page = 0; page < page_count_; ++page) {
        const PageMeta& meta = pages_[page];
        const bool is_free = page_is_free(page);
        if (is_free != (meta.size_class == free_page)) return false;
        if (is_free) {
            if (meta.live != 0 || meta.prev != slab_none || meta.next != slab_none) return false;
            if (!previous_free) ++ranges;
        } else {
            if (!validate_page(page)) return false;
            ++in_use;
            live += meta.live;
            used += meta.live * classes_[meta.size_class].slot_size;
            if (meta.live < classes_[meta.size_class].slots_per_page) ++partial_pages;
        }
        previous_free = is_free;
    }
    if (in_use != pages_in_use_ || ranges != free_range_count_) return false;
    if (live != allocation_count_ || used != used_bytes_ || requested_bytes_ > used_bytes_) return false;
    if (live == 0 && requested_bytes_ != 0) return false;

    // Partial lists: doubly linked, right class, partial pages only, and every
    // partial page on one (counting, with the per-page check above).
    std::uint64_t listed = 0;
    for (std::uint32_t c = 0; c < classes_.size(); ++c) {
        std::uint32_t previous = slab_none;
        for (std::uint32_t page = classes_[c].partial_head; page != slab_none; page = pages_[page].next) {
            if (page >= page_count_ || listed >= partial_pages) return false;  // bad link or a cycle
            const PageMeta& meta = pages_[page];
            if (meta.size_class != c || meta.prev != previous) return false;
            if (meta.live == 0 || meta.live >= classes_[c].slots_per_page) return false;
            ++listed;
            previous = page;
        }
    }
    return listed == partial_pages;
}

}  // namespace gpu_alloc
