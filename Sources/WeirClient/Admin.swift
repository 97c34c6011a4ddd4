public import WeirLog

/// A topic to create: Kafka's `NewTopic`.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    /// `partitions` (1...100000).
    public var partitions: Int
    /// `replication.factor`: only 1 exists on the embedded single node.
    public var replicationFactor: Int
    /// Topic configs by Kafka name (`segment.bytes`, `retention.ms`, `cleanup.policy`, ...).
    public var configs: [String: String]

    public init(name: String, partitions: Int = 1, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// The embedded node, as a cluster of one.
public struct Node: Sendable, Hashable {
    public var id: Int32
    public var host: String
    public var port: Int32
}

/// Kafka's `DescribeClusterResult`, for the embedded log.
public struct ClusterDescription: Sendable, Hashable {
    public var clusterId: String
    public var controller: Node
    public var nodes: [Node]
    /// The log directory the node serves.
    public var logDirectory: String
    public var topicCount: Int
    public var partitionCount: Int
}

/// One partition's offsets: Kafka's `ListOffsets` (earliest, latest) plus the last stable offset.
public struct PartitionOffsets: Sendable, Hashable {
    public var topicPartition: TopicPartition
    /// The log-start offset (`earliest`).
    public var logStartOffset: Int64
    /// The high-water mark (`latest`).
    public var highWatermark: Int64
    /// The last stable offset (`read_committed` readers stop here).
    public var lastStableOffset: Int64
}

/// One partition of a topic description.
public struct PartitionDescription: Sendable, Hashable {
    public var partition: Int32
    public var leader: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var offsets: PartitionOffsets
    public var sizeInBytes: Int64
    public var segmentCount: Int
}

/// Kafka's `TopicDescription` with its configs.
public struct TopicDescription: Sendable, Hashable {
    public var name: String
    public var isInternal: Bool
    public var partitions: [PartitionDescription]
    /// Every topic config with its value (defaults included).
    public var configs: [String: String]
    /// The configs set explicitly on the topic (differing from the defaults).
    public var overrides: [String: String]
}

/// Topic and cluster administration on the embedded log: Kafka's `Admin` client.
public struct Admin: Sendable {
    public let logDirectory: LogDirectory
    /// Who calls (checked against the directory's ACLs): `User:<sasl.username>`, or
    /// `User:ANONYMOUS` by default.
    public var principal: KafkaPrincipal
    /// When set, `createTopic` rejects names that break the policy (e.g.
    /// `TopicNamingPolicy.domainEntityEvent`).
    public var topicNamingPolicy: TopicNamingPolicy?

    public init(logDirectory: LogDirectory, principal: KafkaPrincipal = .anonymous, topicNamingPolicy: TopicNamingPolicy? = nil) {
        self.logDirectory = logDirectory
        self.principal = principal
        self.topicNamingPolicy = topicNamingPolicy
    }

    /// Topic configs Kafka accepts that mean nothing else on a single node; accepted when their
    /// value is what one node can honour.
    static let singleNodeConfigs: [String: ClosedRange<Int>] = ["min.insync.replicas": 1...1]

    /// Checks a topic before creating it: the name (Kafka's rules), the partition count, the
    /// replication factor, every config key and value. The topic's configs override `defaults`
    /// (the log directory's `defaultConfig`, Kafka's broker-level `log.*` settings).
    public static func validate(_ topic: NewTopic, defaults: LogConfig = LogConfig()) throws(ClientError) -> LogConfig {
        do { try LogDirectory.validateTopicName(topic.name) } catch { throw ClientError(error) }
        var configs = topic.configs
        var partitions = topic.partitions
        if let p = configs.removeValue(forKey: "partitions") {
            guard let n = Int(p) else {
                throw ClientError(.invalidConfig, "partitions=\(p) is not an integer; allowed range 1...100000.", key: "partitions")
            }
            partitions = n
        }
        guard (1...100_000).contains(partitions) else {
            throw ClientError(.invalidTopic, "topic '\(topic.name)': partitions=\(partitions) is out of range; allowed range 1...100000.", key: "partitions")
        }
        if let rf = configs.removeValue(forKey: "replication.factor").map({ Int($0) ?? -1 }) ?? Optional(topic.replicationFactor), rf != 1 {
            throw ClientError(.invalidConfig, "replication.factor=\(rf) is out of range: the embedded log is a single node; allowed range 1...1.", key: "replication.factor")
        }
        for (key, range) in singleNodeConfigs {
            guard let v = configs.removeValue(forKey: key) else { continue }
            guard let n = Int(v), range.contains(n) else {
                throw ClientError(.invalidConfig, "\(key)=\(v) is out of range: the embedded log is a single node; allowed range \(range.lowerBound)...\(range.upperBound).", key: key)
            }
        }
        do {
            var config = defaults
            try config.apply(configs)
            return config
        } catch {
            let key = configs.keys.sorted().first { error.message.contains("'\($0)'") || error.message.hasPrefix("\($0)=") || error.message.hasPrefix("\($0) ") }
            throw ClientError(.invalidConfig, error.message, key: key, logError: error)
        }
    }

    /// Creates a topic (Kafka's `createTopics`).
    public func createTopic(_ topic: NewTopic) throws(ClientError) {
        try topicNamingPolicy?.validate(topic.name)
        try _authorize(.create, topic: topic.name)
        let config = try Admin.validate(topic, defaults: logDirectory.options.defaultConfig)
        let partitions = topic.configs["partitions"].flatMap { Int($0) } ?? topic.partitions
        do { try logDirectory.createTopic(topic.name, partitions: partitions, config: config) } catch { throw ClientError(error) }
    }

    /// Creates a topic with `partitions` partitions and `configs`.
    public func createTopic(_ name: String, partitions: Int, configs: [String: String] = [:]) throws(ClientError) {
        try createTopic(NewTopic(name: name, partitions: partitions, configs: configs))
    }

    /// Deletes a topic and its data.
    public func deleteTopic(_ name: String) throws(ClientError) {
        try _authorize(.delete, topic: name)
        do { try logDirectory.deleteTopic(name) } catch { throw ClientError(error) }
    }

    /// The topic names, sorted; internal topics (`__…`) only when asked.
    public func listTopics(includeInternal: Bool = false) -> [String] {
        logDirectory.topicNames.filter { (includeInternal || !InternalTopics.isInternal($0)) && (try? _authorize(.describe, topic: $0)) != nil }
    }

    /// A topic's partitions (leader, replicas, offsets, size) and configs.
    public func describeTopic(_ name: String) throws(ClientError) -> TopicDescription {
        try _authorize(.describe, topic: name)
        do {
            let config = try logDirectory.topicConfig(name)
            let count = try logDirectory.partitionCount(name)
            var parts: [PartitionDescription] = []
            for p in 0..<Int32(count) {
                let log = try logDirectory.partition(name, p)
                parts.append(PartitionDescription(partition: p, leader: 0, replicas: [0], isr: [0], offsets: Admin.offsets(log),
                                                  sizeInBytes: log.sizeInBytes, segmentCount: log.segments.count))
            }
            var configs = config.properties
            configs["min.insync.replicas"] = "1"
            return TopicDescription(name: name, isInternal: InternalTopics.isInternal(name), partitions: parts,
                                    configs: configs, overrides: config.overrides)
        } catch {
            throw ClientError(error)
        }
    }

    /// Changes a topic's configs (Kafka's `incrementalAlterConfigs` with SET operations).
    public func alterTopicConfigs(_ name: String, set configs: [String: String]) throws(ClientError) {
        try _authorize(.alter, topic: name)
        do {
            var config = try logDirectory.topicConfig(name)
            do { try config.apply(configs) } catch {
                throw ClientError(.invalidConfig, error.message, logError: error)
            }
            try logDirectory.alterTopicConfig(name, config)
        } catch let e as ClientError {
            throw e
        } catch let e as LogError {
            throw ClientError(e)
        } catch {
            throw ClientError(.log, "\(error)")
        }
    }

    /// The embedded node as a cluster of one (Kafka's `describeCluster`).
    public func describeCluster() -> ClusterDescription {
        let node = Node(id: 0, host: "embedded", port: -1)
        let names = logDirectory.topicNames
        return ClusterDescription(clusterId: "weir-embedded:\(logDirectory.path)", controller: node, nodes: [node],
                                  logDirectory: logDirectory.path, topicCount: names.count,
                                  partitionCount: logDirectory.allPartitions.count)
    }

    /// Log-start, high-water and last stable offsets of every partition of `topic` (Kafka's
    /// `listOffsets` with `earliest` and `latest`).
    public func listOffsets(_ topic: String) throws(ClientError) -> [PartitionOffsets] {
        try _authorize(.describe, topic: topic)
        do {
            let count = try logDirectory.partitionCount(topic)
            var out: [PartitionOffsets] = []
            for p in 0..<Int32(count) { out.append(Admin.offsets(try logDirectory.partition(topic, p))) }
            return out
        } catch {
            throw ClientError(error)
        }
    }

    static func offsets(_ log: PartitionLog) -> PartitionOffsets {
        PartitionOffsets(topicPartition: log.topicPartition, logStartOffset: log.logStartOffset,
                         highWatermark: log.highWatermark, lastStableOffset: log.lastStableOffset)
    }
}
