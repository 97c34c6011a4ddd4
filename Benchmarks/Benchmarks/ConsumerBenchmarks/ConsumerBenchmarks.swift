// WeirClient consumer benchmarks: the targets, each next to a baseline measured in the
// same run. Run with:
//
//     cd Benchmarks && swift package benchmark --target ConsumerBenchmarks
//
// Targets (issue 5):
// - one consumer reading 100 B records without copying: ≥ 10 M records/s (and with a copy per
//   record: reported), next to a bare record walk over the same log (`PartitionLog.read` +
//   `UnsafeRecordIterator`, CRC checked as the consumer does by default: the ceiling);
// - end-to-end latency, producer → consumer handler in one process, linger.ms=0, acks=1, at an
//   open-loop 100 k msg/s: p99 ≤ 20 µs, p99.9 ≤ 100 µs, measured from each record's intended send
//   time; next to the latency of the log alone (a raw append → the same consumer handler) and
//   of the producer path at 10 k msg/s, in the same run; once with the consumer parking at once,
//   once spinning up to 50 µs before it parks;
// - the consumer's cost per poll when every fetch returns one 1-record batch (the end-to-end
//   latency path): append one 100 B record, `pollBlocking` it (the data is there, no wait), in a
//   group with auto-commit as the bench's consumers run; next to a raw `PartitionLog.read` of the
//   same batch with its CRC check and record walk, timed in the same loop.
// Set WEIR_BENCH_DIR to put the files on another disk (default: the system temp folder).
import Benchmark
import BenchmarkSupport
import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

extension BenchmarkMetric {
    static let p50ns = BenchmarkMetric.custom("e2e_p50_ns", polarity: .prefersSmaller, useScalingFactor: false)
    static let p99ns = BenchmarkMetric.custom("e2e_p99_ns", polarity: .prefersSmaller, useScalingFactor: false)
    static let p999ns = BenchmarkMetric.custom("e2e_p99_9_ns", polarity: .prefersSmaller, useScalingFactor: false)
    static let baselineP99ns = BenchmarkMetric.custom("baseline_p99_ns", polarity: .prefersSmaller, useScalingFactor: false)
    static let tenKP99ns = BenchmarkMetric.custom("e2e_10k_p99_ns", polarity: .prefersSmaller, useScalingFactor: false)
    static let nsPerRecord = BenchmarkMetric.custom("ns_per_record", polarity: .prefersSmaller, useScalingFactor: false)
    static let baselineNsPerRecord = BenchmarkMetric.custom("baseline_ns_per_record", polarity: .prefersSmaller, useScalingFactor: false)
    static let timesBaselineX100 = BenchmarkMetric.custom("times_baseline_x100", polarity: .prefersSmaller, useScalingFactor: false)
}

/// The consumer targets' tolerance: 20 % on the median.
func thresholds(_ metrics: [BenchmarkMetric]) -> [BenchmarkMetric: BenchmarkThresholds] {
    BenchmarkSupport.thresholds(metrics, percent: 20)
}

let recordCount = 10_000_000
let valueSize = 100

func withLog<R>(_ name: String, _ body: (LogDirectory) async throws -> R) async throws -> R {
    try await BenchmarkSupport.withLog("consumer", name, body)
}

/// Fills the partition with `recordCount` 100 B records in 64 KiB batches.
func fill(_ dir: LogDirectory) throws -> Int {
    let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: 64 << 10)
    var value = [UInt8](repeating: 0x61, count: valueSize)
    var perBatch = 0
    while b.append(timestamp: 1_700_000_000_000, key: nil, value: value) { perBatch += 1 }
    value[0] = 0x62
    let batch = try b.build()
    let log = try dir.partition("bench", 0)
    try batch.withUnsafeBytes { bytes in for _ in 0..<(recordCount / perBatch) { try log.append(bytes, verifyChecksums: false) } }
    return (recordCount / perBatch) * perBatch
}

/// The ceiling: read the log and walk every record (CRC checked per batch), touching each value.
func recordWalk(_ dir: LogDirectory, total: Int) throws -> Double {
    let log = try dir.partition("bench", 0)
    var sum = 0, n = 0
    let t = try seconds {
        var next: Int64 = 0
        while next < log.highWatermark {
            let r = try log.read(from: next, maxBytes: 1 << 20)
            for b in r.batches {
                b.withUnsafeBytes { bytes in
                    _ = try? RecordBatch.verify(bytes)
                    UnsafeRecordIterator.withRecords(in: bytes, verifyingCRC: false) { it in
                        while let rec = try? it.next() { sum &+= Int(rec.value![0]); n += 1 }
                    }
                }
            }
            next = r.nextOffset
        }
    }
    precondition(n == total && sum > 0)
    return Double(n) / t
}

