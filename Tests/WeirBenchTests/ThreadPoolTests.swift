import Foundation
import Testing
import WeirClient
@testable import WeirBench

/// More producers and consumers than threads: each thread drives several, every producer on
/// its own schedule (OMB's 500- and 1,000-topic files need 2,000–4,000 of each).
@Suite struct ThreadPoolTests {
    @Test func dealingSpreadsEachGroupOverThreads() {
        let lanes = _deal(2_000, threads: 256)
        #expect(lanes.count == 256)
        #expect(lanes.flatMap { $0 }.sorted() == Array(0..<2_000))
        let sizes = lanes.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
        // The four members of a group (consecutive consumers) poll from four threads.
        var thread = [Int](repeating: 0, count: 2_000)
        for (t, lane) in lanes.enumerated() { for i in lane { thread[i] = t } }
        for g in 0..<500 { #expect(Set(thread[4 * g..<4 * g + 4]).count == 4) }
        #expect(_deal(3, threads: 256) == [[0], [1], [2]])
        #expect(_deal(0, threads: 256).isEmpty)
    }

    @Test func limitsNameTheProductAndOMBsThousandTopicFilesFit() throws {
        var w = Workload()
        w.topics = 1_000
        w.producersPerTopic = 4
        w.subscriptionsPerTopic = 1
        w.consumerPerSubscription = 4
        try w.checkRunnable()
        w.topics = 5_000
        #expect { try w.checkRunnable() } throws: { e in
            (e as? BenchError)?.code == .usage && (e as? BenchError)?.message.contains("5000 × 4 producers") == true
        }
    }

    /// Twelve producers and twelve consumers (six groups of two) on four threads a side: every
    /// scheduled record is sent (or counted unsent), acknowledged once and consumed once, and
    /// each has a publish delay.
    @Test func manyProducersAndConsumersOnFewThreadsKeepTheirSchedules() async throws {
        var w = Workload()
        w.topics = 6
        w.partitionsPerTopic = 1
        w.producersPerTopic = 2
        w.consumerPerSubscription = 2
        w.producerRate = 6_000
        w.messageSize = 100
        w.warmupSeconds = 0
        w.durationSeconds = 3
        w.drainTimeoutSeconds = 60
        w.config = ["linger.ms": "0", "segment.bytes": "4194304"]
        let client = try EmbeddedMessaging.open(path: nil)
        var generator = LoadGenerator(workload: w, client: client)
        generator.maxThreadsPerSide = 4
        let r = try await generator.run()
        await client.close()
        let s = r.summary
        #expect(s.errors == 0)
        #expect(s.undrained == 0)
        // 12 producers × 500 rec/s × 3 s, each on its own phase of the schedule.
        #expect(s.produce.records + (s.unsent ?? 0) == 18_000)
        #expect(s.produce.records > 9_000)
        #expect(s.consume.records == s.produce.records)
        #expect(s.latency["publish_delay"]?.count == UInt64(s.produce.records))
        #expect(s.latency["end_to_end"]?.count == UInt64(s.consume.records))
    }

    /// A consumer restarted on a thread that drives another group's member: the others keep
    /// consuming, and the step drains.
    @Test func restartingOneOfSeveralConsumersOnAThread() async throws {
        var w = Workload()
        w.topics = 2
        w.partitionsPerTopic = 2
        w.consumerPerSubscription = 2
        w.producerRate = 2_000
        w.messageSize = 100
        w.warmupSeconds = 0
        w.durationSeconds = 4
        w.drainTimeoutSeconds = 60
        w.config = ["linger.ms": "0", "segment.bytes": "4194304"]
        w.faults = [Fault(kind: .restartConsumer, atSeconds: 1, durationSeconds: 0.5)]
        let client = try EmbeddedMessaging.open(path: nil)
        var generator = LoadGenerator(workload: w, client: client)
        // Consumers 0 and 2 (members of two groups) on one thread, 1 and 3 on the other.
        generator.maxThreadsPerSide = 2
        let r = try await generator.run()
        await client.close()
        #expect(r.summary.errors == 0)
        #expect(r.summary.undrained == 0)
        #expect(r.summary.consume.records >= r.summary.produce.records)
        #expect(r.summary.faults?.map(\.fault) == ["restartConsumer"])
    }
}
