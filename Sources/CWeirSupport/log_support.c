#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
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


int weir_sync_file_range_write(int fd, int64_t offset, int64_t nbytes) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)nbytes, SYNC_FILE_RANGE_WRITE);
}

int weir_syncfs(int fd) {
    return syncfs(fd);
}
