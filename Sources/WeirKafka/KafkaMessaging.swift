import CRdKafka
import Dispatch
import Synchronization
public import WeirClientAPI
import WeirFormat

/// A Kafka cluster behind the client seam (`MessagingClient`, `MessageProducer`,
/// `MessageConsumer`), so that every WeirPatterns component runs over Kafka unchanged.
///
/// Configured with librdkafka properties (`bootstrap.servers`, `security.protocol`, `sasl.*`,
/// `ssl.*`, …), which every producer and consumer it makes inherits; `makeProducer` and
/// `makeConsumer` add their own on top. `bootstrap.servers=mock:N` (or
/// `test.mock.num.brokers=N`) starts librdkafka's in-process mock cluster with N brokers, kept
/// alive as long as this value.
///
/// ```swift
/// let kafka = try KafkaMessaging(bootstrapServers: "broker1:9092", properties: ["acks": "all"])
/// try await kafka.ensureTopic("orders", partitions: 6, configs: ["retention.ms": "86400000"])
/// let producer = try await kafka.makeProducer(properties: ["enable.idempotence": "true"])
/// ```
public struct KafkaMessaging: MessagingClient {
    /// The properties every producer and consumer gets (a mock cluster's real address included).
    public let configuration: KafkaConfiguration
    /// The in-process mock cluster, when `bootstrap.servers` was `mock:N` or one was given.
    public let mockCluster: KafkaMockCluster?
    let admin: KafkaAdmin
    /// The consumers made here (weakly), for the offset resets `details()` reports.
    let _consumers = _ConsumerRegistry()
    /// How long `ensureTopic`, `endOffsets` and `partitionCount` wait for the cluster per request
    /// before they fail (default 10 s); `ensureTopic` waits up to 3× this for the new topic's
    /// leaders.
    public var requestTimeout: Duration = .seconds(10)
    public var backendName: String { "kafka" }
    /// `bootstrap.servers` as given (`mock:N` for a mock cluster), for reports.
    public let requestedBootstrapServers: String

    /// Connects to the cluster at `bootstrapServers` (`mock:N` for an in-process mock cluster).
    ///
    /// - Throws: `.invalidConfig` naming the property librdkafka rejected.
    public init(bootstrapServers: String, properties: [String: String] = [:]) throws(ClientError) {
        try self.init(configuration: KafkaConfiguration(properties.merging(["bootstrap.servers": bootstrapServers]) { _, new in new }))
    }

    /// Uses `mockCluster` (clients get its `bootstrapServers`).
    public init(mockCluster: KafkaMockCluster, properties: [String: String] = [:]) throws(ClientError) {
        var props = properties
        props["bootstrap.servers"] = mockCluster.bootstrapServers
        props.removeValue(forKey: "test.mock.num.brokers")
        try self.init(configuration: KafkaConfiguration(props), mock: mockCluster)
    }

    /// Connects with `configuration` (`bootstrap.servers` required); no broker is contacted
    /// until the first call that needs one.
    ///
    /// - Throws: `.invalidConfig` naming the property librdkafka rejected (an unknown property, an
    ///   invalid value, an unsupported `sasl.mechanism`) or a missing `bootstrap.servers`.
    public init(configuration: KafkaConfiguration) throws(ClientError) {
        if let n = configuration.mockBrokerCount {
            let mock: KafkaMockCluster
            do { mock = try KafkaMockCluster(brokers: n) } catch { throw ClientError(error) }
            try self.init(mockCluster: mock, properties: configuration.properties)
            return
        }
        try self.init(configuration: configuration, mock: nil)
    }

    init(configuration: KafkaConfiguration, mock: KafkaMockCluster?) throws(ClientError) {
        guard configuration.bootstrapServers?.isEmpty == false else {
            throw ClientError(.invalidConfig, "bootstrap.servers is not set; give the cluster's brokers as host:port[,host:port] (or mock:3 for librdkafka's in-process mock cluster).", key: "bootstrap.servers")
        }
        var config = configuration
        if mock != nil {
            for (key, value) in KafkaMockCluster.clientDefaults where config[key] == nil { config[key] = value }
        }
        do {
            try config.validate()
            // Metadata lookups must not create the topics they ask about.
            admin = try KafkaAdmin(configuration: config.merging(["allow.auto.create.topics": "false"]))
        } catch {
            throw ClientError(error)
        }
        self.configuration = config
        self.mockCluster = mock
        requestedBootstrapServers = mock.map { "mock:\($0.brokerCount)" } ?? config.bootstrapServers ?? ""
    }