func consumerConfig() throws -> ConsumerConfiguration {
    try ConsumerConfiguration(properties: ["auto.offset.reset": "earliest", "max.poll.records": "10000", "fetch.max.wait.ms": "10"])
}

final class Counter: @unchecked Sendable {
    var n = 0
    var sum = 0
}

/// One consumer with `eachBatch`, iterating the zero-copy messages (or copying each one).
func consumeBatches(_ dir: LogDirectory, total: Int, copy: Bool) async throws -> Double {
    let c = try Consumer(configuration: try consumerConfig(), logDirectory: dir)
    try c.assign([TopicPartition("bench", 0)])
    let counter = Counter()
    let t = try await asyncSeconds {
        try await c.run { batch, _ in
            if copy {
                for m in batch { let r = m.copy(); counter.sum &+= Int(r.value![0]) }
            } else {
                for m in batch { counter.sum &+= Int(m.value![0]) }
            }
            counter.n += batch.count
            if counter.n >= total { c.stop() }
        }
    }
    precondition(counter.n == total && counter.sum > 0)
    await c.close()
    return Double(total) / t
}

/// One consumer with `eachMessage` (an async handler call per record).
func consumeMessages(_ dir: LogDirectory, total: Int) async throws -> Double {
    let c = try Consumer(configuration: try consumerConfig(), logDirectory: dir)
    try c.assign([TopicPartition("bench", 0)])
    let counter = Counter()
    let t = try await asyncSeconds {
        try await c.run { m, _ in
            counter.sum &+= Int(m.value![0])
            counter.n += 1
            if counter.n == total { c.stop() }
        }
    }
    precondition(counter.n == total)
    await c.close()
    return Double(total) / t
}

final class Latencies: @unchecked Sendable {
    var samples: [UInt64] = []
    var received = 0
    init() { samples.reserveCapacity(1 << 20) }
    func percentile(_ p: Double) -> UInt64 {
        let s = samples.sorted()
        return s[min(s.count - 1, Int(Double(s.count) * p))]
    }
}

@_silgen_name("prctl")
func prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt, _ arg4: UInt, _ arg5: UInt) -> Int32

/// A thread that the benchmark task can wait for without blocking one of its threads.
final class Worker: Sendable {
    let done = Atomic<Bool>(false)
    init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let t = Thread { [self] in
            _ = prctl(29 /* PR_SET_TIMERSLACK */, 1, 0, 0, 0)
            body()
            self.done.store(true, ordering: .releasing)
        }
        t.name = name
        t.start()
    }
    func join() async {
        while !done.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}

/// The sender's side of an end-to-end run.
enum Sender {
    /// `Producer.produceNow` from the sender's thread (linger.ms=0, acks=1: the thread appends
    /// the one-record batch itself), what a latency-minded application uses.
    case producer
    /// A raw `PartitionLog.append` of a prebuilt one-record batch: the log and the consumer alone.
    case rawAppend
}

