public import WeirLog

// The client seam: what the pattern components (WeirPatterns) and the load generator
// (WeirBench) need of a client, as protocols. The embedded log implements them in WeirClient
// (`EmbeddedMessaging`); WeirKafka implements them over librdkafka. Code written against these
// protocols runs unchanged on either backend.
//
// Errors are `ClientError` on both sides: an implementation maps its own errors to the closest
// code and keeps `isRetriable`.

/// A producer on any backend.
///
/// Two ways to send, each for its own caller:
/// - `send` is the async call of application code and the patterns: one record, and the
///   caller waits for its acknowledgement (Kafka's `send(...).get()`).
/// - `produceNow` is the thread path of load generators and other code that runs its own
///   threads: it never suspends, takes borrowed bytes, and reports the outcome later to the
///   delivery handler given to `MessagingClient.makeProducer(properties:onDelivery:)` with the
///   caller's `opaque` (librdkafka's `rd_kafka_producev` with `msg_opaque` and `dr_msg_cb`).
public protocol MessageProducer: Sendable {
    /// Sends one record and waits for its acknowledgement (Kafka's `send(...).get()`).
    func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata
    /// Sends one record from the calling thread without a suspension; the bytes are copied
    /// before it returns. The outcome goes to the producer's delivery handler with `opaque`.
    ///
    /// Blocks the calling thread only while the producer's buffer is full (`buffer.memory` /
    /// `queue.buffering.max.messages`, up to `max.block.ms`). Call it from your own threads, not
    /// from an async task.
    func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError)
    /// `produceNow` with the record's `CreateTime` (ms since the epoch; nil for now) and a
    /// `SendStamp` header carrying `stamp`; the value is sent unchanged.
    func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                    timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError)
    /// Sends everything buffered and waits for it (Kafka's `flush()`).
    func flush() async throws(ClientError)
    /// Flushes and releases the producer.
    func close() async
    /// What the producer counted so far (after `close`, everything); nil when the producer
    /// keeps no counters (a pattern's wrapper).
    func producerStatistics() async -> ProducerStatistics?
}

extension MessageProducer {
    /// A producer that adds what `produceNow` cannot carry (headers, a trace context, an
    /// encryption) has no thread path: it says so.
    public func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
        throw ClientError(.invalidState, "\(Self.self) has no thread path (produceNow); send with `send`.")
    }

    public func producerStatistics() async -> ProducerStatistics? { nil }
}

/// Receives the outcome of records sent with `MessageProducer.produceNow`. It may run on any
/// thread, on several at once for different partitions; keep it short.
public typealias DeliveryHandler = @Sendable (DeliveryBatchReport) -> Void

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
    /// The thread path of `poll`: waits on the calling thread up to `timeout` for records and
    /// calls `body` with each, borrowed (zero-copy where the backend can). Returns how many.
    /// Call it from your own threads, not from an async task.
    func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int
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
    /// The consumer's place in its group now (member id, generation, whether a rebalance is
    /// under way), or nil when the backend does not expose it (librdkafka).
    func groupMembership() async -> GroupMembership?
    /// Leaves the group and releases the consumer (without committing; commit first).
    func close() async
}

extension MessageConsumer {
    /// A backend that does not expose its group state says nothing.
    public func groupMembership() async -> GroupMembership? { nil }

    /// A consumer that transforms what it hands over (decryption, tracing) has no thread path:
    /// it says so.
    public func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
        throw ClientError(.invalidState, "\(Self.self) has no thread path (pollBlocking); use `poll`.")
    }
}

/// Makes producers and consumers and topics on one backend: the embedded log
/// (WeirClient's `EmbeddedMessaging`) or a Kafka cluster (WeirKafka's `KafkaMessaging`).
public protocol MessagingClient: Sendable {
    /// `embedded` or `kafka` (or a test's name).
    var backendName: String { get }
    /// A producer with Kafka producer properties (`acks`, `enable.idempotence`, `linger.ms`, …).
    /// `onDelivery` receives the outcome of its `produceNow` calls (nil: nobody listens).
    func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer
    /// A consumer with Kafka consumer properties (`group.id`, `auto.offset.reset`, …).
    /// `enable.auto.commit` defaults to false here: patterns commit after processing.
    func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer
    /// Creates a topic, or does nothing when it exists with at least `partitions` partitions.
    func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError)
    /// The high-water mark (next offset to be written) of each partition.
    func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64]
    /// The number of partitions of `topic`.
    func partitionCount(_ topic: String) async throws(ClientError) -> Int
    /// What a report should record about the backend beyond its name (a cluster's bootstrap
    /// servers, broker count and cluster id). Empty by default.
    func details() async -> [String: String]
    /// Releases what the client opened for itself (a temporary log directory, a mock
    /// cluster). Call it once, after every producer and consumer closed. Does nothing by default.
    func close() async
}

extension MessagingClient {
    /// A producer whose `produceNow` outcomes nobody listens to.
    public func makeProducer(properties: [String: String]) async throws(ClientError) -> any MessageProducer {
        try await makeProducer(properties: properties, onDelivery: nil)
    }

    public func details() async -> [String: String] { [:] }
    public func close() async {}
}

