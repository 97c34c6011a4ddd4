#include <time.h>
#include "CWeirSupport.h"

/* The producer's record timestamp (CreateTime) without a clock read per record: each thread
   keeps the last wall-clock millisecond it read and the cycle counter at the moment before that
   read. Within WEIR_RECORD_CLOCK_WINDOW cycles of it (65,536: at most 66 µs on any x86-64 CPU
   of 1 GHz or more) the cached millisecond is returned, so a timestamp is never later than the
   clock and at most that window earlier; otherwise the clock is read again. A cycle counter
   that went backwards (another core) fails the unsigned check and reads the clock. Other
   architectures read the clock every time. */

#if defined(__x86_64__)
#include <x86intrin.h>

static __thread uint64_t last_cycles __attribute__((tls_model("initial-exec")));
static __thread int64_t last_millis __attribute__((tls_model("initial-exec"))) = -1;
#endif

int64_t weir_record_time_millis(void) {
#if defined(__x86_64__)
    uint64_t now = __rdtsc();
    if (last_millis >= 0 && now - last_cycles < WEIR_RECORD_CLOCK_WINDOW) return last_millis;
#endif
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t millis = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#if defined(__x86_64__)
    last_cycles = now;
    last_millis = millis;
#endif
    return millis;
}
