// The append alternatives that decided the log core's design (issue 15), each measured as the
// loop of that alternative and nothing else: 256 MiB in 64 KiB chunks into a fresh file, one
// thread. Every benchmark reports its MB/s beside a plain `pwrite` of the same bytes measured in
// the same run (the baseline), so the ratio holds on a loaded machine where MB/s does not.
import Benchmark
import BenchmarkSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How one alternative gets `total` bytes of `chunk` into a file.
enum AppendAlternative: Sendable {
    /// `pwrite` into the page cache (what the log does; also the baseline).
    case pwrite
    /// `pwrite`, then `sync_file_range(SYNC_FILE_RANGE_WRITE)` of each `cadence` bytes behind.
    case pwriteSyncFileRange(cadence: Int)
    /// `pwrite`, `fdatasync` every `cadence` bytes (acks=all's cost, without the log).
    case pwriteFdatasync(cadence: Int)
    /// `memcpy` into a writable shared mapping of a `posix_fallocate`d file (the old design).
    case mmapWrite
    /// The same, with `MADV_POPULATE_WRITE` of the next 1 MiB before each 1 MiB is written.
    case mmapWritePopulated
    /// `memcpy` into a writable shared mapping of a sparse file (`ftruncate`, no blocks).
    case mmapWriteSparse
}

let alternativeTotal = 256 << 20
let alternativeChunk = [UInt8](repeating: 0x61, count: 64 << 10)

/// MADV_POPULATE_WRITE (Linux 5.14), absent from older Glibc headers.
private let madvPopulateWrite: Int32 = 23

/// glibc's `sync_file_range` (declared only with _GNU_SOURCE, so not imported into Swift),
/// looked up once; `SYNC_FILE_RANGE_WRITE` is 2.
private let syncFileRangeWrite: @convention(c) (Int32, Int64, Int64, UInt32) -> Int32 = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else {
        fatalError("sync_file_range not found in the C library")
    }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
}()

/// Runs `alternative` into a fresh file and returns MB/s (the file's creation and removal are
/// not timed; a final `fdatasync` is timed only for the alternatives that sync).
func measureAlternative(_ alternative: AppendAlternative) -> Double {
    let path = freshPath("alt") + ".bin"
    defer { unlink(path) }
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path): set WEIR_BENCH_DIR to a writable folder")
    defer { close(fd) }
    let total = alternativeTotal
    return alternativeChunk.withUnsafeBytes { src -> Double in
        let n = src.count
        switch alternative {
        case .pwrite, .pwriteSyncFileRange, .pwriteFdatasync:
            let t = seconds {
                var at = 0, lastSync = 0
                while at < total {
                    precondition(Glibc.pwrite(fd, src.baseAddress!, n, off_t(at)) == n)
                    at += n
                    switch alternative {
                    case .pwriteSyncFileRange(let cadence) where at - lastSync >= cadence:
                        _ = syncFileRangeWrite(fd, Int64(lastSync), Int64(at - lastSync), 2)
                        lastSync = at
                    case .pwriteFdatasync(let cadence) where at - lastSync >= cadence:
                        _ = fdatasync(fd)
                        lastSync = at
                    default: break
                    }
                }
                if case .pwriteFdatasync = alternative { _ = fdatasync(fd) }
            }
            return Double(total) / t / 1e6
        case .mmapWrite, .mmapWritePopulated, .mmapWriteSparse:
            if case .mmapWriteSparse = alternative {
                precondition(ftruncate(fd, off_t(total)) == 0)
            } else {
                precondition(posix_fallocate(fd, 0, off_t(total)) == 0)
            }
            let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
            precondition(base != MAP_FAILED)
            defer { munmap(base, total) }
            let populate: Bool = if case .mmapWritePopulated = alternative { true } else { false }
            let t = seconds {
                var at = 0
                while at < total {
                    if populate, at % (1 << 20) == 0 {
                        _ = madvise(base + at, min(1 << 20, total - at), madvPopulateWrite)
                    }
                    (base + at).copyMemory(from: src.baseAddress!, byteCount: n)
                    at += n
                }
            }
            return Double(total) / t / 1e6
        }
    }
}

/// Registers one benchmark per alternative, each beside the same-run `pwrite` baseline.
func registerAppendAlternatives() {
    let metrics: [BenchmarkMetric] = [.megabytesPerSecond, .baselineMegabytesPerSecond, .percentOfBaseline]
    let alternatives: [(String, AppendAlternative)] = [
        ("AltPwriteSyncFileRangeEvery1MiBVsPwrite", .pwriteSyncFileRange(cadence: 1 << 20)),
        ("AltPwriteSyncFileRangeEvery4MiBVsPwrite", .pwriteSyncFileRange(cadence: 4 << 20)),
        ("AltPwriteSyncFileRangeEvery16MiBVsPwrite", .pwriteSyncFileRange(cadence: 16 << 20)),
        ("AltPwriteFdatasyncEvery64MiBVsPwrite", .pwriteFdatasync(cadence: 64 << 20)),
        ("AltMmapWriteFallocatedVsPwrite", .mmapWrite),
        ("AltMmapWritePopulatedVsPwrite", .mmapWritePopulated),
        ("AltMmapWriteSparseVsPwrite", .mmapWriteSparse),
    ]
    for (name, alternative) in alternatives {
        Benchmark(name, configuration: .init(metrics: metrics, thresholds: thresholds(metrics))) { benchmark in
            let baseline = measureAlternative(.pwrite)
            let figure = measureAlternative(alternative)
            benchmark.measurement(.megabytesPerSecond, Int(figure))
            benchmark.measurement(.baselineMegabytesPerSecond, Int(baseline))
            benchmark.measurement(.percentOfBaseline, Int((100 * figure / baseline).rounded()))
            print(String(format: "%@: %.0f MB/s, pwrite %.0f MB/s (%.0f %%)", name, figure, baseline, 100 * figure / baseline))
        }
    }
}
