import Foundation
import Synchronization
import Testing
@testable import WeirBench
import WeirRandom
import WeirClientAPI

/// A client that acknowledges at once, except that one `produceNow` stalls for `stallNanos`.
struct StallClient: MessagingClient {
    let base = NullClient()
    let stallAtRecord: Int
    let stallNanos: UInt64
    var backendName: String { "stall" }
    func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
        StallProducer(base: try await base.makeProducer(properties: properties, onDelivery: onDelivery), stallAt: stallAtRecord, stallNanos: stallNanos)
    }
    func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer { try await base.makeConsumer(properties: properties) }
    func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        try await base.ensureTopic(name, partitions: partitions, configs: configs)
    }
    func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] { try await base.endOffsets(partitions) }
    func partitionCount(_ topic: String) async throws(ClientError) -> Int { try await base.partitionCount(topic) }

    final class StallProducer: MessageProducer, Sendable {
        let base: any MessageProducer
        let stallAt: Int
        let stallNanos: UInt64
        let count = Atomic<Int>(0)
        init(base: any MessageProducer, stallAt: Int, stallNanos: UInt64) {
            self.base = base
            self.stallAt = stallAt
            self.stallNanos = stallNanos
        }
        func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata { try await base.send(record) }
        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
            if count.add(1, ordering: .relaxed).newValue == stallAt { sleepNanos(stallNanos) }
            try base.produceNow(topic: topic, key: key, value: value, opaque: opaque)
        }
        func flush() async throws(ClientError) {}
        func close() async {}
    }
}

@Suite struct OpenLoopTests {
    /// Coordinated omission is not hidden: a 300 ms stall at 1000 rec/s delays the ~300 records
    /// scheduled during it, and their publish latency (from the intended time) shows it.
    @Test func aStallShowsInTheLatencyOfRecordsScheduledDuringIt() async throws {
        var w = Workload()
        w.producerRate = 1000
        w.durationSeconds = 1
        w.warmupSeconds = 0
        w.subscriptionsPerTopic = 0
        w.messageSize = 16
        let client = StallClient(stallAtRecord: 200, stallNanos: 300_000_000)
        let r = try await LoadGenerator(workload: w, client: client).run()
        let publish = try #require(r.histograms[.publish])
        let delay = try #require(r.histograms[.publishDelay])
        // The stalled record itself waited 300 ms; the ones after it were sent late, oldest first.
        #expect(publish.max >= 290_000_000)
        let slow = publish.count(within: 100_000_000...UInt64.max / 4)
        #expect(slow >= 150, "only \(slow) records show the stall")
        #expect(delay.count(within: 100_000_000...UInt64.max / 4) >= 150)
        // Every scheduled record was still sent: open loop catches up, it does not skip.
        #expect(r.summary.produce.records >= 990)
        #expect(r.summary.latency["publish"]!.p99 >= 200_000)  // µs
    }

    @Test func maxRateOnTheNullClientCountsEveryRecord() async throws {
        var w = Workload()
        w.backend = "null"
        w.producerRate = 0
        w.records = 50_000
        w.warmupSeconds = 0
        w.subscriptionsPerTopic = 0
        w.messageSize = 100
        let r = try await LoadGenerator(workload: w, client: NullClient()).run()
        #expect(r.summary.produce.records == 50_000)
        #expect(r.summary.produce.bytes == 5_000_000)
        #expect(r.histograms[.publishDelay] == nil)  // no schedule at max rate
    }

    @Test func payloadsAndKeys() throws {
        var w = Workload()
        w.messageSize = 100
        w.messageSizeMax = 200
        w.payload = .random
        let pool = try PayloadPool.make(for: w)
        var sizes = Set<Int>()
        for i in 0..<pool.count { _ = pool.withTemplate(i) { sizes.insert($0.count) } }
        #expect(sizes.allSatisfy { (100...200).contains($0) } && sizes.count > 20)

        w.payload = .text
        w.compressionRatio = 3
        w.messageSizeMax = 0
        w.messageSize = 1000
        let text = try PayloadPool.make(for: w)
        #expect(text.count == 64)

        w.keyDistributor = .zipfian
        w.keyCount = 100
        let keys = KeySource(w)
        var g = PayloadGenerator(seed: 1)
        var hits = [Int](repeating: 0, count: 100)
        for i in 0..<10_000 { hits[keys.index(sequence: i, random: g.next())!] += 1 }
        #expect(hits[0] > hits[50] * 10)
        w.keyDistributor = .sequential
        #expect(KeySource(w).index(sequence: 105, random: 0) == 5)
        w.keyDistributor = .none
        #expect(KeySource(w).index(sequence: 1, random: 0) == nil)
    }
}
