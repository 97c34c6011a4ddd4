/// The settings of `weir serve`'s broker, with Kafka's property names.
public struct BrokerConfiguration: Sendable {
    /// `node.id` (default 0): the one node of this single-node cluster.
    public var nodeId: Int32 = 0
    /// The host clients are told to connect to (`advertised.listeners`).
    public var advertisedHost: String = "127.0.0.1"
    /// The port clients are told to connect to (`advertised.listeners`); 0 until the server binds.
    public var advertisedPort: Int32 = 9092
    /// The cluster id reported by Metadata and DescribeCluster.
    public var clusterId: String = "weir-serve"
    /// `auto.create.topics.enable` (default true): Metadata and Produce create a missing topic.
    public var autoCreateTopics: Bool = true
    /// `num.partitions` (default 1): partitions of an auto-created topic.
    public var numPartitions: Int = 1
    /// `socket.request.max.bytes` (default 104857600): larger request frames close the connection.
    public var socketRequestMaxBytes: Int = 104_857_600
    /// Whether Fetch sends record batches from the segment files with `sendfile` (plaintext only).
    public var zeroCopyFetch: Bool = true
    /// `group.initial.rebalance.delay.ms` is not modelled; `fetch.max.wait.ms` above this is capped.
    public var maxFetchWaitMs: Int32 = 30_000

    public init() {}

    /// Parses `--config key=value` pairs; unknown keys and bad values are errors naming the key.
    public mutating func apply(_ key: String, _ value: String) throws(BrokerConfigurationError) {
        func int(_ range: ClosedRange<Int>) throws(BrokerConfigurationError) -> Int {
            guard let v = Int(value), range.contains(v) else {
                throw BrokerConfigurationError(key: key, message: "\(key)=\(value) is not an integer in \(range.lowerBound)...\(range.upperBound).")
            }
            return v
        }
        switch key {
        case "node.id", "broker.id": nodeId = Int32(try int(0...Int(Int32.max)))
        case "auto.create.topics.enable":
            guard let b = Bool(value) else { throw BrokerConfigurationError(key: key, message: "\(key)=\(value) must be true or false.") }
            autoCreateTopics = b
        case "num.partitions": numPartitions = try int(1...100_000)
        case "socket.request.max.bytes": socketRequestMaxBytes = try int(1...Int(Int32.max))
        case "cluster.id": clusterId = value
        case "weir.zero.copy.fetch":
            guard let b = Bool(value) else { throw BrokerConfigurationError(key: key, message: "\(key)=\(value) must be true or false.") }
            zeroCopyFetch = b
        default:
            throw BrokerConfigurationError(key: key, message: "unknown broker property \(key); known: node.id, auto.create.topics.enable, num.partitions, socket.request.max.bytes, cluster.id, weir.zero.copy.fetch.")
        }
    }
}

/// A `--config` key of `weir serve` that is unknown or out of range.
public struct BrokerConfigurationError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var message: String
    public var description: String { message }
}
