// What the benchmark targets share: the same-run baseline metrics and their report line, the
// regression tolerance, scratch log directories (under WEIR_BENCH_DIR, default the system temp
// folder), and elapsed time on Weir's one monotonic clock.
public import Benchmark
import Foundation
public import WeirLog

extension BenchmarkMetric {
    /// The figure, in records per second.
    public static let recordsPerSecond = BenchmarkMetric.custom("records_per_s", polarity: .prefersLarger, useScalingFactor: false)
    /// The same-run baseline, in records per second.
    public static let baselineRecordsPerSecond = BenchmarkMetric.custom("baseline_records_per_s", polarity: .prefersLarger, useScalingFactor: false)
    /// The figure as a percentage of its baseline.
    public static let percentOfBaseline = BenchmarkMetric.custom("percent_of_baseline", polarity: .prefersLarger, useScalingFactor: false)
}

/// A relative tolerance of `percent` on the median of each metric (checked against a saved
/// baseline).
public func thresholds(_ metrics: [BenchmarkMetric], percent: Double = 15) -> [BenchmarkMetric: BenchmarkThresholds] {
    Dictionary(uniqueKeysWithValues: metrics.map { ($0, BenchmarkThresholds(relative: [.p50: percent])) })
}

/// Records `figure` and `baseline` (records per second) and the ratio, and prints them.
public func report(_ benchmark: Benchmark, figure: Double, baseline: Double) {
    benchmark.measurement(.recordsPerSecond, Int(figure))
    benchmark.measurement(.baselineRecordsPerSecond, Int(baseline))
    benchmark.measurement(.percentOfBaseline, Int((figure / baseline * 100).rounded()))
    print(String(format: "%@: %.2f M records/s, baseline %.2f M records/s (%.0f %%)", benchmark.name, figure / 1e6, baseline / 1e6, figure / baseline * 100))
}

/// Where the benchmarks put their files: `WEIR_BENCH_DIR`, or the system temp folder.
public let benchRoot = ProcessInfo.processInfo.environment["WEIR_BENCH_DIR"] ?? NSTemporaryDirectory()

/// A fresh (removed) path under `benchRoot` for one benchmark's files.
public func freshPath(_ prefix: String, _ name: String) -> String {
    let path = benchRoot + "/weir-\(prefix)-bench-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    return path
}

/// A fresh log directory with one topic `bench` of `partitions` partitions and 1 GiB segments,
/// given to `body`, closed and removed after.
public func withLog<R>(_ prefix: String, _ name: String, partitions: Int = 1, _ body: (LogDirectory) async throws -> R) async throws -> R {
    let path = freshPath(prefix, name)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dir = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
    try dir.createTopic("bench", partitions: partitions, config: LogConfig(segmentBytes: 1 << 30))
    let r = try await body(dir)
    try dir.close()
    return r
}

/// How long `body` took, in seconds.
public func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicNanos()
    try body()
    return Double(monotonicNanos() - start) / 1e9
}

/// How long `body` took, in seconds.
/// The CPU time of the calling thread so far (user + system), in seconds: a rate per CPU
/// second moves much less than a rate per wall-clock second when other work shares the cores.
public func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

public func asyncSeconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = monotonicNanos()
    try await body()
    return Double(monotonicNanos() - start) / 1e9
}
