import Foundation
import Testing
import WeirBench
@testable import WeirKafka

/// The load generator over the kafka backend, on librdkafka's mock cluster.
@Suite("Kafka bench backend")
struct BenchBackendTests {
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
        w.config = ["compression.type": "zstd", "linger.ms": "2", "bootstrap.servers": "mock:3"]
        return w
    }

    @Test func stepAgainstTheMockCluster() async throws {
        let w = Self.workload(rate: 2000, seconds: 3, consumers: 1)
        let backend = try KafkaBenchBackend(properties: w.config)
        let result = try await LoadGenerator(workload: w, backend: backend).run()
        await backend.shutdown()
        let s = result.summary
        #expect(s.backend == "kafka")
        #expect(s.errors == 0)
        #expect(s.produce.records > 0)
        #expect(s.consume.records > 0)
        #expect(s.latency["publish"] != nil)
        #expect(s.latency["end_to_end"] != nil)
        #expect((s.compressionRatio ?? 0) > 1)
        let d = try #require(s.backendDetails)
        #expect(d["bootstrap_servers"] == "mock:3")
        #expect(d["brokers"] == "3")
        #expect(d["cluster_id"] != nil)
        #expect(d["librdkafka"] == "2.0.2" || d["librdkafka"] != nil)
    }

    @Test func unknownPropertyIsAUsageError() {
        #expect {
            _ = try KafkaBenchBackend(properties: ["bootstrap.servers": "mock:1", "linger.mss": "5"])
        } throws: { error in
            let e = error as! BenchError
            return e.code == .usage && e.message.contains("linger.mss")
        }
    }

    @Test func missingBootstrapServersIsAUsageError() {
        #expect {
            _ = try KafkaBenchBackend(properties: ["linger.ms": "5"])
        } throws: { error in
            let e = error as! BenchError
            return e.code == .usage && e.message.contains("--bootstrap-servers")
        }
    }

    @Test func unreachableClusterFailsTheStepWithinTheTimeout() async throws {
        let port = ConfigurationTests.closedPort()
        let backend = try KafkaBenchBackend(properties: ["bootstrap.servers": "127.0.0.1:\(port)"])
        await #expect {
            try await backend.createTopics(["t"], partitions: 1)
        } throws: { error in
            let e = error as! BenchError
            print("unreachable cluster →", e.message)
            return e.code == .backend && e.message.contains("127.0.0.1:\(port)")
        }
        await backend.shutdown()
    }

    @Test func topicPropertiesAreSeparated() throws {
        let backend = try KafkaBenchBackend(properties: ["bootstrap.servers": "mock:1", "segment.bytes": "1048576", "replication.factor": "1", "acks": "all"])
        #expect(backend.topicConfig == ["segment.bytes": "1048576"])
        #expect(backend.replicationFactor == 1)
        #expect(backend.configuration["acks"] == "all")
        #expect(backend.configuration["segment.bytes"] == nil)
    }
}
