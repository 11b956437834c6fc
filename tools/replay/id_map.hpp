// IdMap<V>: the hash map from trace allocation IDs to what the replay holds for
// them (a MemoryBlock in the replay loop, a plain integer in the baseline loop).
//
// Why a map of its own: ns_per_op is meant to be the allocator's cost plus as
// little as possible, and allocator cost is read as ns_per_op minus the
// baseline loop, which does only this map's insert and erase. std::unordered_map
// allocates a node per insert and would dominate both numbers; an
// open-addressing table sized once to the trace's peak live count does no
// allocation in the timed loops, and the same table in both loops makes the
// subtraction fair.
//
// Algorithm: linear probing over a power-of-two table of keys, Fibonacci
// hashing (key * 2^64/phi, top bits), load factor at most 1/2, deletion by
// backward shift (no tombstones, so probe lengths do not decay over a
// million-operation churn). The key 2^64 - 1 marks an empty slot; that one key
// is stored beside the table. Values live in a parallel array of raw storage,
// so V needs only to be move-constructible (MemoryBlock is move-only).
// Complexity: insert, find, take O(1) expected.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace gpu_alloc::replay {

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
        if (table_capacity_for(expected) > keys_.size()) rehash(expected);
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
        if ((size_ + 1) * 2 > keys_.size()) rehash((size_ + 1) * 2);
        std::size_t i = home(key);
        while (keys_[i] != empty_key) {
            if (keys_[i] == key) return false;
            i = (i + 1) & mask_;
        }
        keys_[i] = key;
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
        for (std::size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] != empty_key) f(keys_[i], *value_at(i));
        if (special_) f(empty_key, *special_);
    }

    /// Removes every entry (destroying the values); keeps the table.
    void clear() noexcept {
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            if (keys_[i] != empty_key) {
                value_at(i)->~V();
                keys_[i] = empty_key;
            }
        }
        size_ = 0;
        special_.reset();
    }

private:
    static constexpr std::uint64_t empty_key = ~std::uint64_t{0};
    static constexpr std::size_t npos = ~std::size_t{0};

    struct alignas(V) Storage {
        unsigned char bytes[sizeof(V)];
    };

    static std::size_t table_capacity_for(std::size_t expected) noexcept {
        return std::bit_ceil(expected * 2 < 16 ? std::size_t{16} : expected * 2);
    }

    std::size_t home(std::uint64_t key) const noexcept {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    V* value_at(std::size_t i) noexcept { return std::launder(reinterpret_cast<V*>(values_[i].bytes)); }

    std::size_t slot_of(std::uint64_t key) const noexcept {
        std::size_t i = home(key);
        while (keys_[i] != empty_key) {
            if (keys_[i] == key) return i;
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
            if (keys_[i] == empty_key) break;
            const std::size_t h = home(keys_[i]);
            // Movable when its home is not in (hole, i] (cyclically).
            const bool movable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i);
            if (movable) {
                keys_[hole] = keys_[i];
                ::new (value_at(hole)) V(std::move(*value_at(i)));
                value_at(i)->~V();
                hole = i;
            }
        }
        keys_[hole] = empty_key;
        --size_;
    }

    void rehash(std::size_t expected) {
        const std::size_t capacity = table_capacity_for(expected);
        std::vector<std::uint64_t> old_keys(capacity, empty_key);
        std::unique_ptr<Storage[]> old_values(new Storage[capacity]);
        old_keys.swap(keys_);
        old_values.swap(values_);
        mask_ = capacity - 1;
        shift_ = 64 - std::countr_zero(capacity);
        size_ = 0;
        for (std::size_t i = 0; i < old_keys.size(); ++i) {
            if (old_keys[i] == empty_key) continue;
            V* old = std::launder(reinterpret_cast<V*>(old_values[i].bytes));
            std::size_t j = home(old_keys[i]);
            while (keys_[j] != empty_key) j = (j + 1) & mask_;
            keys_[j] = old_keys[i];
            ::new (value_at(j)) V(std::move(*old));
            old->~V();
            ++size_;
        }
    }

    std::vector<std::uint64_t> keys_;
    std::unique_ptr<Storage[]> values_;
    std::size_t mask_ = 0;
    int shift_ = 64;
    std::size_t size_ = 0;
    std::optional<V> special_;
};

}  // namespace gpu_alloc::replay
