import Foundation
import Synchronization
import Testing
import WeirClient
import WeirFormat
import WeirLog
@testable import WeirPatterns

/// A fresh embedded log for one test; `remove()` closes and deletes it.
final class PatternTestLog: Sendable {
    let path: String
    let log: LogDirectory
    var client: any MessagingClient { EmbeddedMessaging(logDirectory: log) }

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-retry-\(UUID().uuidString)").path
        log = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
    }

    func remove() {
        try? log.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    func produce(_ topic: String, partition: Int32? = nil, key: String, value: String, headers: [RecordHeader] = []) async throws {
        let p = try await client.makeProducer(properties: [:])
        _ = try await p.send(ProducerRecord(topic: topic, partition: partition, key: Array(key.utf8), value: Array(value.utf8), headers: headers))
        await p.close()
    }

    func records(_ topic: String) async throws -> [ConsumerRecord] {
        var out: [ConsumerRecord] = []
        try await DeadLetterReplay.read(topic, on: client, groupId: nil, commit: false) { out.append($0) }
        return out
    }
}

struct Flaky: Error, CustomStringConvertible { var description: String { "downstream timed out" } }
struct Poison: ClassifiedError, CustomStringConvertible {
    var isRetriable: Bool { false }
    var description: String { "unknown schema version 9" }
}

final class Events: Sendable {
    let _items = Mutex<[(String, Int64, Int64?)]>([])   // (label, handled at ms, retryAfter header)
    func add(_ label: String, at: Int64, retryAfter: Int64?) { _items.withLock { $0.append((label, at, retryAfter)) } }
    var labels: [String] { _items.withLock { $0.map(\.0) } }
    var items: [(String, Int64, Int64?)] { _items.withLock { $0 } }
}

func wallMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// An epoch-millisecond clock that moves only when told.
final class ManualWallClock: Sendable {
    let _now: Atomic<Int64>
    init(_ start: Int64) { _now = Atomic(start) }
    var now: Int64 { _now.load(ordering: .relaxed) }
    func advance(by ms: Int64) { _now.add(ms, ordering: .relaxed) }
}

@Suite(.serialized) struct RetryPipelineTests {
    static let topic = "order.payment.completed"

    @Test func retryWaitsForRetryAfterWhileOtherPartitionsProceed() async throws {
        let t = try PatternTestLog()
        defer { t.remove() }
        try await t.client.ensureTopic(Self.topic, partitions: 2, configs: [:])
        let events = Events()
        // The pipeline's wall clock moves only when the test says: no timing assumptions.
        let clock = ManualWallClock(1_800_000_000_000)
        let config = RetryConfiguration(sourceTopic: Self.topic, groupId: "billing", maxRetries: 2,
                                        backoff: Backoff(base: .milliseconds(2000), cap: .seconds(3), jitter: .none),
                                        assignment: .partitions([0, 1]), producerProperties: ["acks": "1"],
                                        pollTimeout: .milliseconds(20), wallClockMillis: { clock.now })
        let pipeline = RetryPipeline(client: t.client, configuration: config) { d in
            let value = d.record.valueString ?? ""
            let after = RetryHeaders.string(RetryHeaders.retryAfter, in: d.record.headers).flatMap { Int64($0) }
            events.add("\(value)#\(d.attempt)", at: clock.now, retryAfter: after)
            if value == "slow" && d.attempt == 1 { throw Flaky() }
        }
        let producer = try await t.client.makeProducer(properties: ["linger.ms": "0", "acks": "1"])
        _ = try await producer.send(ProducerRecord(topic: Self.topic, partition: 0, key: "a", value: "slow"))
        let deadline = MonotonicDeadline(after: .seconds(60))
        while !events.labels.contains("slow#1") && !deadline.hasPassed { try await pipeline.pollOnce() }
        // The retry waits in order.payment.completed.retry.1 until the clock reaches its retryAfter.
        while pipeline.statistics.pauses == 0 && !deadline.hasPassed { try await pipeline.pollOnce() }
        _ = try await producer.send(ProducerRecord(topic: Self.topic, partition: 1, key: "b", value: "fast"))
        _ = try await producer.send(ProducerRecord(topic: Self.topic, partition: 0, key: "c", value: "next"))
        await producer.close()
        // Other partitions (and the same source partition) proceed while the retry waits.
        while !(events.labels.contains("fast#1") && events.labels.contains("next#1")) && !deadline.hasPassed {
            try await pipeline.pollOnce()
        }
        clock.advance(by: 1999)
        for _ in 0..<5 { try await pipeline.pollOnce() }
        #expect(!events.labels.contains("slow#2"))           // 1 ms before its retryAfter: still waiting
        clock.advance(by: 1)
        while !events.labels.contains("slow#2") && !deadline.hasPassed { try await pipeline.pollOnce() }
        await pipeline.close()
        #expect(events.labels == ["slow#1", "fast#1", "next#1", "slow#2"] || events.labels == ["slow#1", "next#1", "fast#1", "slow#2"])
        let retry = try #require(events.items.first { $0.0 == "slow#2" })
        #expect(retry.2 == 1_800_000_002_000)                // retryAfter = failure time + 2000 ms
        #expect(retry.1 >= 1_800_000_002_000)                // not processed before it
        #expect(pipeline.statistics.pauses >= 1)
        #expect(pipeline.statistics.retried == 1 && pipeline.statistics.processed == 3)
        let retried = try await t.records(RetryTopics.retryTopic(Self.topic, retry: 1))
        #expect(retried.count == 1)
        let r = try #require(retried.first)
        #expect(RetryHeaders.string(RetryHeaders.retryCount, in: r.headers) == "1")
        #expect(RetryHeaders.string(RetryHeaders.originalTopic, in: r.headers) == Self.topic)
        #expect(r.keyString == "a")
    }

