// WeirClient producer benchmarks: the targets, each next to a baseline measured in the
// same run. Run with:
//
//     cd Benchmarks && swift package benchmark --target ClientBenchmarks
//
// Targets (issue 4): one producer, 100 B records, acks=1, no codec, linger.ms=5, batch.size=64 KiB:
// ≥ 3 M records/s end to end through the public API (`produce`, then `flush`), reported as a
// percentage of the raw log append of pre-encoded 64 KiB batches of the same records (the
// ceiling); 4 concurrent sending tasks: ≥ 1.5× the single-task figure, or the bottleneck named.
// Set WEIR_BENCH_DIR to put the files on another disk (default: the system temp folder).
import Benchmark
import Foundation
import WeirClient
import WeirFormat
import WeirLog

extension BenchmarkMetric {
    static let recordsPerSecond = BenchmarkMetric.custom("records_per_s", polarity: .prefersLarger, useScalingFactor: false)
    static let baselineRecordsPerSecond = BenchmarkMetric.custom("baseline_records_per_s", polarity: .prefersLarger, useScalingFactor: false)
    static let percentOfBaseline = BenchmarkMetric.custom("percent_of_baseline", polarity: .prefersLarger, useScalingFactor: false)
}

func thresholds(_ metrics: [BenchmarkMetric]) -> [BenchmarkMetric: BenchmarkThresholds] {
    Dictionary(uniqueKeysWithValues: metrics.map { ($0, BenchmarkThresholds(relative: [.p50: 15.0])) })
}

let benchRoot = ProcessInfo.processInfo.environment["WEIR_BENCH_DIR"] ?? NSTemporaryDirectory()
let recordCount = 10_000_000
let valueSize = 100
let batchBytes = 64 << 10

func withLog<R>(_ name: String, partitions: Int, _ body: (LogDirectory) async throws -> R) async throws -> R {
    let path = benchRoot + "/weir-client-bench-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dir = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
    try dir.createTopic("bench", partitions: partitions, config: LogConfig(segmentBytes: 1 << 30))
    let r = try await body(dir)
    try dir.close()
    return r
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// The ceiling: the same records pre-encoded into 64 KiB batches, appended with acks=1.
func rawAppend() async throws -> Double {
    let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: batchBytes)
    let value = [UInt8](repeating: 0x61, count: valueSize)
    var perBatch = 0
    while b.append(timestamp: 1_700_000_000_000, key: nil, value: value) { perBatch += 1 }
    let batch = try b.build()
    let batches = recordCount / perBatch
    return try await withLog("raw", partitions: 1) { dir in
        let log = try dir.partition("bench", 0)
        let t = try await seconds {
            try batch.withUnsafeBytes { bytes in
                for _ in 0..<batches { try log.append(bytes, verifyChecksums: false) }
            }
        }
        return Double(batches * perBatch) / t
    }
}

func producerConfig() throws -> ProducerConfiguration {
    try ProducerConfiguration(properties: ["acks": "1", "compression.type": "none", "linger.ms": "5",
                                           "batch.size": String(batchBytes), "buffer.memory": String(64 << 20)])
}

/// `tasks` concurrent tasks produce `recordCount` records in total, then one flush.
func producerThroughput(tasks: Int, partitions: Int, explicitPartition: Bool) async throws -> Double {
    try await withLog("producer-\(tasks)", partitions: partitions) { dir in
        let producer = try Producer(configuration: try producerConfig(), logDirectory: dir)
        let perTask = recordCount / tasks
        let t = try await seconds {
            try await withThrowingTaskGroup(of: Void.self) { g in
                for task in 0..<tasks {
                    g.addTask {
                        // Each task its own value buffer (no reference counting shared across threads).
                        let value = [UInt8](repeating: 0x61, count: valueSize)
                        let record = ProducerRecord(topic: "bench", partition: explicitPartition ? Int32(task % partitions) : nil, value: value)
                        for _ in 0..<perTask { try await producer.produce(record) }
                    }
                }
                try await g.waitForAll()
            }
            await producer.flush()
        }
        let s = producer.statistics
        precondition(s.recordsSent == Int64(perTask * tasks) && s.recordsFailed == 0)
        await producer.close()
        return Double(perTask * tasks) / t
    }
}

