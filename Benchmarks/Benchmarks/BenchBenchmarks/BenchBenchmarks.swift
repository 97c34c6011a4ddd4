// WeirBench hot paths (issue 6), each next to a baseline measured in the same run. Run with:
//
//     cd Benchmarks && swift package benchmark --target BenchBenchmarks
//
// Targets: recording one latency sample ≤ 20 ns (baseline: one CLOCK_MONOTONIC read); the load
// generator on the null backend ≥ 10 M records/s. Thresholds: 15 % on the median, in code.
import Benchmark
import WeirBench

extension BenchmarkMetric {
    static let recordSampleTenthsOfNanos = BenchmarkMetric.custom("record_sample_ns_x10", polarity: .prefersSmaller, useScalingFactor: false)
    static let clockReadTenthsOfNanos = BenchmarkMetric.custom("baseline_clock_read_ns_x10", polarity: .prefersSmaller, useScalingFactor: false)
    static let generatorRecordsPerSecond = BenchmarkMetric.custom("null_generator_records_per_s", polarity: .prefersLarger, useScalingFactor: false)
    static let generatorTwoThreadsRecordsPerSecond = BenchmarkMetric.custom("null_generator_2_threads_records_per_s", polarity: .prefersLarger, useScalingFactor: false)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 3)
    let metrics: [BenchmarkMetric] = [.recordSampleTenthsOfNanos, .clockReadTenthsOfNanos, .generatorRecordsPerSecond, .generatorTwoThreadsRecordsPerSecond]
    let thresholds = Dictionary(uniqueKeysWithValues: metrics.map { ($0, BenchmarkThresholds(relative: [.p50: 15.0])) })

    Benchmark("GeneratorHotPathsVsClockRead", configuration: .init(metrics: metrics, thresholds: thresholds)) { benchmark in
        let figures = try await Microbenchmarks.run()
        func ns(_ prefix: String) -> Double { figures.first { $0.name.hasPrefix(prefix) }?.nanosPerOperation ?? 0 }
        benchmark.measurement(.recordSampleTenthsOfNanos, Int((ns("record one latency sample") * 10).rounded()))
        benchmark.measurement(.clockReadTenthsOfNanos, Int((ns("clock read") * 10).rounded()))
        benchmark.measurement(.generatorRecordsPerSecond, Int(1e9 / max(ns("generator iteration"), 1e-3)))
        benchmark.measurement(.generatorTwoThreadsRecordsPerSecond, Int(1e9 / max(ns("generator, null backend, 2 threads"), 1e-3)))
        for f in figures { print("\(f.name): " + String(format: "%.1f ns", f.nanosPerOperation)) }
    }
}