    @Test func deadLetterAfterMaxRetriesWithHeadersAndAlert() async throws {
        let t = try PatternTestLog()
        defer { t.remove() }
        try await t.client.ensureTopic(Self.topic, partitions: 1, configs: [:])
        let alerts = AlertLog()
        let config = RetryConfiguration(sourceTopic: Self.topic, groupId: "billing", maxRetries: 2,
                                        backoff: Backoff(base: .milliseconds(10), cap: .milliseconds(20), jitter: .full),
                                        producerProperties: ["acks": "1"], pollTimeout: .milliseconds(20))
        let pipeline = RetryPipeline(client: t.client, configuration: config, alert: { alerts.append("\($0.attempts) \($0.nonRetriable) \($0.metadata.topic)") }) { d in
            if d.record.valueString == "bad" { throw Flaky() }
        }
        try await t.produce(Self.topic, key: "k", value: "bad", headers: [RecordHeader(key: "traceparent", value: Array("00-abc".utf8))])
        try await t.produce(Self.topic, key: "k2", value: "good")
        let deadline = MonotonicDeadline(after: .seconds(10))
        while pipeline.statistics.deadLettered == 0 && !deadline.hasPassed { try await pipeline.pollOnce() }
        await pipeline.close()
        #expect(pipeline.statistics.retried == 2 && pipeline.statistics.processed == 1)
        #expect(alerts.items == ["3 false \(Self.topic).dlq"])
        let dead = try await t.records(config.deadLetterTopic)
        #expect(dead.count == 1)
        let d = try #require(dead.first)
        let h = { RetryHeaders.string($0, in: d.headers) }
        #expect(d.keyString == "k" && d.valueString == "bad")
        #expect(h(RetryHeaders.retryCount) == "2")
        #expect(h(RetryHeaders.originalTopic) == Self.topic)
        #expect(h(RetryHeaders.originalPartition) == "0" && h(RetryHeaders.originalOffset) == "0")
        #expect(h(RetryHeaders.errorMessage) == "downstream timed out")
        #expect(h(RetryHeaders.errorType)?.contains("Flaky") == true)
        #expect(h(RetryHeaders.errorContext)?.contains("retries exhausted") == true)
        #expect(h(RetryHeaders.failedAt)?.hasPrefix("20") == true)
        #expect(h(RetryHeaders.retryAfter) == nil)
        #expect(h("traceparent") == "00-abc")                // the application's headers are kept
        // Committed: a new pipeline on the same group handles nothing again.
        let again = RetryPipeline(client: t.client, configuration: config) { _ in Issue.record("handled twice") }
        for _ in 0..<3 { try await again.pollOnce() }
        await again.close()
    }

    @Test func nonRetriableGoesStraightToTheDLQ() async throws {
        let t = try PatternTestLog()
        defer { t.remove() }
        try await t.client.ensureTopic(Self.topic, partitions: 1, configs: [:])
        let config = RetryConfiguration(sourceTopic: Self.topic, groupId: "billing", maxRetries: 3,
                                        assignment: .partitions([0]), producerProperties: ["acks": "1"], pollTimeout: .milliseconds(20))
        let pipeline = RetryPipeline(client: t.client, configuration: config) { _ in throw Poison() }
        try await t.produce(Self.topic, key: "k", value: "v9")
        let deadline = MonotonicDeadline(after: .seconds(10))
        while pipeline.statistics.deadLettered == 0 && !deadline.hasPassed { try await pipeline.pollOnce() }
        await pipeline.close()
        #expect(pipeline.statistics.retried == 0 && pipeline.statistics.deadLettered == 1)
        let dead = try #require(try await t.records(config.deadLetterTopic).first)
        #expect(RetryHeaders.string(RetryHeaders.retryCount, in: dead.headers) == "0")
        #expect(RetryHeaders.string(RetryHeaders.errorContext, in: dead.headers)?.contains("non-retriable") == true)
    }

