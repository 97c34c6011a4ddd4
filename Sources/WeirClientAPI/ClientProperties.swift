public import WeirLog

/// Where a Kafka property takes effect: the names every backend and the bench route by, derived
/// from the property tables (`ProducerConfiguration.table`, `ConsumerConfiguration.table`,
/// `LogConfig.table`) and the topic properties only a cluster has.
///
/// The embedded client parses the values with those tables; the Kafka backend hands them to
/// librdkafka. The bench splits a workload's `config` with `route(_:)`, so every key a client
/// accepts is accepted by the bench, and a topic key reaches the topics it creates.
public enum ClientProperties {
    /// Where a property goes.
    public typealias Scope = PropertyScope

    /// Kafka's topic properties that only a cluster has (replication, leader election, and
    /// cleaner tuning the embedded log does not do), plus `replication.factor` of topic creation:
    /// routed to topics, taken by the Kafka backend, refused by the embedded log (except
    /// `min.insync.replicas=1`).
    public static let clusterTopicProperties: [PropertyRow] = [
        .init(name: "file.delete.delay.ms", scope: .topic, type: "long", defaultValue: "60000", allowed: "0...", doc: "delay before a deleted segment's files go"),
        .init(name: "max.compaction.lag.ms", scope: .topic, type: "long", defaultValue: "9223372036854775807", allowed: "1...", doc: "longest a record stays uncompacted"),
        .init(name: "message.timestamp.type", scope: .topic, type: "enum", defaultValue: "CreateTime", allowed: "CreateTime, LogAppendTime", doc: "which timestamp the broker keeps"),
        .init(name: "min.cleanable.dirty.ratio", scope: .topic, type: "double", defaultValue: "0.5", allowed: "0...1", doc: "dirty share that triggers compaction"),
        .init(name: "min.insync.replicas", scope: .topic, type: "int", defaultValue: "1", allowed: "1...", doc: "replicas that must ack acks=all"),
        .init(name: "segment.jitter.ms", scope: .topic, type: "long", defaultValue: "0", allowed: "0...", doc: "random jitter of segment.ms"),
        .init(name: "unclean.leader.election.enable", scope: .topic, type: "boolean", defaultValue: "false", allowed: "true, false", doc: "let an out-of-sync replica lead"),
        .init(name: "message.downconversion.enable", scope: .topic, type: "boolean", defaultValue: "true", allowed: "true, false", doc: "down-convert for old consumers"),
        .init(name: "replication.factor", scope: .topic, type: "int", defaultValue: "1", allowed: "1...", doc: "copies of each partition (topic creation)"),
    ]

    /// Every property, once: the producer's, the consumer's own, the shared client ones, the
    /// embedded log's topic properties and the cluster-only ones. `weir bench list --fields`
    /// prints these rows.
    public static let rows: [PropertyRow] =
        ProducerConfiguration.table.rows + ConsumerConfiguration.table.rows.filter { $0.scope == .consumer }
        + LogConfig.table.rows + clusterTopicProperties

    static func names(_ scope: Scope) -> [String] { rows.filter { $0.scope == scope }.map(\.name) }

    /// The embedded producer's own properties.
    public static let producerKeys: [String] = names(.producer)
    /// The KafkaJS spellings the embedded clients also take (`idempotent` for
    /// `enable.idempotence`, …), by their Kafka name.
    public static let aliases: [String: String] = ProducerConfiguration.table.aliases.merging(ConsumerConfiguration.table.aliases) { a, _ in a }
    /// The embedded consumer's own properties.
    public static let consumerKeys: [String] = names(.consumer)
    /// Properties both the producer and the consumer take.
    public static let clientKeys: [String] = names(.client)
    /// Kafka's topic-level properties: the embedded log's and those only a cluster has.
    public static let topicKeys: [String] = names(.topic)
    /// The topic properties the embedded log implements (`LogConfig.table`).
    public static let embeddedTopicKeys: [String] = LogConfig.table.names

    /// The prefix that sends a key both the producer and the topic know (`compression.type`) to
    /// the topic: `topic.compression.type=zstd`.
    public static let topicPrefix = "topic."

    static let scopes: [String: Scope] = {
        var out: [String: Scope] = [:]
        // A key that is both a producer and a topic property is the producer's: producers first.
        for row in rows where out[row.name] == nil { out[row.name] = row.scope }
        for (alias, name) in aliases { out[alias] = out[name] }
        return out
    }()

    /// The scope of `key`; nil for a key no embedded client knows (a librdkafka-only property).
    /// Never `.workload`: a workload field is not a Kafka property.
    /// A key that is both a producer and a topic property is the producer's; with
    /// `topicPrefix` it is the topic's.
    public static func scope(of key: String) -> Scope? {
        if key.hasPrefix(topicPrefix), topicKeys.contains(String(key.dropFirst(topicPrefix.count))) { return .topic }
        return scopes[key]
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
            case .client, .workload, nil:
                out.producer[key] = value
                out.consumer[key] = value
            }
        }
        return out
    }
}
