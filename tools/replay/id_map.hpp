// The tables from trace allocation IDs to what the replay holds for them.
//
// Why tables of their own: ns_per_op is meant to be the allocator's cost plus
// as little as possible, and allocator cost is read as ns_per_op minus the
// baseline loop, which does nothing but this bookkeeping. std::unordered_map
// allocates a node per insert and would dominate both numbers.
//
// IdMap<V>: open addressing with linear probing over a power-of-two table of
// (key, value) slots, Fibonacci hashing (key * 2^64/phi, top bits), load
// factor at most 1/2, deletion by backward shift (no tombstones, so probe
// lengths do not decay over a million-operation churn). The key 2^64 - 1
// marks an empty slot; that one key is stored beside the table. Insert, find,
// take: O(1) expected.
//
// IdTable<V>: what the replay loops use. An IdMap from ID to a 32-bit slot
// index, and the values in a dense vector of slots reused LIFO. The hash
// table stays small (16-byte slots) whatever V is, values never move when the
// table shifts entries, and the replay loop (V = MemoryBlock) and the
// baseline loop (V = a trivially copyable value of the same size) run the
// very same code. Sized once to the trace's peak live count, neither
// allocates in the timed loops. prefetch_index / prefetch_value let a loop
// that knows its next operations (a trace replay does) load their slots ahead.
#pragma once

#include <bit>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace gpu_alloc::replay {

namespace detail {
/// Asks the cache for the line holding `p`. An asm statement on x86, because
/// g++ 12 at -O2 drops a __builtin_prefetch whose address comes from a table
/// lookup (measured: IdTable::prefetch_value compiled to nothing).
inline void prefetch(const void* p) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
    __builtin_prefetch(p);
#endif
}

/// Storage for the tables: 2 MiB-aligned and marked for transparent huge pages
/// when at least that large, so that a table of 100,000 live blocks costs no
/// TLB miss per lookup (the baseline and the replay loop use the same tables).
void* table_allocate(std::size_t bytes) noexcept;
void table_free(void* p) noexcept;

template <class T>
struct TableAllocator {
    using value_type = T;
    TableAllocator() noexcept = default;
    template <class U>
    TableAllocator(const TableAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        void* p = table_allocate(n * sizeof(T));
        if (p == nullptr) std::abort();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { table_free(p); }
    friend bool operator==(const TableAllocator&, const TableAllocator&) noexcept { return true; }
};
}  // namespace detail

/// Open-addressing hash map from 64-bit IDs to move-only values.
template <class V>
class IdMap {
    static_assert(std::is_nothrow_move_constructible_v<V>, "IdMap moves values during deletion");

public:
    /// An empty map with room for `expected` entries before it grows.
    explicit IdMap(std::size_t expected = 0) { rehash(expected); }
    IdMap(const IdMap&) = delete;
    IdMap& operator=(const IdMap&) = delete;
    ~IdMap() { clear(); }

    /// Live entries.
    std::size_t size() const noexcept { return size_ + (special_ ? 1 : 0); }

    /// Grows the table so that `expected` entries fit without further growth.
    void reserve(std::size_t expected) {
        if (table_capacity_for(expected) > capacity_) rehash(expected);
    }

    /// Inserts `key` with a value built from `args`.
    /// Returns: false (and builds nothing) when `key` is already present.
    template <class... Args>
    bool try_emplace(std::uint64_t key, Args&&... args) {
        if (key == empty_key) {
            if (special_) return false;
            special_.emplace(std::forward<Args>(args)...);
            return true;
        }
        if ((size_ + 1) * 2 > capacity_) rehash((size_ + 1) * 2);
        std::size_t i = home(key);
        while (slots_[i].key != empty_key) {
            if (slots_[i].key == key) return false;
            i = (i + 1) & mask_;
        }
        slots_[i].key = key;
        ::new (value_at(i)) V(std::forward<Args>(args)...);
        ++size_;
        return true;
    }

