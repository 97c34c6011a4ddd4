/* The cost of memory the process has not touched before, 1 GiB at a time: on a VM whose host
   backs guest memory only when the guest first touches it (and takes back what the guest frees),
   the first write to each page can run far below the speed of a second write to it. A page
   cache that grows by everything a long max-rate run writes pays the same cost
   (docs/log-core-performance.md, "Round 5").

   cc -O2 -o /tmp/first_touch Benchmarks/probes/first_touch.c
   /tmp/first_touch GiB        e.g. /tmp/first_touch 12   (keep GiB below the free memory)

   Prints the write speed of each GiB, on the first pass and on a second pass over the same
   memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2 || atol(argv[1]) <= 0) { fprintf(stderr, "usage: %s GiB\n", argv[0]); return 2; }
    long gib = atol(argv[1]);
    size_t chunk = 1UL << 30;
    char *p = mmap(NULL, gib * chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    for (int pass = 0; pass < 2; pass++) {
        printf("%s pass, MB/s per GiB:", pass == 0 ? "first" : "second");
        for (long i = 0; i < gib; i++) {
            double t = now();
            memset(p + i * chunk, pass + 1, chunk);
            printf(" %.0f", chunk / 1e6 / (now() - t));
            fflush(stdout);
        }
        printf("\n");
    }
    return 0;
}