/// Open-loop end-to-end latency at `rate` msg/s for `duration`, warmup excluded: each record
/// carries its intended send time (monotonic ns); the consumer handler records now − intended.
/// The sender runs on its own thread, spinning until each intended send time (10 µs apart at
/// 100 k msg/s: shorter than any sleep; longer gaps sleep most of the way); the consumer runs
/// `pollBlocking` on another thread, spinning up to `spin` on the high-water mark before it parks.
func endToEnd(rate: Int, seconds duration: Double, warmup: Double, sender: Sender, spin: Duration) async throws -> Latencies {
    try await withLog("e2e-\(sender)") { dir in
        var cc = try ConsumerConfiguration(properties: ["auto.offset.reset": "earliest", "fetch.max.wait.ms": "500"])
        cc.checkCRCs = true
        let consumer = try Consumer(configuration: cc, logDirectory: dir)
        try consumer.assign([TopicPartition("bench", 0)])
        let total = Int(Double(rate) * (duration + warmup))
        let warm = Int(Double(rate) * warmup)
        let lat = Latencies()
        let reader = Worker("e2e-consumer") {
            while lat.received < total {
                do {
                    try consumer.pollBlocking(timeout: .milliseconds(100), idleSpin: spin) { batch in
                        for m in batch {
                            let intended = m.value!.loadUnaligned(as: UInt64.self)
                            let d = monotonicNanos() &- intended
                            if lat.received >= warm { lat.samples.append(d) }
                            lat.received += 1
                        }
                    }
                } catch {
                    fatalError("pollBlocking: \(error)")
                }
            }
        }
        let interval = UInt64(1_000_000_000 / rate)
        let log = try dir.partition("bench", 0)
        let producer = try Producer(configuration: try ProducerConfiguration(properties: ["acks": "1", "linger.ms": "0", "compression.type": "none", "enable.idempotence": "false"]), logDirectory: dir)
        // Let the consumer reach its wait for data.
        try await Task.sleep(for: .milliseconds(200))
        let start = monotonicNanos() + 1_000_000
        let writer = Worker("e2e-sender") {
            var value = [UInt8](repeating: 0, count: valueSize)
            let builder = try! RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 16)
            for i in 0..<total {
                let intended = start + UInt64(i) * interval
                // Gaps over 50 µs (10 k msg/s) sleep until 20 µs before the send time (timer
                // slack 1 µs) and spin the rest; shorter ones spin: a sleep overshoots.
                let now = monotonicNanos()
                if intended > now + 50_000 {
                    var ts = timespec(tv_sec: 0, tv_nsec: Int(intended - now - 20_000))
                    nanosleep(&ts, nil)
                }
                while monotonicNanos() < intended {}
                value.withUnsafeMutableBytes { $0.storeBytes(of: intended, as: UInt64.self) }
                switch sender {
                case .producer:
                    _ = value.withUnsafeBytes { v in try! producer.produceNow(topic: "bench", partition: 0, key: nil, value: v) }
                case .rawAppend:
                    builder.reset()
                    _ = builder.append(timestamp: 0, key: nil, value: value)
                    _ = try! builder.seal()
                    try! builder.withUnsafeSealedBytes { (b) throws(LogError) in _ = try log.append(b, verifyChecksums: false) }
                }
            }
        }
        await writer.join()
        await reader.join()
        await producer.close()
        await consumer.close()
        return lat
    }
}