    /// Bootstrap servers, brokers, cluster id and controller (`rd_kafka_metadata`,
    /// `rd_kafka_clusterid`) and the librdkafka version. Kafka's protocol reports no broker
    /// software version.
    public func details() async -> [String: String] {
        var out: [String: String] = [
            "bootstrap_servers": requestedBootstrapServers,
            "librdkafka": KafkaClusterMetadata.librdkafkaVersion,
        ]
        let resets = _consumers.offsetResets
        if resets > 0 {
            // Records were skipped: say so next to the numbers.
            out["consumer_offset_resets"] = String(resets)
        }
        if mockCluster != nil { out["cluster"] = "librdkafka mock cluster (in-process, \(configuration.bootstrapServers ?? ""))" }
        if let meta = try? await admin.metadata(timeout: .seconds(5)) {
            out["brokers"] = String(meta.brokers.count)
            out["broker_addresses"] = meta.brokers.sorted { $0.id < $1.id }.map { "\($0.id)=\($0.address)" }.joined(separator: ",")
            if let id = meta.clusterID { out["cluster_id"] = id }
            if let c = meta.controllerID { out["controller_id"] = String(c) }
        }
        return out
    }

    /// A producer; with `onDelivery`, librdkafka's statistics are collected too, for
    /// `producerStatistics()` (batch bytes for a compression ratio).
    public func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
        var handler: (@Sendable (KafkaDelivery) -> Void)?
        if let onDelivery {
            handler = { (d: KafkaDelivery) in
                let result: Result<Int64, ClientError>
                if let error = d.error { result = .failure(ClientError(error)) } else { result = .success(d.offset) }
                onDelivery(DeliveryBatchReport(topicPartition: TopicPartition(d.topic, d.partition), result: result, opaques: [d.token]))
            }
        }
        do {
            return KafkaMessageProducer(try KafkaProducer(configuration: configuration.merging(properties), statistics: onDelivery != nil, onDelivery: handler),
                                        statistics: onDelivery != nil)
        } catch {
            throw ClientError(error)
        }
    }

    /// A consumer; `enable.auto.commit` defaults to false, `group.id` may be absent for a
    /// consumer that only `assign`s. `max.poll.records` (Kafka's, default 500) bounds what one
    /// `poll` returns; every other property goes to librdkafka.
    public func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
        var props = properties
        if props["enable.auto.commit"] == nil { props["enable.auto.commit"] = "false" }
        // Parsed by the consumer's property table (its range and default), not by librdkafka.
        let maxRecords = try ConsumerConfiguration(properties: props.removeValue(forKey: "max.poll.records").map { ["max.poll.records": $0] } ?? [:])
            .maxPollRecords
        var config = configuration
        if mockCluster != nil {
            for (key, value) in KafkaMockCluster.consumerDefaults where props[key] == nil && config[key] == nil { config[key] = value }
        }
        // librdkafka assigns through its group machinery, so a consumer without `group.id` gets
        // a private one that never joins (it only `assign`s; `subscribe` is refused).
        let grouped = props["group.id"] != nil || config["group.id"] != nil
        if !grouped { props["group.id"] = "weir-assign-\(UInt64.random(in: 0...UInt64.max))" }
        do {
            let consumer = try KafkaConsumer(configuration: config.merging(props), group: nil, commitOnRevoke: false, onRebalance: nil)
            _consumers.add(consumer)
            return KafkaMessageConsumer(consumer, maxPollRecords: maxRecords, canSubscribe: grouped)
        } catch {
            throw ClientError(error)
        }
    }

    /// Creates the topic (`rd_kafka_CreateTopics`; `TOPIC_ALREADY_EXISTS` is not an error) and
    /// waits until every partition has a leader. `configs` are topic properties
    /// (`retention.ms`, `cleanup.policy`, …) plus `replication.factor` (default: the broker's
    /// `default.replication.factor`). On the mock cluster the topic is created with
    /// `rd_kafka_mock_topic_create`, which takes no topic properties.
    public func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        if let have = try? await partitionCount(name), have >= partitions { return }
        var topicConfigs = configs
        var replication = -1
        if let raw = topicConfigs.removeValue(forKey: "replication.factor") {
            guard let n = Int(raw), n == -1 || n >= 1 else {
                throw ClientError(.invalidConfig, "replication.factor: '\(raw)' is not valid; allowed: -1 (the broker's default) or ≥ 1.", key: "replication.factor")
            }
            replication = n
        }
        do { try await _createTopic(name, partitions: partitions, replicationFactor: replication, configs: topicConfigs) } catch {
            throw ClientError(error)
        }
    }

    func _createTopic(_ name: String, partitions: Int, replicationFactor: Int, configs: [String: String]) async throws(KafkaError) {
        if let mockCluster {
            do { try mockCluster.createTopic(name, partitions: partitions, replicationFactor: max(replicationFactor, 1)) } catch {
                if error.code != Int32(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue) { throw error }
            }
        } else {
            try await admin.createTopics([KafkaNewTopic(name: name, partitions: partitions, replicationFactor: replicationFactor, config: configs)],
                                         ignoreExisting: true, timeout: requestTimeout)
        }
        try await admin.waitForLeaders(topics: [name], timeout: requestTimeout * 3)
    }

    /// The high watermark of each partition (`rd_kafka_query_watermark_offsets`).
    public func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions {
            do { out[tp] = try await admin.watermarks(topic: tp.topic, partition: tp.partition, timeout: requestTimeout).high } catch { throw ClientError(error) }
        }
        return out
    }

    /// The partition count from the topic's metadata (`rd_kafka_metadata`).
    ///
    /// - Throws: `.unknownTopicOrPartition` when the topic does not exist.
    public func partitionCount(_ topic: String) async throws(ClientError) -> Int {
        do throws(KafkaError) {
            // The mock cluster creates any topic a Metadata request names (it ignores
            // allow.auto.create.topics=false): ask it for all topics instead.
            let meta = try await admin.metadata(topic: mockCluster == nil ? topic : nil, timeout: requestTimeout)
            guard let t = meta.topics.first(where: { $0.name == topic }) else {
                throw KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, context: "topic '\(topic)'")
            }
            if let e = t.error { throw e }
            return t.partitions.count
        } catch {
            throw ClientError(error)
        }
    }
}

