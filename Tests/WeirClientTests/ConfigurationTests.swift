import Testing
import WeirCompression
import WeirLog
@testable import WeirClient

@Suite struct ProducerConfigurationTests {
    @Test func defaultsAreKafkas() {
        let c = ProducerConfiguration()
        #expect(c.batchSize == 16_384)
        #expect(c.lingerMs == 5)
        #expect(c.acks == .all)
        #expect(c.bufferMemory == 33_554_432)
        #expect(c.maxBlockMs == 60_000)
        #expect(c.deliveryTimeoutMs == 120_000)
        #expect(c.maxInFlightRequestsPerConnection == 5)
        #expect(c.isIdempotent)
        #expect(!c.allowAutoCreateTopics)
    }

    @Test func parsesKafkaNamesAndAliases() throws {
        let c = try ProducerConfiguration(properties: [
            "batch.size": "32768", "linger.ms": "100", "compression.type": "snappy",
            "max.in.flight.requests.per.connection": "5", "buffer.memory": "67108864", "idempotent": "true",
            "acks": "all", "transactionTimeout": "60000", "allowAutoTopicCreation": "false",
        ])
        #expect(c.batchSize == 32768)
        #expect(c.lingerMs == 100)
        #expect(c.compressionType == .snappy)
        #expect(c.bufferMemory == 67_108_864)
        #expect(c.enableIdempotence && c.enableIdempotenceIsExplicit)
        #expect(c.transactionTimeoutMs == 60000)
        let d = try ProducerConfiguration(properties: ["acks": "1"])
        #expect(!d.isIdempotent, "idempotence left at its default is turned off by acks=1")
    }

    static let bad: [(key: String, value: String, mentions: String)] = [
        ("bogus.key", "1", "unknown producer config 'bogus.key'"),
        ("batch.size", "-1", "allowed range 0...2147483647"),
        ("batch.size", "abc", "not an integer"),
        ("linger.ms", "-5", "allowed range 0...2147483647"),
        ("acks", "2", "allowed values 0, 1, all, -1"),
        ("compression.type", "brotli", "allowed values none, gzip, snappy, lz4, zstd"),
        ("compression.zstd.level", "23", "allowed range -131072...22"),
        ("compression.gzip.level", "10", "allowed range -1...9"),
        ("compression.lz4.level", "0", "allowed range 1...17"),
        ("max.request.size", "0", "allowed range 1...2147483647"),
        ("max.in.flight.requests.per.connection", "0", "allowed range 1...2147483647"),
        ("retries", "-1", "allowed range 0...2147483647"),
        ("enable.idempotence", "yes", "allowed values true, false"),
        ("transaction.timeout.ms", "900001", "allowed range 1...900000"),
        ("partitioner.class", "random", "allowed values default, round-robin"),
        ("buffer.memory", "-1", "allowed range 0..."),
        ("max.block.ms", "-1", "allowed range 0...2147483647"),
    ]

    @Test(arguments: 0..<bad.count)
    func invalidValuesNameTheKeyAndRange(_ i: Int) {
        let b = Self.bad[i]
        #expect {
            _ = try ProducerConfiguration(properties: [b.key: b.value])
        } throws: { e in
            guard let e = e as? ClientError else { return false }
            return e.code == .invalidConfig && e.key == b.key && e.message.contains(b.mentions)
        }
    }

    @Test func conflictingCombinationsAreErrors() {
        #expect(throws: ClientError.self) { _ = try ProducerConfiguration(properties: ["enable.idempotence": "true", "acks": "1"]) }
        #expect(throws: ClientError.self) { _ = try ProducerConfiguration(properties: ["transactional.id": "t", "acks": "0"]) }
        #expect(throws: ClientError.self) { _ = try ProducerConfiguration(properties: ["max.in.flight.requests.per.connection": "6"]) }
        #expect(throws: ClientError.self) { _ = try ProducerConfiguration(properties: ["delivery.timeout.ms": "1000"]) }
        #expect(throws: Never.self) { _ = try ProducerConfiguration(properties: ["max.in.flight.requests.per.connection": "6", "acks": "1"]) }
    }
}

