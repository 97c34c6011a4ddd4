public import WeirLog

// The client operations that the pattern components (WeirPatterns) and the pattern benchmarks
// need, as protocols. The embedded log implements them here (`EmbeddedMessaging`); WeirKafka
// implements them over librdkafka. A pattern written against these protocols runs unchanged on
// either backend.
//
// Errors are `ClientError` on both sides: an implementation maps its own errors to the closest
// code and keeps `isRetriable`.

/// A producer as the patterns use it: one record at a time, acknowledged.
public protocol MessageProducer: Sendable {
    /// Sends one record and waits for its acknowledgement (Kafka's `send(...).get()`).
    func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata
    /// Sends everything buffered and waits for it (Kafka's `flush()`).
    func flush() async throws(ClientError)
    /// Flushes and releases the producer.
    func close() async
}

/// Partition assignment callbacks of a `MessageConsumer` (Kafka's `ConsumerRebalanceListener`,
/// without the consumer argument so that both backends can call it).
public protocol MessageRebalanceListener: Sendable {
    /// Before partitions are taken away in an orderly rebalance: commit or flush their state.
    func partitionsRevoked(_ partitions: [TopicPartition]) async
    /// After partitions are given to this member: load their state.
    func partitionsAssigned(_ partitions: [TopicPartition]) async
    /// The partitions already belong to another member (session timeout): drop their state
    /// without committing. Defaults to `partitionsRevoked`.
    func partitionsLost(_ partitions: [TopicPartition]) async
}

extension MessageRebalanceListener {
    public func partitionsLost(_ partitions: [TopicPartition]) async { await partitionsRevoked(partitions) }
}

/// A consumer as the patterns use it: Kafka's poll loop with explicit commits.
///
/// `poll` returns owned records. Offsets are committed explicitly with `commit` (the next offset
/// to read, last processed + 1, as Kafka does); a pattern that wants at-least-once commits after
/// processing.
public protocol MessageConsumer: Sendable {
    /// Joins the consumer's group (`group.id`) subscribed to `topics`.
    func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError)
    /// Reads the given partitions without a group.
    func assign(_ partitions: [TopicPartition]) async throws(ClientError)
    /// Waits up to `timeout` for records; an empty array after the timeout.
    func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord]
    /// Commits, per partition, the next offset to read (Kafka's `commitSync(Map)`).
    func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError)
    /// The group's committed offset of `partition` (the next offset to read), nil when none.
    func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64?
    /// Moves the position of an assigned partition.
    func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError)
    /// Stops fetching from the partitions (their position is kept) until `resume`.
    func pause(_ partitions: [TopicPartition]) async throws(ClientError)
    func resume(_ partitions: [TopicPartition]) async throws(ClientError)
    /// The partitions currently assigned.
    func assignment() async -> [TopicPartition]
    /// Leaves the group and releases the consumer (without committing; commit first).
    func close() async
}

/// Makes producers and consumers and topics on one backend: the embedded log
/// (`EmbeddedMessaging`) or a Kafka cluster (WeirKafka's).
public protocol MessagingClient: Sendable {
    /// `embedded` or `kafka`.
    var backendName: String { get }
    /// A producer with Kafka producer properties (`acks`, `enable.idempotence`, `linger.ms`, …).
    func makeProducer(properties: [String: String]) async throws(ClientError) -> any MessageProducer
    /// A consumer with Kafka consumer properties (`group.id`, `auto.offset.reset`, …).
    /// `enable.auto.commit` defaults to false here: patterns commit after processing.
    func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer
    /// Creates a topic, or does nothing when it exists with at least `partitions` partitions.
    func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError)
    /// The high-water mark (next offset to be written) of each partition.
    func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64]
    /// The number of partitions of `topic`.
    func partitionCount(_ topic: String) async throws(ClientError) -> Int
}

// MARK: - The embedded log

/// The embedded log as a `MessagingClient`: producers, consumers and topics on one
/// `LogDirectory`, all acting as one principal (`User:<sasl.username>`, checked against the
/// directory's ACLs), as a Kafka client's connections all authenticate as its `sasl.username`.
public struct EmbeddedMessaging: MessagingClient {
    public let logDirectory: LogDirectory
    /// `sasl.username`: the principal of `ensureTopic` and the default of every producer and
    /// consumer made here (their own `sasl.username` property wins); nil is `User:ANONYMOUS`.
    public let saslUsername: String?
    public var backendName: String { "embedded" }

