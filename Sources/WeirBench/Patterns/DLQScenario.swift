import Foundation
import Synchronization
import WeirClientAPI
import WeirPatterns

/// The `dlq` pattern scenario: the step's consumers run the retry/DLQ pipeline
/// (`RetryPipeline`). A handler fails a `failureRate` fraction of first attempts and a
/// `retryFailureRate` fraction of retries (deterministically, by a hash of the record's value and
/// the attempt); failed records wait in the retry tiers (`<topic>.retry.<n>`, backoff from
/// `baseBackoffMs`) and after `maxRetries` go to `<topic>.dlq`. A record reaches the load
/// generator's consumer body only when it is finally processed or dead-lettered, so throughput
/// and `end_to_end` include the retry delays. The step's `backend_details` report the pipeline's
/// counts (`dlq.processed`, `dlq.retried`, `dlq.deadLettered`, `dlq.pauses`).
let dlqScenario = PatternScenario(
    .dlq,
    presets: [
        Preset(name: "dlq", summary: "DLQ under a 10% failure rate: 5k rec/s of 1 KiB for 10 s, 50 ms base backoff, 3 retries; embedded", steps: [
            Preset.step(named: "dlq") {
                $0.pattern = "dlq"
                $0.producerRate = 5000
                $0.messageSize = 1024
                $0.partitionsPerTopic = 4
                $0.durationSeconds = 10
                $0.warmupSeconds = 2
                $0.patternOptions = ["failureRate": "0.1", "baseBackoffMs": "50", "maxRetries": "3"]
            },
        ]),
    ],
    wrap: { workload, client async throws(BenchError) -> any MessagingClient in
        let dlq = _DLQ(client: client, options: try _DLQ.Options(workload.patternOptions ?? [:]))
        let members = workload.consumerPerSubscription
        var scenario = _ScenarioClient(base: client)
        scenario.makeFeed = { topic, group, member async throws(BenchError) in
            try await dlq.makeFeed(topic: topic, group: group, member: member, members: members)
        }
        scenario.moreDetails = { dlq.details() }
        scenario.onClose = { await dlq.shutdown() }
        return scenario
    })

/// The scenario's retry/DLQ pipelines, one per consumer of the step.
final class _DLQ: Sendable {
    struct Options: Sendable {
        var failureRate = 0.1, retryFailureRate = 0.5, nonRetriableRate = 0.0
        var maxRetries = 3, baseBackoffMs = 50, maxBackoffMs = 1000

        init(_ o: [String: String]) throws(BenchError) {
            func rate(_ key: String, _ value: inout Double) throws(BenchError) {
                guard let text = o[key] else { return }
                guard let v = Double(text), (0...1).contains(v) else {
                    throw .usage("pattern.\(key)=\(text) is out of range; allowed range 0...1.")
                }
                value = v
            }
            func int(_ key: String, _ value: inout Int, _ range: ClosedRange<Int>) throws(BenchError) {
                guard let text = o[key] else { return }
                guard let v = Int(text), range.contains(v) else {
                    throw .usage("pattern.\(key)=\(text) is out of range; allowed range \(range.lowerBound)...\(range.upperBound).")
                }
                value = v
            }
            try rate("failureRate", &failureRate)
            try rate("retryFailureRate", &retryFailureRate)
            try rate("nonRetriableRate", &nonRetriableRate)
            try int("maxRetries", &maxRetries, 0...20)
            try int("baseBackoffMs", &baseBackoffMs, 1...600_000)
            try int("maxBackoffMs", &maxBackoffMs, 1...3_600_000)
        }
    }

    let client: any MessagingClient
    let options: Options
    let consumers = Mutex<[_DLQFeed]>([])

    init(client: any MessagingClient, options: Options) {
        self.client = client
        self.options = options
    }

