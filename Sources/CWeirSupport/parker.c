#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "CWeirSupport.h"

/* A thread parker on one futex word: EMPTY, PARKED or NOTIFIED. `unpark` makes a single
   atomic exchange, and a futex wake only when the thread is parked; `park` a single futex
   wait. A mutex and condition variable took up to four futex calls per hand-off, and the woken
   thread often blocked again on the mutex its waker still held. */

enum { EMPTY = 0, NOTIFIED = 1, PARKED = 2 };

void weir_parker_unpark(uint32_t *state) {
    if (__atomic_exchange_n(state, NOTIFIED, __ATOMIC_RELEASE) == PARKED) {
        syscall(SYS_futex, state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

int weir_parker_park(uint32_t *state, uint64_t deadline_nanos) {
    uint32_t expected = NOTIFIED;
    /* A notification that came first: consume it. */
    if (__atomic_compare_exchange_n(state, &expected, EMPTY, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 1;
    expected = EMPTY;
    if (!__atomic_compare_exchange_n(state, &expected, PARKED, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        /* Notified in between (the state was NOTIFIED, as only this thread parks). */
        __atomic_store_n(state, EMPTY, __ATOMIC_RELAXED);
        return 1;
    }
    struct timespec ts = { .tv_sec = (time_t)(deadline_nanos / 1000000000u), .tv_nsec = (long)(deadline_nanos % 1000000000u) };
    /* An absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET without FUTEX_CLOCK_REALTIME).
       Returns on a wake, the deadline, a signal or a spurious wake-up: the caller re-checks. */
    syscall(SYS_futex, state, FUTEX_WAIT_BITSET_PRIVATE, PARKED, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
    return __atomic_exchange_n(state, EMPTY, __ATOMIC_ACQUIRE) == NOTIFIED;
}
