#include "CWeirSupport.h"

/* ThreadSanitizer's annotation entry points. Weak: they resolve only in a binary linked with
   the TSan runtime (swift build/test --sanitize=thread) and are NULL everywhere else. */
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));

void weir_tsan_acquire(void *addr) {
    if (__tsan_acquire) __tsan_acquire(addr);
}

void weir_tsan_release(void *addr) {
    if (__tsan_release) __tsan_release(addr);
}
