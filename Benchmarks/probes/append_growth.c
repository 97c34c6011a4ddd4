/* The append path's kernel cost per GB, without Weir: appends of SIZE bytes at the end of a
   file (128 MiB segments, like the bench's), `sync_file_range(SYNC_FILE_RANGE_WRITE)` every
   4 MiB (the log's `_Writeback` step) and a reader touching every page behind the writer
   through a read-only shared mapping (the log's readers). With PAD=1 every write that grows the
   file also writes zeros up to the next 64 KiB boundary, so that the page cache gets aligned
   64 KiB folios (docs/log-core-performance.md, "Round 3").

   cc -O2 -o /tmp/append_growth Benchmarks/probes/append_growth.c
   /tmp/append_growth PAD MiB SIZE        e.g. /tmp/append_growth 0 1024 66000

   Prints MB/s, system CPU seconds per GB and minor faults (getrusage). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s PAD(0|1) MiB SIZE [FILE]\n", argv[0]); return 2; }
    int pad = atoi(argv[1]);
    long total = atol(argv[2]) << 20, size = atol(argv[3]);
    const char *path = argc > 4 ? argv[4] : "/tmp/append_growth.dat";
    const long segment = 128L << 20, step = 4L << 20, quantum = 64L << 10;
    if (size <= 0 || size > segment / 4) { fprintf(stderr, "SIZE must be 1..%ld\n", segment / 4); return 2; }
    char *buf = malloc(size);
    memset(buf, 'x', size);
    static char zeros[64 << 10];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile long sum = 0;
    long written = 0;
    while (written < total) {
        unlink(path);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) { perror(path); return 1; }
        char *map = mmap(NULL, segment, PROT_READ, MAP_SHARED, fd, 0);
        long end = 0, requested = 0, read = 0, grown = 0;
        while (end + size + quantum <= segment) {
            struct iovec v[2] = {{buf, size}, {zeros, 0}};
            long e = end + size;
            if (pad && e > grown) { grown = (e + quantum - 1) & ~(quantum - 1); v[1].iov_len = grown - e; }
            if (pwritev(fd, v, 2, end) < 0) { perror("pwritev"); return 1; }
            end = e;
            written += size;
            if (end - requested >= step) { sync_file_range(fd, requested, end - requested, SYNC_FILE_RANGE_WRITE); requested = end; }
            for (; read + 4096 <= end; read += 4096) sum += map[read];
        }
        munmap(map, segment);
        close(fd);
    }
    unlink(path);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    double sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("pad %d size %ld: %.0f MB/s, sys %.3f s/GB, %ld minor faults\n", pad, size, written / wall / 1e6, sys / (written / 1e9), ru.ru_minflt);
    return 0;
}
