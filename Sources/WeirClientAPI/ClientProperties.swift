import WeirLog

/// Where a Kafka property takes effect: the names every backend and the bench route by.
///
/// Each property name is declared here once, with the scope Kafka gives it. The embedded
/// client parses its values (WeirClient's `ProducerConfiguration`, `ConsumerConfiguration`,
/// WeirLog's `LogConfig`, each with its type, default and range); the Kafka backend hands them
/// to librdkafka. The bench splits a workload's `config` with `route(_:)`, so every key a
/// client accepts is accepted by the bench, and a topic key reaches the topics it creates.
public enum ClientProperties {
    /// Where a property goes.
    public enum Scope: String, Sendable, CaseIterable {
        /// Every producer (`batch.size`, `linger.ms`, `acks`, …).
        case producer
        /// Every consumer (`fetch.min.bytes`, `max.poll.records`, …).
        case consumer
        /// Producers and consumers alike (`client.id`, `sasl.username`, `allow.auto.create.topics`).
        case client
        /// The topics a run creates (`segment.bytes`, `retention.ms`, `cleanup.policy`, …).
        case topic
    }

    /// The embedded producer's properties (WeirClient's `ProducerConfiguration`).
    public static let producerKeys: [String] = [
        "acks", "batch.size", "linger.ms", "compression.type", "compression.gzip.level", "compression.lz4.level",
        "compression.zstd.level", "buffer.memory", "max.block.ms", "max.request.size",
        "max.in.flight.requests.per.connection", "delivery.timeout.ms", "request.timeout.ms", "retries",
        "retry.backoff.ms", "retry.backoff.max.ms", "enable.idempotence", "transactional.id",
        "transaction.timeout.ms", "partitioner.class", "partitioner.ignore.keys",
    ]

    /// The KafkaJS spellings the embedded producer also takes (`idempotent` for
    /// `enable.idempotence`, …): producer properties too.
    public static let producerAliases: [String] = [
        "idempotent", "maxInFlightRequests", "transactionTimeout", "allowAutoTopicCreation", "compression",
        "transactionalId", "clientId",
    ]

    /// The embedded consumer's properties (WeirClient's `ConsumerConfiguration`).
    public static let consumerKeys: [String] = [
        "group.id", "group.instance.id", "fetch.min.bytes", "fetch.max.wait.ms",
        "max.partition.fetch.bytes", "fetch.max.bytes", "max.poll.records", "auto.offset.reset",
        "isolation.level", "enable.auto.commit", "auto.commit.interval.ms", "session.timeout.ms",
        "heartbeat.interval.ms", "max.poll.interval.ms", "partition.assignment.strategy", "check.crcs",
        "metadata.max.age.ms",
    ]

    /// Properties both the producer and the consumer take.
    public static let clientKeys: [String] = [
        "client.id", "allow.auto.create.topics", "sasl.username", "sasl.password", "sasl.mechanism",
    ]

    /// Kafka's topic-level properties: the embedded log's (`LogConfig.knownKeys`) and those only a
    /// cluster has (replication and leader election), plus `replication.factor` of topic creation.
    public static let topicKeys: [String] = LogConfig.knownKeys + [
        "file.delete.delay.ms", "max.compaction.lag.ms", "message.timestamp.type", "min.cleanable.dirty.ratio",
        "min.insync.replicas", "preallocate", "segment.jitter.ms", "unclean.leader.election.enable",
        "message.downconversion.enable", "replication.factor",
    ].filter { !LogConfig.knownKeys.contains($0) }

    /// The prefix that sends a key both the producer and the topic know (`compression.type`) to
    /// the topic: `topic.compression.type=zstd`.
    public static let topicPrefix = "topic."

    /// The scope of `key`; nil for a key no embedded client knows (a librdkafka-only property).
    /// A key that is both a producer and a topic property is the producer's; with
    /// `topicPrefix` it is the topic's.
    public static func scope(of key: String) -> Scope? {
        if key.hasPrefix(topicPrefix), topicKeys.contains(String(key.dropFirst(topicPrefix.count))) { return .topic }
        if producerKeys.contains(key) || producerAliases.contains(key) { return .producer }
        if consumerKeys.contains(key) { return .consumer }
        if clientKeys.contains(key) { return .client }
        if topicKeys.contains(key) { return .topic }
        return nil
    }

    /// A workload's `config` split by scope. Keys of no known scope (librdkafka's own) go to
    /// producers and consumers alike, where a backend that does not know them says so.
    public struct Routed: Sendable, Equatable {
        public var producer: [String: String] = [:]
        public var consumer: [String: String] = [:]
        public var topic: [String: String] = [:]
        public init() {}
    }

    /// Splits `properties` by scope (`topic.`-prefixed keys lose the prefix).
    public static func route(_ properties: [String: String]) -> Routed {
        var out = Routed()
        for (key, value) in properties {
            switch scope(of: key) {
            case .producer: out.producer[key] = value
            case .consumer: out.consumer[key] = value
            case .topic: out.topic[key.hasPrefix(topicPrefix) ? String(key.dropFirst(topicPrefix.count)) : key] = value
            case .client, nil:
                out.producer[key] = value
                out.consumer[key] = value
            }
        }
        return out
    }
}
