#ifndef WEIR_CWEIRSUPPORT_H
#define WEIR_CWEIRSUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends a CRC-32C (Castagnoli) checksum over `length` bytes. Pass 0 as `crc` to start.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, a slice-by-8 table otherwise.
uint32_t weir_crc32c_update(uint32_t crc, const void *data, size_t length);

/// The slice-by-8 software path, exposed so tests can check it against the hardware path.
uint32_t weir_crc32c_update_sw(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use.
int weir_crc32c_hardware(void);

/// Linux `fallocate(2)` (needs _GNU_SOURCE, which Swift cannot set). Returns 0 or -1 and errno.
int weir_fallocate(int fd, int mode, int64_t offset, int64_t length);

/// Tells ThreadSanitizer that the caller acquired / is about to release the lock identified by
/// `addr`. No-ops unless the binary runs under TSan. Synchronization.Mutex on Linux hands a
/// contended lock over inside the kernel (a priority-inheritance futex), which TSan cannot see.
void weir_tsan_acquire(void *addr);
void weir_tsan_release(void *addr);

/// Linux `sync_file_range(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE)`: starts writeback of the
/// range without waiting (needs _GNU_SOURCE). Returns 0 or -1 and errno.
int weir_sync_file_range_write(int fd, int64_t offset, int64_t nbytes);

/// Linux `syncfs(fd)`: writes every dirty page and inode of the file system holding `fd` to disk
/// and waits (one journal commit; needs _GNU_SOURCE). Returns 0 or -1 and errno.
int weir_syncfs(int fd);

/// Wall-clock milliseconds since the epoch for a record's `CreateTime`, read at most once per
/// `WEIR_RECORD_CLOCK_WINDOW` cycles per thread (x86-64; elsewhere every call): never later
/// than `clock_gettime(CLOCK_REALTIME)`, and at most that many cycles (66 µs at 1 GHz) earlier.
int64_t weir_record_time_millis(void);

/// The cycle window of `weir_record_time_millis`.
#define WEIR_RECORD_CLOCK_WINDOW 65536u

/// Wakes the thread parked on `state` (a zero-initialised futex word owned by one thread), or
/// makes its next `weir_parker_park` return at once: one atomic exchange, and a futex wake
/// only when the thread is parked.
void weir_parker_unpark(uint32_t *state);

/// Blocks the calling thread (the one owner of `state`) until `weir_parker_unpark`, until
/// `deadline_nanos` on CLOCK_MONOTONIC, or spuriously; returns 1 when it consumed a wake-up,
/// 0 otherwise. One futex wait.
int weir_parker_park(uint32_t *state, uint64_t deadline_nanos);

/// Registers a file mapping with the process-wide SIGBUS guard (installed on first use): a fault
/// inside it (another process shrank the file) maps a zero page over the faulting page and marks
/// the mapping damaged instead of killing the process. Returns the slot, or -1 when unguarded.
int weir_guard_register(const void *base, size_t length);

/// Forgets a slot; call before unmapping.
void weir_guard_unregister(int slot);

/// The number of guard slots.
#define WEIR_GUARD_SLOTS 65536

/// Each slot's damaged flag (written by the SIGBUS handler with a release store). Declared here
/// so that `weir_guard_damaged` inlines into Swift as one acquire load, not a call.
extern int weir_guard_damaged_flags[WEIR_GUARD_SLOTS];

/// 1 once a fault hit the mapping in `slot` (its bytes past the file's end now read as zeros).
static inline int weir_guard_damaged(int slot) {
    if ((unsigned)slot >= WEIR_GUARD_SLOTS) return 0;
    return __atomic_load_n(&weir_guard_damaged_flags[slot], __ATOMIC_ACQUIRE);
}

#ifdef __cplusplus
}
#endif

#endif