    @Test func replaySendsBackToTheSourceOnce() async throws {
        let t = try PatternTestLog()
        defer { t.remove() }
        try await t.client.ensureTopic(Self.topic, partitions: 1, configs: [:])
        let config = RetryConfiguration(sourceTopic: Self.topic, groupId: "billing", maxRetries: 0,
                                        assignment: .partitions([0]), producerProperties: ["acks": "1"], pollTimeout: .milliseconds(20))
        let pipeline = RetryPipeline(client: t.client, configuration: config) { d in
            if d.record.valueString?.hasPrefix("bad") == true { throw Flaky() }
        }
        for i in 0..<3 { try await t.produce(Self.topic, key: "k\(i)", value: "bad\(i)", headers: [RecordHeader(key: "app", value: Array("x".utf8))]) }
        let deadline = MonotonicDeadline(after: .seconds(10))
        while pipeline.statistics.deadLettered < 3 && !deadline.hasPassed { try await pipeline.pollOnce() }
        await pipeline.close()

        let dry = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic, dryRun: true).run(on: t.client)
        #expect(dry.items.count == 3 && dry.replayed == 0 && dry.items.allSatisfy { $0.target == Self.topic })
        let first = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic, max: 2).run(on: t.client)
        #expect(first.replayed == 2)
        let rest = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic).run(on: t.client)
        #expect(rest.replayed == 1)
        let none = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic).run(on: t.client)
        #expect(none.replayed == 0)
        let source = try await t.records(Self.topic)
        #expect(source.map(\.valueString).prefix(3) == ["bad0", "bad1", "bad2"])
        #expect(source.map(\.valueString).suffix(3).sorted { ($0 ?? "") < ($1 ?? "") } == ["bad0", "bad1", "bad2"])   // per-key order only
        for r in source.suffix(3) {
            #expect(r.headers.map(\.key) == ["app"])          // retry and error headers cleared
        }
        // A message without originalTopic needs --to.
        try await t.produce(config.deadLetterTopic, key: "x", value: "orphan")
        await #expect(throws: ClientError.self) { try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic).run(on: t.client) }
        try await t.client.ensureTopic("order.payment.manual", partitions: 1, configs: [:])
        let to = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic, to: "order.payment.manual").run(on: t.client)
        #expect(to.replayed == 1 && to.items.first?.metadata?.topic == "order.payment.manual")
    }

    @Test func runLoopWithTwoGroupMembersThenStop() async throws {
        let t = try PatternTestLog()
        defer { t.remove() }
        try await t.client.ensureTopic(Self.topic, partitions: 2, configs: [:])
        let events = Events()
        let config = RetryConfiguration(sourceTopic: Self.topic, groupId: "billing", maxRetries: 1,
                                        backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(100)),
                                        producerProperties: ["acks": "1"], pollTimeout: .milliseconds(20))   // no fsync waits on a busy disk
        let handler: RetryPipeline.Handler = { d in
            events.add("\(d.record.valueString ?? "")#\(d.attempt)", at: wallMillis(), retryAfter: nil)
            if d.record.valueString == "v3" && d.attempt == 1 { throw Flaky() }
        }
        let a = RetryPipeline(client: t.client, configuration: config, handler: handler)
        let b = RetryPipeline(client: t.client, configuration: config, handler: handler)
        let runA = Task { try await a.run() }
        let runB = Task { try await b.run() }
        let producer = try await t.client.makeProducer(properties: [:])
        for i in 0..<10 { _ = try await producer.send(ProducerRecord(topic: Self.topic, key: "k\(i)", value: "v\(i)")) }
        await producer.close()
        let deadline = MonotonicDeadline(after: .seconds(30))
        while !Set(events.labels).isSuperset(of: (0..<10).map { "v\($0)#1" } + ["v3#2"]) && !deadline.hasPassed {
            try await Task.sleep(for: .milliseconds(20))
        }
        let state = "a=\(a.statistics) b=\(b.statistics) waiting a=\(a._due.withLock { $0 }) b=\(b._due.withLock { $0 })"
        a.stop()
        b.stop()
        try await runA.value
        try await runB.value
        #expect(Set(events.labels) == Set((0..<10).map { "v\($0)#1" } + ["v3#2"]), "\(state)")
        #expect(a.statistics.processed + b.statistics.processed == 10)
        #expect(a.statistics.retried + b.statistics.retried == 1)
    }
}
