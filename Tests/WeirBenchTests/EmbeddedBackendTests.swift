import Foundation
import Testing
@testable import WeirBench

/// The embedded backend end to end: producers on the generator's threads (`produceNow`),
/// consumers as `Consumer`s in a group (`pollBlocking`), and the earlier paths for comparison.
@Suite struct EmbeddedBackendTests {
    static func workload(_ config: [String: String], consumers: Int = 2) -> Workload {
        var w = Workload()
        w.partitionsPerTopic = 4
        w.consumerPerSubscription = consumers
        w.producerRate = 20_000
        w.records = 3_000
        w.warmupSeconds = 0
        w.messageSize = 100
        w.drainTimeoutSeconds = 20
        // Small segments: four partitions of the default 128 MiB would be preallocated per case.
        w.config = config.merging(["segment.bytes": "4194304"]) { a, _ in a }
        return w
    }

    static func run(_ w: Workload) async throws -> StepResult {
        let backend = try EmbeddedBackend(logDir: nil, config: w.config)
        let r = try await LoadGenerator(workload: w, backend: backend).run()
        await backend.shutdown()
        return r
    }

    @Test(arguments: [
        ["linger.ms": "0", "acks": "1", "enable.idempotence": "false"],
        ["linger.ms": "2", "acks": "all"],
        ["linger.ms": "0", "acks": "1", "enable.idempotence": "false", "embedded.producer.path": "task", "embedded.consumer.path": "log"],
    ])
    func everyRecordIsAcknowledgedAndConsumedOnce(config: [String: String]) async throws {
        let r = try await Self.run(Self.workload(config))
        #expect(r.summary.produce.records == 3_000)
        #expect(r.summary.consume.records == 3_000)
        #expect(r.summary.errors == 0)
        let e2e = try #require(r.histograms[.endToEnd])
        #expect(e2e.totalCount == 3_000)
    }

    @Test func badPathValuesAreUsageErrors() {
        #expect(throws: BenchError.self) { try EmbeddedBackend(logDir: nil, config: ["embedded.producer.path": "fast"]) }
        #expect(throws: BenchError.self) { try EmbeddedBackend(logDir: nil, config: ["embedded.consumer.path": "direct"]) }
        #expect(throws: BenchError.self) { try EmbeddedBackend(logDir: nil, config: ["fetch.max.wait.ms": "-5"]) }
    }
}