/// A `KafkaProducer` behind the `MessageProducer` protocol: `send` waits for the delivery
/// report; headers, null values and timestamps go through `rd_kafka_producev`.
public struct KafkaMessageProducer: MessageProducer {
    /// The librdkafka producer, for what the protocol does not cover.
    public let producer: KafkaProducer
    /// Whether the producer collects librdkafka's statistics (`KafkaProducer(statistics:)`).
    let _statistics: Bool

    public init(_ producer: KafkaProducer) { self.init(producer, statistics: false) }

    init(_ producer: KafkaProducer, statistics: Bool) {
        self.producer = producer
        _statistics = statistics
    }

    /// `rd_kafka_produce` with a copy of the bytes (blocking while librdkafka's queue is full);
    /// `opaque` is the delivery report's token, below 2^63.
    public func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
        do {
            try producer.produce(to: try producer.topic(topic), key: key, value: value ?? UnsafeRawBufferPointer(start: nil, count: 0), token: opaque)
        } catch {
            throw ClientError(error)
        }
    }

    /// `rd_kafka_producev` with the record's timestamp and a `SendStamp` header (copied).
    public func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                           timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) {
        do {
            try producer.produce(to: try producer.topic(topic), key: key, value: value ?? UnsafeRawBufferPointer(start: nil, count: 0),
                                 timestamp: timestamp, headers: [SendStamp.header(stamp)], token: opaque)
        } catch {
            throw ClientError(error)
        }
    }

    /// librdkafka's statistics (with a delivery handler; nil otherwise), after one more
    /// emission so that they cover what was sent.
    public func producerStatistics() async -> ProducerStatistics? {
        guard _statistics else { return nil }
        await producer.awaitStatistics()
        let s = producer.statistics()
        return ProducerStatistics(recordsFailed: s.failedRecords, batchesSent: s.batches, bytesSent: s.batchBytes, retries: s.retries)
    }

    public func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        do {
            let report = try await producer.send(topic: record.topic, partition: record.partition, key: record.key, value: record.value,
                                                 headers: record.headers, timestamp: record.timestamp)
            return RecordMetadata(topic: report.topic, partition: report.partition, offset: report.offset, timestamp: report.timestamp)
        } catch {
            throw ClientError(error)
        }
    }

    public func flush() async throws(ClientError) {
        do { try await producer.flush() } catch { throw ClientError(error) }
    }

    public func close() async { await producer.close() }
}