    /// The value of `key`, or nullptr when absent.
    V* find(std::uint64_t key) noexcept {
        if (key == empty_key) return special_ ? &*special_ : nullptr;
        const std::size_t i = slot_of(key);
        return i == npos ? nullptr : value_at(i);
    }

    /// Hints the cache to load the table slot where `key` is (or would go).
    void prefetch(std::uint64_t key) const noexcept { detail::prefetch(&slots_[home(key)]); }

    /// Removes `key` and returns its value, or nothing when absent.
    std::optional<V> take(std::uint64_t key) noexcept {
        if (key == empty_key) {
            std::optional<V> out = std::move(special_);
            special_.reset();
            return out;
        }
        const std::size_t i = slot_of(key);
        if (i == npos) return std::nullopt;
        std::optional<V> out(std::move(*value_at(i)));
        remove_slot(i);
        return out;
    }

    /// Removes `key`. Returns: whether it was present.
    bool erase(std::uint64_t key) noexcept {
        if (key == empty_key) {
            const bool had = special_.has_value();
            special_.reset();
            return had;
        }
        const std::size_t i = slot_of(key);
        if (i == npos) return false;
        remove_slot(i);
        return true;
    }

    /// Calls `f(key, value&)` for every entry, in no particular order.
    template <class F>
    void for_each(F&& f) {
        for (std::size_t i = 0; i < capacity_; ++i)
            if (slots_[i].key != empty_key) f(slots_[i].key, *value_at(i));
        if (special_) f(empty_key, *special_);
    }

    /// Removes every entry (destroying the values); keeps the table.
    void clear() noexcept {
        for (std::size_t i = 0; i < capacity_; ++i) {
            if (slots_[i].key != empty_key) {
                value_at(i)->~V();
                slots_[i].key = empty_key;
            }
        }
        size_ = 0;
        special_.reset();
    }

private:
    static constexpr std::uint64_t empty_key = ~std::uint64_t{0};
    static constexpr std::size_t npos = ~std::size_t{0};

    struct Slot {
        std::uint64_t key;
        alignas(V) unsigned char bytes[sizeof(V)];
    };

    static std::size_t table_capacity_for(std::size_t expected) noexcept {
        return std::bit_ceil(expected * 2 < 16 ? std::size_t{16} : expected * 2);
    }

    std::size_t home(std::uint64_t key) const noexcept {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    V* value_at(std::size_t i) noexcept { return std::launder(reinterpret_cast<V*>(slots_[i].bytes)); }

    std::size_t slot_of(std::uint64_t key) const noexcept {
        std::size_t i = home(key);
        while (slots_[i].key != empty_key) {
            if (slots_[i].key == key) return i;
            i = (i + 1) & mask_;
        }
        return npos;
    }

    // Backward-shift deletion: pull later members of the probe run into the hole
    // when their home position allows it, so that no tombstones are needed.
    void remove_slot(std::size_t hole) noexcept {
        value_at(hole)->~V();
        std::size_t i = hole;
        for (;;) {
            i = (i + 1) & mask_;
            if (slots_[i].key == empty_key) break;
            const std::size_t h = home(slots_[i].key);
            // Movable when its home is not in (hole, i] (cyclically).
            const bool movable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i);
            if (movable) {
                slots_[hole].key = slots_[i].key;
                ::new (value_at(hole)) V(std::move(*value_at(i)));
                value_at(i)->~V();
                hole = i;
            }
        }
        slots_[hole].key = empty_key;
        --size_;
    }

