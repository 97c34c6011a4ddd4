import Foundation
import Testing
@testable import WeirBench
import WeirClient

/// The load generator on the embedded client end to end: producers on the generator's threads
/// (`produceNow`), consumers as `Consumer`s in a group (`pollBlocking`), all through the seam.
@Suite struct EmbeddedClientTests {
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
        let client = try EmbeddedMessaging.open(path: nil)
        do {
            let r = try await LoadGenerator(workload: w, client: client).run()
            await client.close()
            return r
        } catch {
            await client.close()
            throw error
        }
    }

    @Test(arguments: [
        ["linger.ms": "0", "acks": "1", "enable.idempotence": "false"],
        ["linger.ms": "2", "acks": "all"],
        ["linger.ms": "0", "max.poll.interval.ms": "300000", "metadata.max.age.ms": "300000", "topic.compression.type": "lz4"],
    ])
    func everyRecordIsAcknowledgedAndConsumedOnce(config: [String: String]) async throws {
        let r = try await Self.run(Self.workload(config))
        #expect(r.summary.produce.records == 3_000)
        #expect(r.summary.consume.records == 3_000)
        #expect(r.summary.errors == 0)
        let e2e = try #require(r.histograms[.endToEnd])
        #expect(e2e.totalCount == 3_000)
    }

    /// Bad values and unknown keys fail the step as usage errors (exit code 2) naming the key.
    @Test(arguments: [["fetch.max.wait.ms": "-5"], ["batch.sise": "1"], ["linger.ms": "-1"], ["segment.bytes": "x"]])
    func badConfigIsAUsageError(config: [String: String]) async throws {
        await #expect {
            _ = try await Self.run(Self.workload(config))
        } throws: { error in
            guard let e = error as? BenchError else { return false }
            return e.code == .usage && e.message.contains(config.keys.first!)
        }
    }
}
