// Result<T, E>: a value or an error, shaped like C++23's std::expected.
//
// Why not std::expected: g++ 12 (Debian 12) ships it only under -std=c++23,
// and the public API must build as C++20. The subset here is the part the
// library uses: construction from a value or from Unexpected<E>, has_value(),
// value(), error(), operator*, operator->, value_or(). Accessing the wrong
// alternative is a contract violation: it asserts in debug builds and aborts
// in release builds (the library builds with -fno-exceptions).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace gpu_alloc {

namespace detail {
[[noreturn]] inline void result_access_violation(const char* what) noexcept {
    std::fprintf(stderr, "gpu_alloc::Result: %s\n", what);
    std::abort();
}
}  // namespace detail

/// Wraps an error so that Result<T, E> can be built from it unambiguously.
template <class E>
class Unexpected {
public:
    constexpr explicit Unexpected(E error) noexcept(std::is_nothrow_move_constructible_v<E>)
        : error_(std::move(error)) {}
    constexpr const E& error() const& noexcept { return error_; }
    constexpr E& error() & noexcept { return error_; }
    constexpr E&& error() && noexcept { return std::move(error_); }

private:
    E error_;
};

/// Shorthand: `return unexpected(OutOfMemory::out_of_device_memory);`
template <class E>
constexpr Unexpected<std::decay_t<E>> unexpected(E&& error) {
    return Unexpected<std::decay_t<E>>(std::forward<E>(error));
}

/// A value of type T, or an error of type E. Never empty.
template <class T, class E>
class [[nodiscard]] Result {
    static_assert(!std::is_reference_v<T> && !std::is_reference_v<E>);

public:
    using value_type = T;
    using error_type = E;

    constexpr Result(const T& value) : has_value_(true) { ::new (&value_) T(value); }
    constexpr Result(T&& value) noexcept(std::is_nothrow_move_constructible_v<T>) : has_value_(true) {
        ::new (&value_) T(std::move(value));
    }
    template <class G>
    constexpr Result(Unexpected<G> error) : has_value_(false) {
        ::new (&error_) E(std::move(error).error());
    }
    Result(const Result& other) : has_value_(other.has_value_) {
        if (has_value_) ::new (&value_) T(other.value_);
        else ::new (&error_) E(other.error_);
    }
    Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) : has_value_(other.has_value_) {
        if (has_value_) ::new (&value_) T(std::move(other.value_));
        else ::new (&error_) E(std::move(other.error_));
    }
    Result& operator=(Result other) noexcept(std::is_nothrow_move_constructible_v<T>) {
        destroy();
        has_value_ = other.has_value_;
        if (has_value_) ::new (&value_) T(std::move(other.value_));
        else ::new (&error_) E(std::move(other.error_));
        return *this;
    }
    ~Result() { destroy(); }

    constexpr bool has_value() const noexcept { return has_value_; }
    constexpr explicit operator bool() const noexcept { return has_value_; }

    constexpr T& value() & { check_value(); return value_; }
    constexpr const T& value() const& { check_value(); return value_; }
    constexpr T&& value() && { check_value(); return std::move(value_); }
    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T&& operator*() && { return std::move(*this).value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    constexpr const E& error() const& {
        if (has_value_) detail::result_access_violation("error() called on a value");
        return error_;
    }
    constexpr E& error() & {
        if (has_value_) detail::result_access_violation("error() called on a value");
        return error_;
    }

    template <class U>
    constexpr T value_or(U&& fallback) const& {
        return has_value_ ? value_ : static_cast<T>(std::forward<U>(fallback));
    }

private:
    void check_value() const {
        if (!has_value_) detail::result_access_violation("value() called on an error");
    }
    void destroy() noexcept {
        if (has_value_) value_.~T();
        else error_.~E();
    }

    union {
        T value_;
        E error_;
    };
    bool has_value_;
};

/// Success without a value, or an error of type E.
template <class E>
class [[nodiscard]] Result<void, E> {
public:
    using value_type = void;
    using error_type = E;

    constexpr Result() noexcept : has_value_(true), error_() {}
    template <class G>
    constexpr Result(Unexpected<G> error) : has_value_(false), error_(std::move(error).error()) {}

    constexpr bool has_value() const noexcept { return has_value_; }
    constexpr explicit operator bool() const noexcept { return has_value_; }
    constexpr void value() const {
        if (!has_value_) detail::result_access_violation("value() called on an error");
    }
    constexpr const E& error() const {
        if (has_value_) detail::result_access_violation("error() called on a value");
        return error_;
    }

private:
    bool has_value_;
    E error_;
};

}  // namespace gpu_alloc
