/* Guarded file mappings: a reader must not die because another process shrank a mapped file.
 *
 * Touching a page of a shared file mapping past the file's end raises SIGBUS. Mappings that
 * WeirLog registers here are covered by a process-wide SIGBUS handler: for a fault inside one of
 * them it maps an anonymous zero page over the faulting page (MAP_FIXED), marks the mapping
 * damaged and returns, so the faulting load re-runs and reads zeros. The log then sees the flag
 * (and zeros that fail its size and CRC checks) and reports a typed error. A fault anywhere else
 * goes to the handler that was installed before (the Swift runtime's backtracer, or the default
 * action). The read path pays nothing: the handler only runs when a fault happens. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "CWeirSupport.h"

struct weir_guard_slot {
    atomic_int used;
    atomic_uintptr_t base;   /* 0 while free or being set up */
    atomic_size_t length;
};

/* Apart from the slots, so that the header's inline reader needs no C11 atomic types. */
int weir_guard_damaged_flags[WEIR_GUARD_SLOTS];

static struct weir_guard_slot slots[WEIR_GUARD_SLOTS];
static atomic_int slots_high;  /* every used slot is below this */
static atomic_int next_hint;
static struct sigaction previous_action;
static uintptr_t page_size;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void weir_sigbus(int sig, siginfo_t *info, void *context) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    int n = atomic_load_explicit(&slots_high, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        uintptr_t base = atomic_load_explicit(&slots[i].base, memory_order_acquire);
        if (base == 0 || addr < base) continue;
        if (addr - base >= atomic_load_explicit(&slots[i].length, memory_order_relaxed)) continue;
        void *page = (void *)(addr & ~(page_size - 1));
        if (mmap(page, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
            __atomic_store_n(&weir_guard_damaged_flags[i], 1, __ATOMIC_RELEASE);
            return;
        }
        break;
    }
    /* Not ours: hand it to whoever handled SIGBUS before, or die as the default does. */
    if (previous_action.sa_flags & SA_SIGINFO) {
        if (previous_action.sa_sigaction) { previous_action.sa_sigaction(sig, info, context); return; }
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);  /* the faulting access re-runs and kills the process */
}

static void weir_install(void) {
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = weir_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous_action);
}

int weir_guard_register(const void *base, size_t length) {
    if (base == NULL || length == 0) return -1;
    pthread_once(&install_once, weir_install);
    int start = atomic_fetch_add_explicit(&next_hint, 1, memory_order_relaxed) & (WEIR_GUARD_SLOTS - 1);
    for (int k = 0; k < WEIR_GUARD_SLOTS; k++) {
        int i = (start + k) & (WEIR_GUARD_SLOTS - 1);
        int expected = 0;
        if (!atomic_compare_exchange_strong(&slots[i].used, &expected, 1)) continue;
        __atomic_store_n(&weir_guard_damaged_flags[i], 0, __ATOMIC_RELAXED);
        atomic_store_explicit(&slots[i].length, length, memory_order_relaxed);
        atomic_store_explicit(&slots[i].base, (uintptr_t)base, memory_order_release);
        int high = atomic_load(&slots_high);
        while (high < i + 1 && !atomic_compare_exchange_weak(&slots_high, &high, i + 1)) {}
        return i;
    }
    return -1;  /* full: the mapping is unguarded */
}

void weir_guard_unregister(int slot) {
    if (slot < 0 || slot >= WEIR_GUARD_SLOTS) return;
    atomic_store_explicit(&slots[slot].base, 0, memory_order_release);
    atomic_store_explicit(&slots[slot].used, 0, memory_order_release);
}