/// Runs `body` on a thread of its own (`produceNow` is for the caller's threads, not async tasks).
func onThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<R, Error>) in
        let t = Thread { c.resume(with: Result { try body() }) }
        t.stackSize = 1 << 20
        t.start()
    }
}

/// One thread calls `Producer.produceNow` for `recordCount` records of 100 B (acks=1,
/// linger.ms=5, no idempotence), then one flush; records per second over both.
func produceNowThroughput() async throws -> Double {
    try await withLog("produce-now", partitions: 1) { dir in
        let config = try ProducerConfiguration(properties: ["acks": "1", "compression.type": "none", "linger.ms": "5",
                                                            "enable.idempotence": "false",
                                                            "batch.size": String(batchBytes), "buffer.memory": String(64 << 20)])
        let producer = try Producer(configuration: config, logDirectory: dir)
        let count = recordCount
        let t = try await seconds {
            try await onThread {
                let value = [UInt8](repeating: 0x61, count: valueSize)
                try value.withUnsafeBytes { v in
                    for i in 0..<count { try producer.produceNow(topic: "bench", partition: 0, key: nil, value: v, opaque: UInt64(i)) }
                }
            }
            await producer.flush()
        }
        let s = producer.statistics
        precondition(s.recordsSent == Int64(count) && s.recordsFailed == 0)
        await producer.close()
        return Double(count) / t
    }
}

func report(_ benchmark: Benchmark, figure: Double, baseline: Double) {
    benchmark.measurement(.recordsPerSecond, Int(figure))
    benchmark.measurement(.baselineRecordsPerSecond, Int(baseline))
    benchmark.measurement(.percentOfBaseline, Int((figure / baseline * 100).rounded()))
    print(String(format: "%@: %.2f M records/s, baseline %.2f M records/s (%.0f %%)", benchmark.name, figure / 1e6, baseline / 1e6, figure / baseline * 100))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 3)
    let metrics: [BenchmarkMetric] = [.recordsPerSecond, .baselineRecordsPerSecond, .percentOfBaseline]

    // Baseline: the raw log append of pre-encoded batches.
    Benchmark("Produce100BRecordsAcks1Linger5VsRawAppend", configuration: .init(metrics: metrics, thresholds: thresholds(metrics))) { benchmark in
        let raw = try await rawAppend()
        let figure = try await producerThroughput(tasks: 1, partitions: 1, explicitPartition: false)
        report(benchmark, figure: figure, baseline: raw)
    }

    // Issue 15's producer target (≥ 5 M records/s on one thread); baseline: the raw log append
    // of the same records pre-encoded into 64 KiB batches, in the same run.
    Benchmark("ProduceNow100BAcks1Linger5OneThreadVsRawAppend", configuration: .init(metrics: metrics, thresholds: thresholds(metrics))) { benchmark in
        let raw = try await rawAppend()
        let figure = try await produceNowThroughput()
        report(benchmark, figure: figure, baseline: raw)
    }

    // Baseline: one sending task, same run.
    Benchmark("Produce4TasksOnePartitionVs1Task", configuration: .init(metrics: metrics, thresholds: thresholds(metrics))) { benchmark in
        let one = try await producerThroughput(tasks: 1, partitions: 1, explicitPartition: false)
        let four = try await producerThroughput(tasks: 4, partitions: 1, explicitPartition: false)
        report(benchmark, figure: four, baseline: one)
    }

    Benchmark("Produce4TasksFourPartitionsVs1Task", configuration: .init(metrics: metrics, thresholds: thresholds(metrics))) { benchmark in
        let one = try await producerThroughput(tasks: 1, partitions: 1, explicitPartition: false)
        let four = try await producerThroughput(tasks: 4, partitions: 4, explicitPartition: true)
        report(benchmark, figure: four, baseline: one)
    }
}