    void rehash(std::size_t expected) {
        const std::size_t capacity = table_capacity_for(expected);
        SlotArray old(static_cast<Slot*>(detail::table_allocate(capacity * sizeof(Slot))));
        if (!old) std::abort();
        for (std::size_t i = 0; i < capacity; ++i) old[i].key = empty_key;
        const std::size_t old_capacity = capacity_;
        old.swap(slots_);
        capacity_ = capacity;
        mask_ = capacity - 1;
        shift_ = 64 - std::countr_zero(capacity);
        size_ = 0;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            if (old[i].key == empty_key) continue;
            V* value = std::launder(reinterpret_cast<V*>(old[i].bytes));
            std::size_t j = home(old[i].key);
            while (slots_[j].key != empty_key) j = (j + 1) & mask_;
            slots_[j].key = old[i].key;
            ::new (value_at(j)) V(std::move(*value));
            value->~V();
            ++size_;
        }
    }

    struct SlotFree {
        void operator()(Slot* p) const noexcept { detail::table_free(p); }
    };
    using SlotArray = std::unique_ptr<Slot[], SlotFree>;
    SlotArray slots_;
    std::size_t capacity_ = 0;
    std::size_t mask_ = 0;
    int shift_ = 64;
    std::size_t size_ = 0;
    std::optional<V> special_;
};

/// ID -> value table of the replay loops: an IdMap to slot indices plus a
/// dense vector of values (see the file comment).
/// Requires: V default-constructible and move-assignable; a moved-from V is
/// what a free slot holds.
template <class V>
class IdTable {
public:
    /// An empty table with room for `expected` live entries before it grows.
    explicit IdTable(std::size_t expected = 0) : index_(expected) {
        values_.reserve(expected);
        free_.reserve(expected);
    }

    /// Live entries.
    std::size_t size() const noexcept { return index_.size(); }

    /// Inserts `id` with a value built from `args`.
    /// Returns: false (and builds nothing) when `id` is already present.
    template <class... Args>
    bool try_emplace(std::uint64_t id, Args&&... args) {
        const auto slot = static_cast<std::uint32_t>(free_.empty() ? values_.size() : free_.back());
        if (!index_.try_emplace(id, slot)) return false;
        if (free_.empty()) {
            values_.emplace_back(std::forward<Args>(args)...);
        } else {
            free_.pop_back();
            if constexpr (sizeof...(Args) == 1 && (std::is_same_v<std::remove_cvref_t<Args>, V> && ...))
                values_[slot] = (std::forward<Args>(args), ...);  // one move, no temporary
            else
                values_[slot] = V(std::forward<Args>(args)...);
        }
        return true;
    }

    /// Hints the cache to load the hash slot of `id` (the first step of a
    /// lookup), for an operation some steps ahead.
    void prefetch_index(std::uint64_t id) const noexcept { index_.prefetch(id); }

    /// Hints the cache to load the value of `id` when it is present (the second
    /// step: reads the hash slot, which prefetch_index should have loaded).
    void prefetch_value(std::uint64_t id) noexcept {
        if (const std::uint32_t* slot = index_.find(id)) {
            const auto* bytes = reinterpret_cast<const char*>(&values_[*slot]);
            detail::prefetch(bytes);
            detail::prefetch(bytes + sizeof(V) - 1);
        }
    }

    /// Removes `id` and returns its value, or nothing when absent.
    std::optional<V> take(std::uint64_t id) {
        const std::optional<std::uint32_t> slot = index_.take(id);
        if (!slot) return std::nullopt;
        std::optional<V> out(std::move(values_[*slot]));
        free_.push_back(*slot);
        return out;
    }

    /// Calls `f(id, value&)` for every live entry, in no particular order.
    template <class F>
    void for_each(F&& f) {
        index_.for_each([&](std::uint64_t id, std::uint32_t& slot) { f(id, values_[slot]); });
    }

    /// Removes every entry.
    void clear() noexcept {
        index_.clear();
        values_.clear();
        free_.clear();
    }

private:
    IdMap<std::uint32_t> index_;
    std::vector<V, detail::TableAllocator<V>> values_;
    std::vector<std::uint32_t> free_;
};

}  // namespace gpu_alloc::replay
