// PoolLock: the lock of one pool. A pool's critical sections are short (one
// place or free, tens of nanoseconds), so a thread that finds it taken spins
// briefly before it sleeps: with std::mutex every collision went to the kernel
// (futex), and on a 16-core machine 8 threads on one allocator ran slower than
// one. It sleeps on the atomic itself (C++20 wait/notify), so a holder that
// calls the device (a new chunk: 100 us and more on a real driver) costs the
// waiters no CPU. States: 0 free, 1 held, 2 held and someone may be asleep.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace gpu_alloc::detail {

class PoolLock {
public:
    bool try_lock() noexcept {
        std::uint32_t expected = 0;
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
    }

    void lock() noexcept {
        if (try_lock()) return;
        for (int i = 0; i < spin_limit; ++i) {
            pause();
            if (state_.load(std::memory_order_relaxed) == 0 && try_lock()) return;
        }
        // Announce a sleeper (2) and sleep until the holder lets go.
        while (state_.exchange(2, std::memory_order_acquire) != 0) state_.wait(2, std::memory_order_relaxed);
    }

    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
    }

private:
    static constexpr int spin_limit = 128;

    static void pause() noexcept {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
        _mm_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }

    std::atomic<std::uint32_t> state_{0};
};

}  // namespace gpu_alloc::detail