    func makeFeed(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> (feed: any _Feed, partitions: [TopicPartition]) {
        let count: Int
        do { count = try await client.partitionCount(topic) } catch {
            throw BenchError(.backend, "cannot read '\(topic)': \(error.message)")
        }
        let mine = (0..<Int32(count)).filter { Int($0) % members == member }
        let o = options
        let config = RetryConfiguration(
            sourceTopic: topic, groupId: group + "-dlq", maxRetries: o.maxRetries,
            backoff: Backoff(base: .milliseconds(o.baseBackoffMs), cap: .milliseconds(max(o.baseBackoffMs, o.maxBackoffMs)), jitter: .full),
            assignment: .partitions(mine), startSourceAtEnd: true, retryTopicPartitions: count,
            producerProperties: ["acks": "1"], pollTimeout: .milliseconds(20))
        let consumer = _DLQFeed()
        let pipeline = RetryPipeline(client: client, configuration: config, alert: { dead in
            if let v = dead.record.value { consumer.deliver(v) }
        }) { delivery in
            guard let value = delivery.record.value else { return }
            if let error = o.failure(value: value, attempt: delivery.attempt) { throw error }
            consumer.deliver(value)
        }
        do { try await pipeline.start() } catch {
            throw BenchError(.backend, "the retry/DLQ pipeline of '\(topic)' cannot start: \(error.message)")
        }
        consumer.run(pipeline)
        consumers.withLock { $0.append(consumer) }
        return (consumer, mine.map { TopicPartition(topic, $0) })
    }

    func details() -> [String: String] {
        var d: [String: String] = [:]
        var total = RetryStatistics()
        for c in consumers.withLock({ $0 }) {
            guard let s = c.statistics else { continue }
            total.processed += s.processed
            total.retried += s.retried
            total.deadLettered += s.deadLettered
            total.pauses += s.pauses
        }
        d["dlq.processed"] = String(total.processed)
        d["dlq.retried"] = String(total.retried)
        d["dlq.deadLettered"] = String(total.deadLettered)
        d["dlq.pauses"] = String(total.pauses)
        return d
    }

    func shutdown() async {
        for c in consumers.withLock({ $0 }) { await c.close() }
    }
}

/// The simulated handler failure.
struct DLQBenchFailure: Error, ClassifiedError, CustomStringConvertible {
    var attempt: Int
    var isRetriable: Bool
    var description: String { "simulated failure of attempt \(attempt)\(isRetriable ? "" : " (non-retriable)")" }
}

extension _DLQ.Options {
    /// Whether attempt `attempt` of the record with `value` fails: decided by an FNV-1a hash of
    /// the value's first bytes (the unique send stamp), mixed with the attempt.
    func failure(value: [UInt8], attempt: Int) -> DLQBenchFailure? {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in value.prefix(16) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        // SplitMix64's finalizer over (hash, attempt): every attempt gets an independent draw.
        h = h &+ UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        let u = Double(h >> 11) / Double(1 << 53)
        let rate = attempt == 1 ? failureRate : retryFailureRate
        guard u < rate else { return nil }
        let kind = Double((h &* 0x9E37_79B9_7F4A_7C15) >> 11) / Double(1 << 53)
        return DLQBenchFailure(attempt: attempt, isRetriable: kind >= nonRetriableRate)
    }
}

/// The generator's view of one pipeline: `poll` hands over the values the pipeline finished
/// (processed or dead-lettered).
final class _DLQFeed: _Feed {
    let queue = Mutex<[[UInt8]]>([])
    let task = Mutex<(pipeline: RetryPipeline, task: Task<Void, Never>)?>(nil)
    /// Kept after `close`, for the backend's `details()`.
    let pipeline = Mutex<RetryPipeline?>(nil)

    func deliver(_ value: [UInt8]) {
        queue.withLock { $0.append(value) }
    }

    func run(_ pipeline: RetryPipeline) {
        let t = Task.detached {
            while !Task.isCancelled {
                do throws(ClientError) { try await pipeline.pollOnce() } catch {
                    if error.code == .cancelled || error.code == .consumerClosed || Task.isCancelled { return }
                    try? await Task.sleep(for: .milliseconds(10))   // a transient failure: poll again shortly
                }
            }
        }
        task.withLock { $0 = (pipeline, t) }
        self.pipeline.withLock { $0 = pipeline }
    }

    var statistics: RetryStatistics? { pipeline.withLock { $0?.statistics } }

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        // Waits in 100 µs steps: finished records arrive from the pipeline's task.
        let deadline = monotonicNanos() &+ timeoutNanos
        var values = queue.withLock { q -> [[UInt8]] in defer { q.removeAll(keepingCapacity: true) }; return q }
        while values.isEmpty && monotonicNanos() < deadline {
            sleepNanos(100_000)
            values = queue.withLock { q -> [[UInt8]] in defer { q.removeAll(keepingCapacity: true) }; return q }
        }
        for v in values { v.withUnsafeBytes { body($0) } }
        return values.count
    }

    func close() async {
        guard let running = task.withLock({ s -> (pipeline: RetryPipeline, task: Task<Void, Never>)? in defer { s = nil }; return s }) else { return }
        running.task.cancel()
        await running.task.value
        await running.pipeline.close()
    }
}