/// A `KafkaConsumer` behind the `MessageConsumer` protocol.
///
/// Every blocking librdkafka call (poll, commit, committed, seek, close) runs on a thread of its
/// own, never on Swift's cooperative pool. The rebalance listener runs inside `poll` (and
/// `close`): the polling thread waits for `partitionsRevoked` to return before librdkafka gives
/// the partitions up, and calls `partitionsAssigned` after it took them, under the eager
/// protocol and `partition.assignment.strategy=cooperative-sticky` alike (only the increment
/// then). Partitions taken away after a session timeout go to `partitionsLost`.
public struct KafkaMessageConsumer: MessageConsumer {
    /// The librdkafka consumer, for what the protocol does not cover.
    public let consumer: KafkaConsumer
    /// The most records one `poll` returns (`max.poll.records`).
    public let maxPollRecords: Int

    /// False for a consumer made without `group.id`: it may only `assign`.
    let canSubscribe: Bool

    public init(_ consumer: KafkaConsumer, maxPollRecords: Int = 500) {
        self.init(consumer, maxPollRecords: maxPollRecords, canSubscribe: !consumer.groupID.isEmpty)
    }

    init(_ consumer: KafkaConsumer, maxPollRecords: Int, canSubscribe: Bool) {
        self.consumer = consumer
        self.maxPollRecords = maxPollRecords
        self.canSubscribe = canSubscribe
    }

