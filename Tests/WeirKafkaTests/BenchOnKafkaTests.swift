import Foundation
import Testing
import WeirBench
import WeirClientAPI
@testable import WeirKafka

/// The load generator on `KafkaMessaging`, through the seam, on librdkafka's mock cluster.
@Suite("Bench on Kafka")
struct BenchOnKafkaTests {
    static func workload(rate: Double, seconds: Double, consumers: Int) -> Workload {
        var w = Workload()
        w.name = "kafka-test"
        w.backend = "kafka"
        w.partitionsPerTopic = 3
        w.producerRate = rate
        w.messageSize = 256
        w.warmupSeconds = 1
        w.durationSeconds = seconds
        w.subscriptionsPerTopic = consumers
        w.drainTimeoutSeconds = 20
        w.config = ["compression.type": "zstd", "linger.ms": "2"]
        return w
    }

    @Test func stepAgainstTheMockCluster() async throws {
        let w = Self.workload(rate: 2000, seconds: 3, consumers: 1)
        let client = try KafkaMessaging(bootstrapServers: "mock:3")
        let result = try await LoadGenerator(workload: w, client: client).run()
        await client.close()
        let s = result.summary
        #expect(s.backend == "kafka")
        #expect(s.errors == 0)
        #expect(s.produce.records > 0)
        #expect(s.consume.records > 0)
        // The group starts where the topic ended before the step, not where librdkafka's
        // `auto.offset.reset=latest` finds it after the assignment: no record is skipped.
        #expect(s.undrained == 0)
        #expect(s.latency["publish"] != nil)
        #expect(s.latency["end_to_end"] != nil)
        #expect((s.compressionRatio ?? 0) > 1)
        let d = try #require(s.backendDetails)
        #expect(d["bootstrap_servers"] == "mock:3")
        #expect(d["brokers"] == "3")
        #expect(d["cluster_id"] != nil)
        #expect(d["librdkafka"] != nil)
    }

    /// `brokerDown` on the mock cluster: the records sent while the broker is down wait in the
    /// producer and are delivered when it is back, and the consumers read every one of them
    /// (the drain accounts for each acknowledged record).
    @Test(arguments: [1, 3])
    func brokerDownDeliversAndDrainsEveryRecord(brokers: Int) async throws {
        var w = Self.workload(rate: 1_000, seconds: 6, consumers: 1)
        w.warmupSeconds = 0
        w.drainTimeoutSeconds = 60
        w.faults = [Fault(kind: .brokerDown, atSeconds: 1.5, durationSeconds: 1.5, broker: 1)]
        let client = try KafkaMessaging(bootstrapServers: "mock:\(brokers)")
        let r = try await LoadGenerator(workload: w, client: client).run()
        await client.close()
        let s = r.summary
        #expect(s.errors == 0)
        #expect(s.undrained == 0, "\(s.backendDetails ?? [:]) \(r.intervals.map { "\($0.second):\($0.acked)/\($0.consumed)" })")
        #expect(s.produce.records > 3_000)
        #expect(s.consume.records >= s.produce.records)
        let window = try #require(s.faults?.first)
        #expect(window.fault == "brokerDown:1")
        #expect(window.durationSeconds >= 1.5)
        // With one broker, records sent while it was down waited for it (with three, the
        // partitioner sends keyless records to the partitions whose leaders are up).
        if brokers == 1 { #expect((s.latency["publish"]?.max ?? 0) > 500_000) }
    }

    /// A property librdkafka does not know fails the step as a usage error naming it.
    @Test func unknownPropertyIsAUsageError() async throws {
        var w = Self.workload(rate: 100, seconds: 1, consumers: 0)
        w.config["linger.mss"] = "5"
        let client = try KafkaMessaging(bootstrapServers: "mock:1")
        await #expect {
            _ = try await LoadGenerator(workload: w, client: client).run()
        } throws: { error in
            let e = error as! BenchError
            return e.code == .usage && e.message.contains("linger.mss")
        }
        await client.close()
    }

    @Test func unreachableClusterFailsTheStepWithinTheTimeout() async throws {
        let port = ConfigurationTests.closedPort()
        var client = try KafkaMessaging(bootstrapServers: "127.0.0.1:\(port)")
        client.requestTimeout = .seconds(2)
        await #expect {
            _ = try await LoadGenerator(workload: Self.workload(rate: 100, seconds: 1, consumers: 0), client: client).run()
        } throws: { error in
            let e = error as! BenchError
            return e.code == .backend
        }
    }

    /// Topic properties reach the topic, not librdkafka (which would reject `segment.bytes`).
    @Test func topicPropertiesGoToTheTopic() async throws {
        var w = Self.workload(rate: 500, seconds: 1, consumers: 0)
        w.warmupSeconds = 0
        w.config = ["segment.bytes": "1048576", "replication.factor": "1", "acks": "all"]
        let client = try KafkaMessaging(bootstrapServers: "mock:1")
        let result = try await LoadGenerator(workload: w, client: client).run()
        await client.close()
        #expect(result.summary.errors == 0)
        #expect(result.summary.produce.records > 0)
    }
}