@Suite struct AdminTests {
    @Test func createListDescribeDelete() throws {
        let t = try TestLog()
        defer { t.remove() }
        let admin = Admin(logDirectory: t.dir)
        try admin.createTopic("orders.payment.completed", partitions: 3, configs: ["retention.ms": "3600000", "cleanup.policy": "compact", "min.insync.replicas": "1"])
        #expect(admin.listTopics() == ["orders.payment.completed"])
        let d = try admin.describeTopic("orders.payment.completed")
        #expect(d.partitions.count == 3)
        #expect(d.configs["retention.ms"] == "3600000")
        #expect(d.overrides["cleanup.policy"] == "compact")
        #expect(d.partitions.allSatisfy { $0.leader == 0 && $0.offsets.highWatermark == 0 })
        let offsets = try admin.listOffsets("orders.payment.completed")
        #expect(offsets.count == 3 && offsets.allSatisfy { $0.logStartOffset == 0 && $0.lastStableOffset == 0 })
        #expect(admin.describeCluster().nodes.count == 1)
        #expect { try admin.createTopic("orders.payment.completed", partitions: 1) } throws: { ($0 as? ClientError)?.code == .topicAlreadyExists }
        try admin.deleteTopic("orders.payment.completed")
        #expect(admin.listTopics().isEmpty)
        #expect { try admin.deleteTopic("orders.payment.completed") } throws: { ($0 as? ClientError)?.code == .unknownTopicOrPartition }
    }

    static let badTopics: [(NewTopic, ClientError.Code, String)] = [
        (NewTopic(name: "", partitions: 1), .invalidTopic, "1 to 240"),
        (NewTopic(name: ".", partitions: 1), .invalidTopic, "reserved"),
        (NewTopic(name: "..", partitions: 1), .invalidTopic, "reserved"),
        (NewTopic(name: String(repeating: "a", count: 250), partitions: 1), .invalidTopic, "1 to 240"),
        (NewTopic(name: "bad/name", partitions: 1), .invalidTopic, "'/'"),
        (NewTopic(name: "bad name", partitions: 1), .invalidTopic, "' '"),
        (NewTopic(name: "ok", partitions: 0), .invalidTopic, "allowed range 1...100000"),
        (NewTopic(name: "ok", partitions: 1, replicationFactor: 3), .invalidConfig, "allowed range 1...1"),
        (NewTopic(name: "ok", partitions: 1, configs: ["min.insync.replicas": "2"]), .invalidConfig, "allowed range 1...1"),
        (NewTopic(name: "ok", partitions: 1, configs: ["retention.msec": "1"]), .invalidConfig, "unknown topic config"),
        (NewTopic(name: "ok", partitions: 1, configs: ["segment.bytes": "1"]), .invalidConfig, "allowed range 14..."),
        (NewTopic(name: "ok", partitions: 1, configs: ["segment.ms": "0"]), .invalidConfig, "allowed range 1..."),
        (NewTopic(name: "ok", partitions: 1, configs: ["retention.ms": "-2"]), .invalidConfig, "allowed range -1..."),
        (NewTopic(name: "ok", partitions: 1, configs: ["retention.bytes": "x"]), .invalidConfig, "not an integer"),
        (NewTopic(name: "ok", partitions: 1, configs: ["cleanup.policy": "forever"]), .invalidConfig, "allowed values delete, compact"),
        (NewTopic(name: "ok", partitions: 1, configs: ["compression.type": "brotli"]), .invalidConfig, "allowed values producer"),
        (NewTopic(name: "ok", partitions: 1, configs: ["index.interval.bytes": "-1"]), .invalidConfig, "allowed range 0..."),
        (NewTopic(name: "ok", partitions: 1, configs: ["flush.messages": "0"]), .invalidConfig, "allowed range 1..."),
        (NewTopic(name: "ok", partitions: 1, configs: ["flush.ms": "-1"]), .invalidConfig, "allowed range 0..."),
        (NewTopic(name: "ok", partitions: 1, configs: ["max.message.bytes": "-1"]), .invalidConfig, "allowed range 0..."),
    ]

    @Test func topicConfigsOverrideTheDirectoryDefaults() throws {
        let t = try TestLog()
        defer { t.remove() }
        // TestLog's directory defaults to 4 MiB segments (the broker-level log.segment.bytes).
        try Admin(logDirectory: t.dir).createTopic("a", partitions: 2, configs: ["retention.ms": "60000"])
        let a = try t.dir.topicConfig("a")
        #expect(a.segmentBytes == 4 << 20)
        #expect(a.retentionMs == 60_000)
        try Admin(logDirectory: t.dir).createTopic("b", partitions: 1, configs: ["segment.bytes": "2097152"])
        #expect(try t.dir.topicConfig("b").segmentBytes == 2 << 20)
    }

    @Test(arguments: 0..<badTopics.count)
    func invalidTopicsAreClearErrors(_ i: Int) throws {
        let t = try TestLog()
        defer { t.remove() }
        let (topic, code, mentions) = Self.badTopics[i]
        #expect {
            try Admin(logDirectory: t.dir).createTopic(topic)
        } throws: { e in
            guard let e = e as? ClientError else { return false }
            return e.code == code && e.message.contains(mentions)
        }
        #expect(Admin(logDirectory: t.dir).listTopics().isEmpty)
    }
}