    public init(logDirectory: LogDirectory, saslUsername: String? = nil) {
        self.logDirectory = logDirectory
        self.saslUsername = saslUsername
    }

    /// Who this client acts as.
    public var principal: KafkaPrincipal { KafkaPrincipal(saslUsername: saslUsername) }

    func _withPrincipal(_ properties: [String: String]) -> [String: String] {
        var props = properties
        if let saslUsername, props["sasl.username"] == nil { props["sasl.username"] = saslUsername }
        return props
    }

    public func makeProducer(properties: [String: String]) async throws(ClientError) -> any MessageProducer {
        let config = try ProducerConfiguration(properties: _withPrincipal(properties))
        return try Producer(configuration: config, logDirectory: logDirectory)
    }

    public func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
        var props = _withPrincipal(properties)
        if props["enable.auto.commit"] == nil { props["enable.auto.commit"] = "false" }
        return EmbeddedMessageConsumer(try Consumer(properties: props, logDirectory: logDirectory))
    }

    /// `segment.bytes` of the topics `ensureTopic` creates when the caller gives none: 64 MiB.
    /// The embedded log preallocates every active segment to `segment.bytes` on disk, so the
    /// topics patterns create for themselves (retry tiers, DLQs, saga events, snapshots) would
    /// otherwise hold 1 GiB (Kafka's default) per partition each.
    public static let patternTopicSegmentBytes = 64 << 20

    public func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        if let have = try? logDirectory.partitionCount(name), have >= partitions { return }
        var configs = configs
        if configs["segment.bytes"] == nil { configs["segment.bytes"] = String(Self.patternTopicSegmentBytes) }
        do {
            try Admin(logDirectory: logDirectory, principal: principal).createTopic(name, partitions: partitions, configs: configs)
        } catch where error.code == .topicAlreadyExists {
            return
        }
    }

    public func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions {
            do { out[tp] = try logDirectory.partition(tp).highWatermark } catch { throw ClientError(error) }
        }
        return out
    }

    public func partitionCount(_ topic: String) async throws(ClientError) -> Int {
        do { return try logDirectory.partitionCount(topic) } catch { throw ClientError(error) }
    }
}

extension Producer: MessageProducer {}

/// A `Consumer` behind the `MessageConsumer` protocol.
public struct EmbeddedMessageConsumer: MessageConsumer {
    /// The embedded consumer, for what the protocol does not cover.
    public let consumer: Consumer

    public init(_ consumer: Consumer) { self.consumer = consumer }

    struct _Listener: ConsumerRebalanceListener {
        let base: any MessageRebalanceListener
        func onPartitionsRevoked(_ partitions: [TopicPartition], consumer: Consumer) async { await base.partitionsRevoked(partitions) }
        func onPartitionsAssigned(_ partitions: [TopicPartition], consumer: Consumer) async { await base.partitionsAssigned(partitions) }
        func onPartitionsLost(_ partitions: [TopicPartition], consumer: Consumer) async { await base.partitionsLost(partitions) }
    }

    public func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
        try consumer.subscribe(topics: topics, listener: listener.map { _Listener(base: $0) })
    }

    public func assign(_ partitions: [TopicPartition]) async throws(ClientError) {
        try consumer.assign(partitions)
    }

    public func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        try await consumer.poll(timeout: timeout)
    }

    public func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) {
        try consumer.commit(offsets)
    }

    public func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? {
        consumer.committed(partition)?.offset
    }

    public func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) {
        try consumer.seek(partition, to: offset)
    }

    public func pause(_ partitions: [TopicPartition]) async throws(ClientError) {
        try consumer.pause(partitions)
    }

    public func resume(_ partitions: [TopicPartition]) async throws(ClientError) {
        try consumer.resume(partitions)
    }

    public func assignment() async -> [TopicPartition] { consumer.assignment() }

    public func close() async { await consumer.close() }
}
