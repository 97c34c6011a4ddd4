import Foundation
import Synchronization
import Testing
import WeirBench
import WeirClient
import WeirFormat
import WeirLog
@testable import WeirKafka

/// `KafkaMessaging` through WeirClient's client protocols (what the pattern components use),
/// against librdkafka's in-process mock cluster.
@Suite("Kafka messaging (client protocols)")
struct MessagingTests {
    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

    static func messaging() throws -> KafkaMessaging {
        try KafkaMessaging(mockCluster: KafkaMockCluster(brokers: 3))
    }

    /// Polls `consumers` (round robin) until `done` or `limit` passes; returns what they read.
    @discardableResult
    static func pollUntil(_ consumers: [any MessageConsumer], limit: Duration = .seconds(60), _ done: ([ConsumerRecord]) async -> Bool) async throws -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        let deadline = MonotonicDeadline(after: limit)
        while !deadline.hasPassed {
            if await done(records) { break }
            for c in consumers { records += try await c.poll(timeout: .milliseconds(50)) }
        }
        return records
    }

    @Test func roundTripWithHeadersNullsAndTimestamps() async throws {
        let kafka = try Self.messaging()
        let topic = Self.uniqueName("headers")
        try await kafka.ensureTopic(topic, partitions: 2, configs: [:])
        let producer = try await kafka.makeProducer(properties: ["linger.ms": "1"])
        let headers = [RecordHeader(key: "retry-count", value: Array("3".utf8)),
                       RecordHeader(key: "traceparent", value: Array("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".utf8)),
                       RecordHeader(key: "null-header", value: nil),
                       RecordHeader(key: "empty-header", value: []),
                       RecordHeader(key: "retry-count", value: Array("4".utf8))]
        let a = try await producer.send(ProducerRecord(topic: topic, partition: 0, key: "k1", value: "v1", headers: headers, timestamp: 1_700_000_000_000))
        let b = try await producer.send(ProducerRecord(topic: topic, partition: 0, key: [UInt8]?.none, value: [UInt8]?.none))
        let c = try await producer.send(ProducerRecord(topic: topic, partition: 1, key: [], value: []))
        // The delivery report's timestamp is the broker's LogAppendTime when it sends one (the
        // mock always does), else the record's CreateTime.
        #expect(a.topic == topic && a.partition == 0 && a.offset == 0 && a.timestamp > 0)
        #expect(b.partition == 0 && b.offset == 1 && b.timestamp > 0)
        #expect(c.partition == 1 && c.offset == 0)
        try await producer.flush()
        await producer.close()

        let consumer = try await kafka.makeConsumer(properties: ["auto.offset.reset": "earliest"])
        try await consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        #expect(await consumer.assignment() == [TopicPartition(topic, 0), TopicPartition(topic, 1)])
        let records = try await Self.pollUntil([consumer]) { $0.count >= 3 }.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        try #require(records.count == 3)
        #expect(records[0].keyString == "k1" && records[0].valueString == "v1")
        #expect(records[0].headers == headers)
        #expect(records[0].timestamp == 1_700_000_000_000 && records[0].timestampType == .createTime)
        #expect(records[1].key == nil && records[1].value == nil && records[1].headers.isEmpty)
        // librdkafka hands an empty key or value over as a null pointer: empty reads back as null.
        #expect((records[2].value ?? []).isEmpty && (records[2].key ?? []).isEmpty)
        await consumer.close()
        await #expect(throws: ClientError.self) { _ = try await consumer.poll(timeout: .milliseconds(10)) }
    }

    /// Records what a consumer's rebalance listener saw, and commits in `partitionsRevoked` as a
    /// pattern does (through the consumer, while librdkafka waits for the listener).
    final class Events: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    final class Listener: MessageRebalanceListener {
        let name: String
        let events: Events
        let owned = Mutex<Set<TopicPartition>>([])
        let consumer = Mutex<(any MessageConsumer)?>(nil)

        init(_ name: String, _ events: Events) {
            self.name = name
            self.events = events
        }

        func partitionsAssigned(_ partitions: [TopicPartition]) async {
            owned.withLock { $0.formUnion(partitions) }
            events.append("\(name) assigned \(partitions.count)")
        }

        func partitionsRevoked(_ partitions: [TopicPartition]) async {
            try? await Task.sleep(for: .milliseconds(200))
            if let c = consumer.withLock({ $0 }) {
                do {
                    try await c.commit(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(7)) }))
                    events.append("\(name) committed \(partitions.count)")
                } catch {
                    events.append("\(name) commit failed: \(error.code) retriable=\(error.isRetriable)")
                }
            }
            owned.withLock { $0.subtract(partitions) }
            events.append("\(name) revoked \(partitions.count)")
        }
    }

    @Test(arguments: ["range", "cooperative-sticky"])
    func groupOfTwoWithRebalanceListener(strategy: String) async throws {
        let kafka = try Self.messaging()
        let topic = Self.uniqueName("group")
        try await kafka.ensureTopic(topic, partitions: 6, configs: [:])
        let props = ["group.id": Self.uniqueName("g"), "partition.assignment.strategy": strategy,
                     "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        let events = Events()
        let a = try await kafka.makeConsumer(properties: props)
        let la = Listener("a", events)
        la.consumer.withLock { $0 = a }
        try await a.subscribe(topics: [topic], listener: la)
        try await Self.pollUntil([a]) { _ in await a.assignment().count == 6 }
        #expect(await a.assignment().count == 6)
        #expect(la.owned.withLock { $0.count } == 6)

        let b = try await kafka.makeConsumer(properties: props)
        let lb = Listener("b", events)
        try await b.subscribe(topics: [topic], listener: lb)
        try await Self.pollUntil([a, b]) { _ in
            let (ca, cb) = (await a.assignment().count, await b.assignment().count)
            return ca == 3 && cb == 3
        }
        let (sa, sb) = (Set(await a.assignment()), Set(await b.assignment()))
        #expect(sa.count == 3 && sb.count == 3 && sa.isDisjoint(with: sb))
        // The listeners saw exactly the assignments the consumers report.
        #expect(la.owned.withLock { $0 } == sa)
        #expect(lb.owned.withLock { $0 } == sb)
        let log = events.lines.withLock { $0 }
        // librdkafka waited for a's partitionsRevoked (which sleeps) before b got partitions.
        let revoked = try #require(log.firstIndex { $0.hasPrefix("a revoked") })
        let bAssigned = try #require(log.firstIndex { $0.hasPrefix("b assigned") })
        #expect(revoked < bAssigned)
        // The commit inside partitionsRevoked goes through, or, when the group is already
        // preparing the rebalance, arrives as a retriable typed error: a real broker accepts a
        // member's commit then, librdkafka 2.0.2's mock answers REBALANCE_IN_PROGRESS.
        #expect(log.allSatisfy { !$0.contains("commit failed") || $0.hasSuffix("commit failed: rebalanceInProgress retriable=true") })
        if log.contains(where: { $0.hasPrefix("a committed") }) && !log.contains(where: { $0.contains("commit failed") }) {
            let moved = try #require(sb.first)
            #expect(try await a.committed(moved) == 7)
        }
        if strategy == "cooperative-sticky" {
            // Only the increment moves: a gives up 3, never all 6.
            #expect(log.contains("a revoked 3") && !log.contains("a revoked 6"))
        } else {
            #expect(log.contains("a revoked 6"))
        }
        // b leaves (its listener sees the revocation); a gets everything back.
        await b.close()
        #expect(lb.owned.withLock { $0.isEmpty })
        try await Self.pollUntil([a]) { _ in await a.assignment().count == 6 }
        #expect(await a.assignment().count == 6)
        await a.close()
        #expect(la.owned.withLock { $0.isEmpty })
    }

    @Test func commitCommittedAndResumeFromCommitted() async throws {
        let kafka = try Self.messaging()
        let topic = Self.uniqueName("resume")
        try await kafka.ensureTopic(topic, partitions: 1, configs: [:])
        let producer = try await kafka.makeProducer(properties: [:])
        for i in 0..<50 { _ = try await producer.send(ProducerRecord(topic: topic, value: "\(i)")) }
        await producer.close()
        let tp = TopicPartition(topic, 0)
        #expect(try await kafka.endOffsets([tp]) == [tp: 50])

        let props = ["group.id": Self.uniqueName("resume-group"), "auto.offset.reset": "earliest", "max.poll.records": "20",
                     "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        let first = try await kafka.makeConsumer(properties: props)
        try await first.subscribe(topics: [topic], listener: nil)
        #expect(try await first.committed(tp) == nil)
        let read = try await Self.pollUntil([first]) { !$0.isEmpty }
        // max.poll.records bounds one poll.
        #expect(read.count <= 20 && read.first?.offset == 0)
        try await first.commit([tp: 20])
        #expect(try await first.committed(tp) == 20)
        await first.close()  // closing does not commit what was read past 20

        let second = try await kafka.makeConsumer(properties: props)
        try await second.subscribe(topics: [topic], listener: nil)
        let resumed = try await Self.pollUntil([second]) { $0.count >= 30 }
        #expect(resumed.map(\.offset) == Array(20..<50))
        #expect(resumed.first?.valueString == "20")
        await second.close()
    }

    @Test func seekMovesThePositionAndNeedsAnAssignment() async throws {
        let kafka = try Self.messaging()
        let topic = Self.uniqueName("seek")
        try await kafka.ensureTopic(topic, partitions: 1, configs: [:])
        let producer = try await kafka.makeProducer(properties: [:])
        for i in 0..<30 { _ = try await producer.send(ProducerRecord(topic: topic, value: "\(i)")) }
        await producer.close()
        let tp = TopicPartition(topic, 0)
        let consumer = try await kafka.makeConsumer(properties: ["auto.offset.reset": "earliest"])
        await #expect { try await consumer.seek(tp, to: 5) } throws: { ($0 as? ClientError)?.code == .invalidState }
        try await consumer.assign([tp])
        let all = try await Self.pollUntil([consumer]) { $0.count >= 30 }
        #expect(all.map(\.offset) == Array(0..<30))
        try await consumer.seek(tp, to: 10)
        let again = try await Self.pollUntil([consumer]) { $0.count >= 20 }
        #expect(again.map(\.offset) == Array(10..<30))
        // Seeking right after assign (before librdkafka fetches the partition) works too: the
        // way pattern consumers position themselves at the end.
        let fresh = try await kafka.makeConsumer(properties: ["group.id": Self.uniqueName("fresh"), "auto.offset.reset": "earliest"])
        try await fresh.assign([tp])
        try await fresh.seek(tp, to: 25)
        let tail = try await Self.pollUntil([fresh]) { $0.count >= 5 }
        #expect(tail.map(\.offset) == Array(25..<30))
        await fresh.close()
        // Without a group.id the consumer can assign but not subscribe.
        await #expect { try await consumer.subscribe(topics: [topic], listener: nil) } throws: { ($0 as? ClientError)?.code == .invalidConfig }
        await consumer.close()
    }

    @Test func pauseAndResume() async throws {
        let kafka = try Self.messaging()
        let topic = Self.uniqueName("pause")
        try await kafka.ensureTopic(topic, partitions: 2, configs: [:])
        let (p0, p1) = (TopicPartition(topic, 0), TopicPartition(topic, 1))
        let consumer = try await kafka.makeConsumer(properties: ["auto.offset.reset": "earliest"])
        await #expect { try await consumer.pause([p0]) } throws: { ($0 as? ClientError)?.code == .invalidState }
        try await consumer.assign([p0, p1])
        try await consumer.pause([p0])
        let producer = try await kafka.makeProducer(properties: [:])
        for i in 0..<10 {
            _ = try await producer.send(ProducerRecord(topic: topic, partition: 0, value: "p0-\(i)"))
            _ = try await producer.send(ProducerRecord(topic: topic, partition: 1, value: "p1-\(i)"))
        }
        await producer.close()
        let whilePaused = try await Self.pollUntil([consumer]) { $0.count >= 10 }
        // Poll a little longer: nothing from the paused partition arrives.
        let more = try await Self.pollUntil([consumer], limit: .milliseconds(500)) { _ in false }
        #expect((whilePaused + more).allSatisfy { $0.partition == 1 })
        #expect((whilePaused + more).count == 10)
        try await consumer.resume([p0])
        let resumed = try await Self.pollUntil([consumer]) { $0.count >= 10 }
        #expect(resumed.map(\.partition) == Array(repeating: 0, count: 10))
        #expect(resumed.map(\.offset) == Array(0..<10))
        await consumer.close()
    }

    @Test func ensureTopicTwiceEndOffsetsAndPartitionCount() async throws {
        let kafka = try Self.messaging()
        let topic = Self.uniqueName("ensure")
        try await kafka.ensureTopic(topic, partitions: 3, configs: [:])
        try await kafka.ensureTopic(topic, partitions: 3, configs: [:])
        #expect(try await kafka.partitionCount(topic) == 3)
        let producer = try await kafka.makeProducer(properties: [:])
        for i in 0..<12 { _ = try await producer.send(ProducerRecord(topic: topic, partition: Int32(i % 3), value: "\(i)")) }
        await producer.close()
        let tps = (0..<3).map { TopicPartition(topic, Int32($0)) }
        #expect(try await kafka.endOffsets(tps) == Dictionary(uniqueKeysWithValues: tps.map { ($0, Int64(4)) }))
        // Asking about a topic does not create it.
        let missing = Self.uniqueName("missing")
        await #expect { _ = try await kafka.partitionCount(missing) } throws: { ($0 as? ClientError)?.code == .unknownTopicOrPartition }
        await #expect { _ = try await kafka.partitionCount(missing) } throws: { ($0 as? ClientError)?.code == .unknownTopicOrPartition }
        #expect(kafka.backendName == "kafka")
    }

    @Test func deliveryErrorsAreClientErrors() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let kafka = try KafkaMessaging(mockCluster: cluster)
        let topic = Self.uniqueName("fail")
        try await kafka.ensureTopic(topic, partitions: 1, configs: [:])
        let producer = try await kafka.makeProducer(properties: ["retries": "0", "linger.ms": "0"])
        _ = try await producer.send(ProducerRecord(topic: topic, value: "warm"))
        func failing(_ code: Int32) async -> ClientError? {
            cluster.failNextRequests(.produce, errors: [code])
            do {
                _ = try await producer.send(ProducerRecord(topic: topic, value: "x"))
                return nil
            } catch {
                return error
            }
        }
        // NOT_ENOUGH_REPLICAS: retriable, no closer code than `kafka`.
        let notEnough = try #require(await failing(19))
        #expect(notEnough.code == .kafka && notEnough.isRetriable && notEnough.message.contains("NOT_ENOUGH_REPLICAS"))
        let tooLarge = try #require(await failing(10))
        #expect(tooLarge.code == .recordTooLarge && !tooLarge.isRetriable)
        let denied = try #require(await failing(29))
        #expect(denied.code == .authorizationFailed && !denied.isRetriable)
        await producer.close()
    }

    @Test func badConfigurationFailsClearlyAndInBoundedTime() async throws {
        #expect { _ = try KafkaMessaging(bootstrapServers: "127.0.0.1:9", properties: ["no.such.property": "1"]) } throws: { error in
            let e = error as! ClientError
            return e.code == .invalidConfig && e.key == "no.such.property" && e.message.contains("no.such.property")
        }
        #expect {
            _ = try KafkaMessaging(bootstrapServers: "127.0.0.1:9", properties: ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "NOPE"])
        } throws: { error in
            let e = error as! ClientError
            return e.code == .invalidConfig && e.key == "sasl.mechanism"
        }
        #expect { _ = try KafkaMessaging(configuration: KafkaConfiguration()) } throws: { ($0 as? ClientError)?.key == "bootstrap.servers" }
        let kafka = try KafkaMessaging(bootstrapServers: "127.0.0.1:9")
        await #expect { _ = try await kafka.makeProducer(properties: ["acks": "sometimes"]) } throws: { ($0 as? ClientError)?.key == "acks" }
        await #expect { _ = try await kafka.makeConsumer(properties: ["max.poll.records": "0"]) } throws: { ($0 as? ClientError)?.key == "max.poll.records" }

        // Nothing listens on the port: each call fails within its timeout with a retriable error.
        var unreachable = try KafkaMessaging(bootstrapServers: "127.0.0.1:\(ConfigurationTests.closedPort())")
        unreachable.requestTimeout = .seconds(2)
        await #expect { _ = try await unreachable.partitionCount("t") } throws: { error in
            let e = error as! ClientError
            return e.isRetriable && e.message.contains("bootstrap.servers")
        }
        let producer = try await unreachable.makeProducer(properties: ["message.timeout.ms": "1500"])
        await #expect { _ = try await producer.send(ProducerRecord(topic: "t", value: "x")) } throws: { error in
            let e = error as! ClientError
            return e.code == .deliveryTimeout && e.isRetriable
        }
        await producer.close()
    }
}