    public func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
        try checkOpen("subscribe")
        guard canSubscribe else {
            throw ClientError(.invalidConfig, "subscribe needs group.id; set it in the consumer's properties, or use assign.", key: "group.id")
        }
        consumer.rebalance.hook.withLock { $0 = listener.map(Self.bridge) }
        do { try consumer.subscribe(topics) } catch { throw ClientError(error) }
    }

    /// Runs the async listener to completion on the (dedicated) polling thread.
    static func bridge(_ listener: any MessageRebalanceListener) -> @Sendable (_RebalancePhase) -> Void {
        { phase in
            let done = DispatchSemaphore(value: 0)
            Task {
                switch phase {
                case .willRevoke(let partitions, let lost):
                    let tps = partitions.map(TopicPartition.init).sorted()
                    if lost { await listener.partitionsLost(tps) } else { await listener.partitionsRevoked(tps) }
                case .didAssign(let partitions):
                    await listener.partitionsAssigned(partitions.map(TopicPartition.init).sorted())
                }
                done.signal()
            }
            done.wait()
        }
    }

    public func assign(_ partitions: [TopicPartition]) async throws(ClientError) {
        try checkOpen("assign")
        do { try consumer.assign(partitions.map(KafkaTopicPartition.init)) } catch { throw ClientError(error) }
    }

    /// `KafkaConsumer.poll(timeout:maxMessages:)` on the calling thread: views into librdkafka's
    /// messages, at most `max.poll.records` per call.
    public func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
        try checkOpen("poll")
        do {
            return try consumer.poll(timeout: timeout, maxMessages: maxPollRecords) { m in
                body(ConsumerRecordView(partition: m.partition, offset: m.offset, key: m.key, value: m.value,
                                        timestamp: m.timestamp, stamp: SendStamp.read(m.lastHeader(named: SendStamp.headerKey))))
            }
        } catch {
            throw ClientError(error)
        }
    }

    public func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        try checkOpen("poll")
        let consumer = self.consumer, max = maxPollRecords
        do {
            return try await _blocking { () throws(KafkaError) in try consumer.pollRecords(timeout: timeout, maxMessages: max) }
        } catch {
            throw ClientError(error)
        }
    }

    public func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) {
        try checkOpen("commit")
        guard !offsets.isEmpty else { return }
        let consumer = self.consumer
        let list = Dictionary(offsets.map { (KafkaTopicPartition($0.key), $0.value) }) { a, _ in a }
        do {
            try await _blocking { () throws(KafkaError) in try consumer.commit(list) }
        } catch {
            throw ClientError(error)
        }
    }

    public func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? {
        try checkOpen("committed")
        let consumer = self.consumer
        let tp = KafkaTopicPartition(partition)
        do {
            return try await _blocking { () throws(KafkaError) in try consumer.committed([tp])[tp] }
        } catch {
            throw ClientError(error)
        }
    }

    public func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) {
        try checkOpen("seek")
        let consumer = self.consumer
        let tp = KafkaTopicPartition(partition)
        do {
            try await _blocking { () throws(KafkaError) in try consumer.seek([tp: offset]) }
        } catch {
            throw ClientError(error)
        }
    }

    public func pause(_ partitions: [TopicPartition]) async throws(ClientError) {
        try checkOpen("pause")
        do { try consumer.pause(partitions.map(KafkaTopicPartition.init)) } catch { throw ClientError(error) }
    }

    public func resume(_ partitions: [TopicPartition]) async throws(ClientError) {
        try checkOpen("resume")
        do { try consumer.resume(partitions.map(KafkaTopicPartition.init)) } catch { throw ClientError(error) }
    }

    public func assignment() async -> [TopicPartition] {
        consumer.assignment.map(TopicPartition.init).sorted()
    }

    /// Leaves the group (the listener's `partitionsRevoked` runs) without committing.
    public func close() async {
        await consumer.close()
        consumer.rebalance.hook.withLock { $0 = nil }
    }

    func checkOpen(_ what: String) throws(ClientError) {
        if consumer.closed.load(ordering: .acquiring) {
            throw ClientError(.consumerClosed, "\(what): the consumer is closed; make a new one with makeConsumer.")
        }
    }
}

extension TopicPartition {
    init(_ tp: KafkaTopicPartition) { self.init(tp.topic, tp.partition) }
}

extension KafkaTopicPartition {
    /// The same partition as WeirClient's `TopicPartition`.
    public init(_ tp: TopicPartition) { self.init(topic: tp.topic, partition: tp.partition) }
}

/// The consumers a `KafkaMessaging` made, held weakly.
final class _ConsumerRegistry: Sendable {
    struct _Weak: @unchecked Sendable { weak var consumer: KafkaConsumer? }
    let consumers = Mutex<[_Weak]>([])

    func add(_ consumer: KafkaConsumer) {
        consumers.withLock { list in
            list.removeAll { $0.consumer == nil }
            list.append(_Weak(consumer: consumer))
        }
    }

    /// Times librdkafka reset a consumer's position (`auto.offset.reset` after an out-of-range
    /// offset), over the consumers still alive.
    var offsetResets: Int { consumers.withLock { $0.reduce(0) { $0 + ($1.consumer?.offsetResets ?? 0) } } }
}

extension KafkaMessaging: BrokerFaultClient {
    /// Takes a broker of the in-process mock cluster down or up; a real cluster's brokers are
    /// not Weir's to stop.
    public func setBroker(_ id: Int32, up: Bool) throws(ClientError) {
        guard let mockCluster else {
            throw ClientError(.invalidState, "taking broker \(id) \(up ? "up" : "down") needs librdkafka's mock cluster (--bootstrap-servers mock:N); stop a real cluster's brokers with its own tools.")
        }
        mockCluster.setBroker(id, up: up)
    }
}