/// Appends one 1-record 100 B batch at a time and polls it with a group consumer
/// (`pollBlocking`, auto-commit on, the data already there), `polls` times; each poll is timed,
/// and so is a raw `PartitionLog.read` of the same batch with the work the consumer must do at
/// least (CRC check, record walk, a touch of the value). Returns the mean ns of each.
func pollOneRecordPerFetch(polls: Int) async throws -> (poll: Double, raw: Double) {
    try await withLog("poll-one") { dir in
        var cc = try ConsumerConfiguration(properties: ["group.id": "poll-one", "auto.offset.reset": "earliest", "fetch.max.wait.ms": "500"])
        cc.checkCRCs = true
        let consumer = try Consumer(configuration: cc, logDirectory: dir)
        try consumer.subscribe(topics: ["bench"])
        let log = try dir.partition("bench", 0)
        let result = Mutex<(Double, Double)>((0, 0))
        let worker = Worker("poll-one") {
            let builder = try! RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 16)
            let value = [UInt8](repeating: 0x61, count: valueSize)
            func appendOne() {
                builder.reset()
                _ = builder.append(timestamp: 1_700_000_000_000, key: nil, value: value)
                _ = try! builder.seal()
                try! builder.withUnsafeSealedBytes { (b) throws(LogError) in _ = try log.append(b, verifyChecksums: false) }
            }
            var sum = 0
            // Join the group and settle the position on the first record.
            appendOne()
            while (try? consumer.pollBlocking(timeout: .milliseconds(100)) { b in for m in b { sum &+= Int(m.value![0]) } }) != 1 {}
            var pollNanos: UInt64 = 0, rawNanos: UInt64 = 0
            var next = log.highWatermark
            for _ in 0..<polls {
                appendOne()
                let t0 = monotonicNanos()
                let r = try! log.read(from: next, maxBytes: 1 << 20)
                for b in r.batches {
                    b.withUnsafeBytes { bytes in
                        _ = try? RecordBatch.verify(bytes)
                        UnsafeRecordIterator.withRecords(in: bytes, verifyingCRC: false) { it in
                            while let rec = try? it.next() { sum &+= Int(rec.value![0]) }
                        }
                    }
                }
                next = r.nextOffset
                let t1 = monotonicNanos()
                let n = try! consumer.pollBlocking(timeout: .milliseconds(100)) { b in for m in b { sum &+= Int(m.value![0]) } }
                let t2 = monotonicNanos()
                precondition(n == 1)
                rawNanos &+= t1 &- t0
                pollNanos &+= t2 &- t1
            }
            precondition(sum > 0)
            result.withLock { $0 = (Double(pollNanos) / Double(polls), Double(rawNanos) / Double(polls)) }
        }
        await worker.join()
        await consumer.close()
        let (poll, raw) = result.withLock { $0 }
        return (poll, raw)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(120), maxIterations: 3)
    let rates: [BenchmarkMetric] = [.recordsPerSecond, .baselineRecordsPerSecond, .percentOfBaseline]

    Benchmark("Consume100BRecordsZeroCopyEachBatchVsRecordWalk", configuration: .init(metrics: rates, thresholds: thresholds(rates))) { benchmark in
        try await withLog("zero") { dir in
            let total = try fill(dir)
            let walk = try recordWalk(dir, total: total)
            let figure = try await consumeBatches(dir, total: total, copy: false)
            report(benchmark, figure: figure, baseline: walk)
        }
    }

    Benchmark("Consume100BRecordsZeroCopyEachMessageVsRecordWalk", configuration: .init(metrics: rates, thresholds: thresholds(rates))) { benchmark in
        try await withLog("each") { dir in
            let total = try fill(dir)
            let walk = try recordWalk(dir, total: total)
            let figure = try await consumeMessages(dir, total: total)
            report(benchmark, figure: figure, baseline: walk)
        }
    }

    Benchmark("Consume100BRecordsCopyEachVsZeroCopy", configuration: .init(metrics: rates, thresholds: thresholds(rates))) { benchmark in
        try await withLog("copy") { dir in
            let total = try fill(dir)
            let zero = try await consumeBatches(dir, total: total, copy: false)
            let figure = try await consumeBatches(dir, total: total, copy: true)
            report(benchmark, figure: figure, baseline: zero)
        }
    }

    let perRecord: [BenchmarkMetric] = [.nsPerRecord, .baselineNsPerRecord, .timesBaselineX100]
    Benchmark("PollOneRecordPerFetchVsRawRead", configuration: .init(metrics: perRecord, maxIterations: 5, thresholds: thresholds(perRecord))) { benchmark in
        let (poll, raw) = try await pollOneRecordPerFetch(polls: 200_000)
        benchmark.measurement(.nsPerRecord, Int(poll.rounded()))
        benchmark.measurement(.baselineNsPerRecord, Int(raw.rounded()))
        benchmark.measurement(.timesBaselineX100, Int((poll / raw * 100).rounded()))
        print(String(format: "%@: poll %.0f ns per record, raw read %.0f ns per record (%.2f×)", benchmark.name, poll, raw, poll / raw))
    }

    let latency: [BenchmarkMetric] = [.p50ns, .p99ns, .p999ns, .baselineP99ns, .tenKP99ns]
    // The consumer parks at once (spin 0, the default) or spins up to 50 µs first.
    for spinMicros in [0, 50] {
        Benchmark("EndToEndLatency100kPerSecondLinger0Acks1VsRawAppend/spin\(spinMicros)us", configuration: .init(metrics: latency, maxIterations: 1, thresholds: thresholds(latency))) { benchmark in
            let spin = Duration.microseconds(spinMicros)
            let raw = try await endToEnd(rate: 100_000, seconds: 3, warmup: 0.5, sender: .rawAppend, spin: spin)
            let e2e = try await endToEnd(rate: 100_000, seconds: 3, warmup: 0.5, sender: .producer, spin: spin)
            let slow = try await endToEnd(rate: 10_000, seconds: 3, warmup: 0.5, sender: .producer, spin: spin)
            benchmark.measurement(.p50ns, Int(e2e.percentile(0.5)))
            benchmark.measurement(.p99ns, Int(e2e.percentile(0.99)))
            benchmark.measurement(.p999ns, Int(e2e.percentile(0.999)))
            benchmark.measurement(.baselineP99ns, Int(raw.percentile(0.99)))
            benchmark.measurement(.tenKP99ns, Int(slow.percentile(0.99)))
            print(String(format: "%@: producer→handler: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs (%d samples); raw append→handler: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs",
                         benchmark.name, Double(e2e.percentile(0.5)) / 1e3, Double(e2e.percentile(0.99)) / 1e3, Double(e2e.percentile(0.999)) / 1e3,
                         Double(e2e.percentile(1.0)) / 1e3, e2e.samples.count,
                         Double(raw.percentile(0.5)) / 1e3, Double(raw.percentile(0.99)) / 1e3, Double(raw.percentile(0.999)) / 1e3))
        }
    }
}
