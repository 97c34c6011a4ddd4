/// A cluster's metadata as `rd_kafka_metadata` reports it, plus `rd_kafka_clusterid` and
/// `rd_kafka_controllerid`.
///
/// Kafka's protocol reports no broker software version; the client library's version is
/// `KafkaClusterMetadata.librdkafkaVersion`.
public struct KafkaClusterMetadata: Sendable, Codable, Equatable {
    public struct Broker: Sendable, Codable, Equatable {
        public var id: Int32
        public var host: String
        public var port: Int32
        public var address: String { "\(host):\(port)" }
    }

    public struct Partition: Sendable, Codable, Equatable {
        public var id: Int32
        public var leader: Int32
        public var replicas: Int
        public var inSyncReplicas: Int
    }

    public struct Topic: Sendable, Codable, Equatable {
        public var name: String
        /// The topic's error (e.g. `UNKNOWN_TOPIC_OR_PART`), if any.
        public var error: KafkaError?
        public var partitions: [Partition]
    }

    public var brokers: [Broker] = []
    public var topics: [Topic] = []
    /// The broker that answered.
    public var originatingBroker: Int32 = -1
    /// `rd_kafka_clusterid` (Metadata v2+), nil when the cluster does not report one.
    public var clusterID: String?
    /// `rd_kafka_controllerid` (Metadata v1+).
    public var controllerID: Int32?

    public init() {}

    /// The version of the librdkafka library in use (`rd_kafka_version_str`).
    public static var librdkafkaVersion: String { _librdkafkaVersion() }
}

