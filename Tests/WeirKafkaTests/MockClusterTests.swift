import Foundation
import Synchronization
import Testing
@testable import WeirKafka
import WeirClientAPI

/// Round trips, groups, commits and delivery errors against librdkafka's in-process mock
/// cluster (three brokers on 127.0.0.1).
@Suite("Mock cluster")
struct MockClusterTests {
    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

    /// Polls `consumer` until `body` says stop or `limit` passes (bounded, not timed).
    static func pollUntil(_ consumers: [KafkaConsumer], limit: Duration = .seconds(60), _ done: () -> Bool, _ each: (Int, KafkaMessageView) -> Void = { _, _ in }) throws {
        let deadline = MonotonicDeadline(after: limit)
        while !done() && !deadline.hasPassed {
            for (i, c) in consumers.enumerated() {
                try c.poll(timeout: .milliseconds(50)) { each(i, $0) }
            }
        }
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func roundTrip(codec: String) async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let topic = Self.uniqueName("rt-\(codec)")
        try cluster.createTopic(topic, partitions: 3)
        let base = KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        let delivered = Mutex<[Int64]>([])
        let failures = Atomic<Int>(0)
        let producer = try KafkaProducer(configuration: base.merging(["compression.type": codec, "linger.ms": "5"])) { d in
            if d.error != nil { failures.add(1, ordering: .relaxed) } else { delivered.withLock { $0.append(Int64(d.token)) } }
        }
        let handle = try producer.topic(topic)
        let count = 200
        // Compressible values so every codec has work to do.
        for i in 0..<count {
            let value = Array("record \(i) ".utf8) + Array(repeating: UInt8(ascii: "a") + UInt8(i % 7), count: 300)
            try value.withUnsafeBytes { try producer.produce(to: handle, key: nil, value: $0, token: UInt64(i)) }
        }
        try await producer.flush(timeout: .seconds(30))
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(delivered.withLock { Set($0) } == Set((0..<count).map(Int64.init)))
        await producer.close()

        let consumer = try KafkaConsumer(configuration: base.merging(["auto.offset.reset": "earliest"]), groupID: Self.uniqueName("g"))
        try consumer.subscribe([topic])
        var seen = Set<String>()
        try Self.pollUntil([consumer], { seen.count == count }) { _, m in
            let s = String(decoding: m.value, as: UTF8.self)
            seen.insert(String(s.split(separator: " ")[1]))
            #expect(m.value.count > 300)
        }
        #expect(seen == Set((0..<count).map(String.init)))
        await consumer.close()
    }

