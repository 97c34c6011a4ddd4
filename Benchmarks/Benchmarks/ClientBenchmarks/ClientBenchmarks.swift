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
import BenchmarkSupport
import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

let recordCount = 10_000_000
let valueSize = 100
let batchBytes = 64 << 10

func withLog<R>(_ name: String, partitions: Int, _ body: (LogDirectory) async throws -> R) async throws -> R {
    try await BenchmarkSupport.withLog("client", name, partitions: partitions, body)
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
        var cpu = 0.0
        let t = try await asyncSeconds {
            try batch.withUnsafeBytes { bytes in
                let start = threadCPUSeconds()
                for _ in 0..<batches { try log.append(bytes, verifyChecksums: false) }
                cpu = threadCPUSeconds() - start
            }
        }
        lastRawAppendPerCPUSecond.withLock { $0 = Double(batches * perBatch) / cpu }
        return Double(batches * perBatch) / t
    }
}

/// The raw append's records per CPU second of its thread, from the last `rawAppend()`.
let lastRawAppendPerCPUSecond = Mutex(0.0)

func producerConfig() throws -> ProducerConfiguration {
    try ProducerConfiguration(properties: ["acks": "1", "compression.type": "none", "linger.ms": "5",
                                           "batch.size": String(batchBytes), "buffer.memory": String(64 << 20)])
}

/// `tasks` concurrent tasks produce `recordCount` records in total, then one flush.
func producerThroughput(tasks: Int, partitions: Int, explicitPartition: Bool) async throws -> Double {
    try await withLog("producer-\(tasks)", partitions: partitions) { dir in
        let producer = try Producer(configuration: try producerConfig(), logDirectory: dir)
        let perTask = recordCount / tasks
        let t = try await asyncSeconds {
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
        var cpu = 0.0
        let t = try await asyncSeconds {
            cpu = try await onThread {
                let value = [UInt8](repeating: 0x61, count: valueSize)
                let start = threadCPUSeconds()
                try value.withUnsafeBytes { v in
                    for i in 0..<count { try producer.produceNow(topic: "bench", partition: 0, key: nil, value: v, opaque: UInt64(i)) }
                }
                return threadCPUSeconds() - start
            }
            await producer.flush()
        }
        let s = producer.statistics
        precondition(s.recordsSent == Int64(count) && s.recordsFailed == 0)
        // Per CPU second of each loop's thread: steadier than wall-clock rates on a loaded machine.
        let raw = lastRawAppendPerCPUSecond.withLock { $0 }
        print(String(format: "  per thread-CPU second: produceNow %.2f M records, raw append %.2f M records (%.0f %%)",
                     Double(count) / cpu / 1e6, raw / 1e6, Double(count) / cpu / raw * 100))
        await producer.close()
        return Double(count) / t
    }
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
