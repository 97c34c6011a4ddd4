import Foundation
import Synchronization
import Testing
@testable import WeirBench

/// A backend that acknowledges at once, except that one `send` stalls for `stallNanos`.
struct StallBackend: BenchBackend {
    let stallAtRecord: Int
    let stallNanos: UInt64
    var name: String { "stall" }
    func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {}
    func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        StallProducer(sink: sink, stallAt: stallAtRecord, stallNanos: stallNanos)
    }
    func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        NullBackend.Consumer()
    }
    func statistics() async -> BackendStatistics { BackendStatistics() }
    func shutdown() async {}

    final class StallProducer: BenchProducer, Sendable {
        let sink: DeliverySink
        let stallAt: Int
        let stallNanos: UInt64
        let count = Atomic<Int>(0)
        init(sink: DeliverySink, stallAt: Int, stallNanos: UInt64) {
            self.sink = sink
            self.stallAt = stallAt
            self.stallNanos = stallNanos
        }
        func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
            if count.add(1, ordering: .relaxed).newValue == stallAt { sleepNanos(stallNanos) }
            sink.delivered(intendedNanos: intendedNanos, bytes: value.count)
        }
        func flush() async {}
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
        let backend = StallBackend(stallAtRecord: 200, stallNanos: 300_000_000)
        let r = try await LoadGenerator(workload: w, backend: backend).run()
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

    @Test func maxRateOnTheNullBackendCountsEveryRecord() async throws {
        var w = Workload()
        w.backend = "null"
        w.producerRate = 0
        w.records = 50_000
        w.warmupSeconds = 0
        w.subscriptionsPerTopic = 0
        w.messageSize = 100
        let r = try await LoadGenerator(workload: w, backend: NullBackend()).run()
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
