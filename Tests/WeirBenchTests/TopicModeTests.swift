import Foundation
import Testing
@testable import WeirBench
import WeirClient

/// `weir bench produce` / `weir bench consume` on an existing topic, and the transactional
/// producer mode.
@Suite struct TopicModeTests {
    static func step(topic: String, producers: Int, records: Int, configure: (inout Workload) -> Void = { _ in }) -> Workload {
        var w = Workload()
        w.topic = topic
        w.producersPerTopic = producers
        w.subscriptionsPerTopic = producers == 0 ? 1 : 0
        w.consumerPerSubscription = 2
        w.producerRate = 20_000
        w.records = records
        w.warmupSeconds = 0
        w.messageSize = 200
        w.durationSeconds = 5
        w.drainTimeoutSeconds = 20
        configure(&w)
        return w
    }

    @Test func produceThenConsumeAnExistingTopic() async throws {
        let client = try EmbeddedMessaging.open(path: nil)
        defer { Task { await client.close() } }
        try await client.ensureTopic("orders", partitions: 3, configs: ["segment.bytes": "4194304"])

        let produced = try await LoadGenerator(workload: Self.step(topic: "orders", producers: 2, records: 2_000), client: client).run().summary
        #expect(produced.produce.records == 2_000)
        #expect(produced.consume.records == 0)
        #expect(produced.backendDetails?["topic"] == "orders")

        // Transactional: one commit per 20 ms of schedule, the last one at close.
        let txn = Self.step(topic: "orders", producers: 1, records: 1_000) { w in
            w.producerRate = 10_000
            w.config["transactional.id"] = "bench-tx"
            w.transactionDurationMs = 20
        }
        let t = try await LoadGenerator(workload: txn, client: client).run().summary
        #expect(t.produce.records == 1_000)
        #expect(t.errors == 0)
        #expect(Int(t.backendDetails?["transactions_committed"] ?? "0")! >= 3)

        // Consume-only reads the whole topic from its start (the transaction markers are not
        // records), and measures no end-to-end latency for records of earlier runs.
        let consumed = try await LoadGenerator(workload: Self.step(topic: "orders", producers: 0, records: 0), client: client).run().summary
        #expect(consumed.consume.records == 3_000)
        #expect(consumed.consume.bytes == 3_000 * 200)
        #expect(consumed.consume.recordsPerSec > 0)
        #expect(consumed.latency["end_to_end"] == nil)
        #expect(consumed.undrained == 0)
    }

    @Test func aMissingTopicIsAUsageError() async throws {
        let client = try EmbeddedMessaging.open(path: nil)
        defer { Task { await client.close() } }
        await #expect {
            _ = try await LoadGenerator(workload: Self.step(topic: "absent", producers: 1, records: 10), client: client).run()
        } throws: { error in
            guard let e = error as? BenchError else { return false }
            return e.code == .usage && e.message.contains("'absent' does not exist")
        }
    }

    @Test func transactionsNeedABackendThatHasThem() async throws {
        var w = Self.step(topic: "t", producers: 1, records: 10)
        w.config["transactional.id"] = "x"
        let client = NullClient()
        try await client.ensureTopic("t", partitions: 1, configs: [:])
        await #expect {
            _ = try await LoadGenerator(workload: w, client: client).run()
        } throws: { error in
            guard let e = error as? BenchError else { return false }
            return e.code == .usage && e.message.contains("transactional.id")
        }
    }
}