    @Test func asyncSendReturnsPartitionAndOffset() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let topic = Self.uniqueName("send")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers]))
        let first = try await producer.send(topic: topic, key: Array("k".utf8), value: Array("v1".utf8))
        let second = try await producer.send(topic: topic, value: Array("v2".utf8))
        #expect(first.topic == topic && first.partition == 0 && first.offset == 0)
        #expect(second.offset == 1)
        let meta = try await producer.metadata(timeout: .seconds(10))
        #expect(meta.brokers.count == 3)
        await producer.close()
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers, "auto.offset.reset": "earliest"]), groupID: Self.uniqueName("copy"))
        try consumer.subscribe([topic])
        let message = try consumer.poll(timeout: .seconds(60))
        #expect(message == KafkaConsumerMessage(topic: topic, partition: 0, offset: 0, key: Array("k".utf8), value: Array("v1".utf8)))
        await consumer.close()
    }

    @Test(arguments: ["range", "cooperative-sticky"])
    func rebalanceWithTwoConsumers(strategy: String) async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let topic = Self.uniqueName("rebalance")
        try cluster.createTopic(topic, partitions: 6)
        let group = Self.uniqueName("group")
        let config = KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers, "partition.assignment.strategy": strategy,
                                         "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        let events = Mutex<[String]>([])
        let a = try KafkaConsumer(configuration: config, groupID: group) { e in events.withLock { $0.append("a \(e)") } }
        try a.subscribe([topic])
        try Self.pollUntil([a], { a.assignment.count == 6 })
        #expect(a.assignment.count == 6)
        let b = try KafkaConsumer(configuration: config, groupID: group) { e in events.withLock { $0.append("b \(e)") } }
        try b.subscribe([topic])
        try Self.pollUntil([a, b], { a.assignment.count == 3 && b.assignment.count == 3 })
        #expect(a.assignment.count == 3 && b.assignment.count == 3)
        #expect(a.assignment.isDisjoint(with: b.assignment))
        #expect(a.assignment.union(b.assignment).count == 6)
        let log = events.withLock { $0 }
        #expect(log.contains { $0.hasPrefix("a revoked") })
        if strategy == "cooperative-sticky" {
            #expect(log.contains { $0.contains("cooperative: true") })
        }
        // b leaves: a gets everything back.
        await b.close()
        try Self.pollUntil([a], { a.assignment.count == 6 })
        #expect(a.assignment.count == 6)
        await a.close()
    }

    @Test func commitAndResume() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let topic = Self.uniqueName("resume")
        try cluster.createTopic(topic, partitions: 1)
        let base = KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        let producer = try KafkaProducer(configuration: base)
        for i in 0..<50 { _ = try await producer.send(topic: topic, value: Array("\(i)".utf8)) }
        await producer.close()

        let group = Self.uniqueName("resume-group")
        let consumerConfig = base.merging(["auto.offset.reset": "earliest", "enable.auto.commit": "false", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        let first = try KafkaConsumer(configuration: consumerConfig, groupID: group, commitOnRevoke: false)
        try first.subscribe([topic])
        var offsets: [Int64] = []
        let deadline = MonotonicDeadline(after: .seconds(60))
        while offsets.count < 20 && !deadline.hasPassed {
            try first.poll(timeout: .milliseconds(100), maxMessages: 20 - offsets.count) { offsets.append($0.offset) }
        }
        #expect(offsets == Array(0..<20))
        try first.commit()
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try first.committed([tp]) == [tp: 20])
        await first.close()

        let admin = try KafkaAdmin(configuration: base)
        let lag = try await admin.lag(group: group, topic: topic)
        #expect(lag == [KafkaPartitionLag(partition: tp, committed: 20, lowWatermark: 0, highWatermark: 50, lag: 30)])

        let second = try KafkaConsumer(configuration: consumerConfig, groupID: group)
        try second.subscribe([topic])
        var resumed: [Int64] = []
        try Self.pollUntil([second], { resumed.count >= 30 }) { _, m in resumed.append(m.offset) }
        #expect(resumed.first == 20)
        #expect(resumed == Array(20..<50))
        await second.close()
    }

    @Test func deliveryErrorsAreTypedErrors() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let topic = Self.uniqueName("fail")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers, "retries": "0", "linger.ms": "0"]))
        _ = try await producer.send(topic: topic, value: Array("warm".utf8))  // metadata and connection first
        // NOT_ENOUGH_REPLICAS (19): retriable in Kafka's classification.
        cluster.failNextRequests(.produce, errors: [19])
        await #expect {
            _ = try await producer.send(topic: topic, value: Array("x".utf8))
        } throws: { error in
            let e = error as! KafkaError
            print("delivery error →", e)
            return e.code == 19 && e.name == "NOT_ENOUGH_REPLICAS" && e.isRetriable
        }
        // MESSAGE_TOO_LARGE (10): not retriable.
        cluster.failNextRequests(.produce, errors: [10])
        await #expect {
            _ = try await producer.send(topic: topic, value: Array("y".utf8))
        } throws: { error in
            let e = error as! KafkaError
            return e.code == 10 && !e.isRetriable && e.message.contains("max.message.bytes")
        }
        // With retries, a transient error is retried and the record delivered.
        let retrying = try KafkaProducer(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers, "retry.backoff.ms": "10"]))
        _ = try await retrying.send(topic: topic, value: Array("warm".utf8))
        cluster.failNextRequests(.produce, errors: [19, 19])
        let report = try await retrying.send(topic: topic, value: Array("z".utf8))
        #expect(report.offset >= 0)
        await retrying.close()
        await producer.close()
    }
}
