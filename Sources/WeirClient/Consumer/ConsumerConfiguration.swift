/// The consumer's configuration, with Kafka's property names and defaults (those of the Java
/// client 4.x, where they apply to the embedded log).
///
/// Set the properties in Swift, or parse Kafka-style properties (`--config fetch.min.bytes=1024`):
///
/// ```swift
/// var config = ConsumerConfiguration(groupId: "orders")
/// config.maxPollRecords = 1000
/// let parsed = try ConsumerConfiguration(properties: ["group.id": "orders", "auto.offset.reset": "earliest"])
/// ```
///
/// Unknown keys and out-of-range values are `ClientError.invalidConfig` errors naming the key
/// and the allowed range.
public struct ConsumerConfiguration: Sendable, Equatable {
    /// `auto.offset.reset`: where to start when there is no committed offset, or the position is
    /// out of range.
    public enum AutoOffsetReset: String, Sendable, Hashable, CaseIterable {
        /// The log-start offset.
        case earliest
        /// The high-water mark (only records appended from now on).
        case latest
        /// Fail with `ClientError.noOffset`.
        case none
    }

    /// `partition.assignment.strategy`.
    public enum AssignmentStrategy: String, Sendable, Hashable, CaseIterable {
        /// `RangeAssignor`: per topic, consecutive ranges of partitions to members in id order.
        case range
        /// `RoundRobinAssignor`: all partitions, dealt to members in turn.
        case roundRobin = "roundrobin"
        /// `CooperativeStickyAssignor`: balanced and sticky, incremental rebalancing (only the
        /// partitions that move are revoked).
        case cooperativeSticky = "cooperative-sticky"
    }

    /// `group.id` (default none): the consumer group; nil for a consumer that only uses `assign`.
    public var groupId: String?
    /// `group.instance.id` (default none): a static member id. A static member that restarts
    /// within `session.timeout.ms` gets its assignment back without a rebalance.
    public var groupInstanceId: String?
    /// `client.id` (default ""): a name shown in the group description.
    public var clientId: String = ""
    /// `fetch.min.bytes` (default 1, 0...2147483647): a fetch waits (up to `fetch.max.wait.ms`)
    /// until at least this many bytes are available.
    public var fetchMinBytes: Int = 1
    /// `fetch.max.wait.ms` (default 500, 0...2147483647): the longest a fetch waits for
    /// `fetch.min.bytes`.
    public var fetchMaxWaitMs: Int64 = 500
    /// `max.partition.fetch.bytes` (default 1048576, 0...2147483647): bytes per partition per
    /// fetch (at least one batch is returned even when it is larger).
    public var maxPartitionFetchBytes: Int = 1_048_576
    /// `fetch.max.bytes` (default 52428800, 0...2147483647): bytes per fetch over all partitions.
    public var fetchMaxBytes: Int = 52_428_800
    /// `max.poll.records` (default 500, 1...2147483647): records returned by one poll (and
    /// handed to one `eachBatch` call).
    public var maxPollRecords: Int = 500
    /// `auto.offset.reset` (default `latest`).
    public var autoOffsetReset: AutoOffsetReset = .latest
    /// `isolation.level` (default `read_uncommitted`).
    public var isolationLevel: IsolationLevel = .readUncommitted
    /// `enable.auto.commit` (default true; needs `group.id`): commit the positions of consumed
    /// records every `auto.commit.interval.ms`, on rebalance and on close.
    public var enableAutoCommit: Bool = true
    /// `auto.commit.interval.ms` (default 5000, 0...2147483647).
    public var autoCommitIntervalMs: Int64 = 5000
    /// `session.timeout.ms` (default 45000, 1...2147483647): a member without a heartbeat for this
    /// long is removed from the group and its partitions are reassigned.
    public var sessionTimeoutMs: Int64 = 45_000
    /// `heartbeat.interval.ms` (default 3000, 1...2147483647; below `session.timeout.ms`).
    public var heartbeatIntervalMs: Int64 = 3000
    /// `max.poll.interval.ms` (default 300000, 1...2147483647): the longest time between polls
    /// before the member leaves the group; also the rebalance timeout.
    public var maxPollIntervalMs: Int64 = 300_000
    /// `partition.assignment.strategy` (default `range, cooperative-sticky`; the first one every
    /// member supports is used).
    public var partitionAssignmentStrategy: [AssignmentStrategy] = [.range, .cooperativeSticky]
    /// `check.crcs` (default true): verify each batch's CRC-32C before handing out its records.
    public var checkCRCs: Bool = true
    /// `allow.auto.create.topics` (default true in Kafka; here false: a subscription to a missing
    /// topic matches nothing until it exists).
    public var allowAutoCreateTopics: Bool = false
    /// `metadata.max.age.ms` (default 300000, 0...2147483647): how often a pattern subscription
    /// looks for new topics.
    public var metadataMaxAgeMs: Int64 = 300_000
    /// `sasl.username` (default none): the embedded log's ACLs see the consumer as principal
    /// `User:<sasl.username>` (`User:ANONYMOUS` without it).
    public var saslUsername: String? = nil
    /// `sasl.password` (default none): accepted for Kafka compatibility; not checked by the
    /// embedded log.
    public var saslPassword: String? = nil
    /// `sasl.mechanism` (default `GSSAPI`): accepted for Kafka compatibility.
    public var saslMechanism: String = "GSSAPI"

    public init(groupId: String? = nil) {
        self.groupId = groupId
    }

    /// Parses Kafka-style properties on top of the defaults, then validates.
    public init(properties: [String: String]) throws(ClientError) {
        self.init()
        try apply(properties)
    }

    /// Every property name this struct understands.
    public static let knownKeys: [String] = [
        "group.id", "group.instance.id", "client.id", "fetch.min.bytes", "fetch.max.wait.ms",
        "max.partition.fetch.bytes", "fetch.max.bytes", "max.poll.records", "auto.offset.reset",
        "isolation.level", "enable.auto.commit", "auto.commit.interval.ms", "session.timeout.ms",
        "heartbeat.interval.ms", "max.poll.interval.ms", "partition.assignment.strategy", "check.crcs",
        "allow.auto.create.topics", "metadata.max.age.ms", "sasl.username", "sasl.password", "sasl.mechanism",
    ]

    /// Applies Kafka-style properties on top of this configuration, then validates.
    public mutating func apply(_ properties: [String: String]) throws(ClientError) {
        for key in properties.keys.sorted() {
            let v = properties[key]!._consumerTrimmed
            switch key {
            case "group.id": groupId = v.isEmpty ? nil : v
            case "group.instance.id": groupInstanceId = v.isEmpty ? nil : v
            case "client.id": clientId = v
            case "fetch.min.bytes": fetchMinBytes = try Self._int(key, v)
            case "fetch.max.wait.ms": fetchMaxWaitMs = try Self._int(key, v)
            case "max.partition.fetch.bytes": maxPartitionFetchBytes = try Self._int(key, v)
            case "fetch.max.bytes": fetchMaxBytes = try Self._int(key, v)
            case "max.poll.records": maxPollRecords = try Self._int(key, v)
            case "auto.offset.reset":
                guard let r = AutoOffsetReset(rawValue: v.lowercased()) else {
                    throw .config(key, "auto.offset.reset=\(v) is not valid; allowed values earliest, latest, none.")
                }
                autoOffsetReset = r
            case "isolation.level":
                guard let i = IsolationLevel(rawValue: v.lowercased()) else {
                    throw .config(key, "isolation.level=\(v) is not valid; allowed values read_uncommitted, read_committed.")
                }
                isolationLevel = i
            case "enable.auto.commit": enableAutoCommit = try Self._bool(key, v)
            case "auto.commit.interval.ms": autoCommitIntervalMs = try Self._int(key, v)
            case "session.timeout.ms": sessionTimeoutMs = try Self._int(key, v)
            case "heartbeat.interval.ms": heartbeatIntervalMs = try Self._int(key, v)
            case "max.poll.interval.ms": maxPollIntervalMs = try Self._int(key, v)
            case "partition.assignment.strategy":
                var list: [AssignmentStrategy] = []
                for part in v.split(separator: ",") {
                    let name = String(part)._consumerTrimmed.lowercased()
                    let short = name.split(separator: ".").last.map(String.init) ?? name
                    switch short {
                    case "range", "rangeassignor": list.append(.range)
                    case "roundrobin", "roundrobinassignor": list.append(.roundRobin)
                    case "cooperative-sticky", "cooperativestickyassignor": list.append(.cooperativeSticky)
                    default:
                        throw .config(key, "partition.assignment.strategy contains '\(part)'; allowed values range, roundrobin, cooperative-sticky.")
                    }
                }
                partitionAssignmentStrategy = list
            case "check.crcs": checkCRCs = try Self._bool(key, v)
            case "allow.auto.create.topics": allowAutoCreateTopics = try Self._bool(key, v)
            case "metadata.max.age.ms": metadataMaxAgeMs = try Self._int(key, v)
            case "sasl.username": saslUsername = v.isEmpty ? nil : v
            case "sasl.password": saslPassword = v.isEmpty ? nil : v
            case "sasl.mechanism":
                saslMechanism = try ProducerConfiguration._validSASLMechanism(v)
            default:
                throw .config(key, "unknown consumer config '\(key)'. Known keys: \(Self.knownKeys.joined(separator: ", ")).")
            }
        }
        try validate()
    }

    /// Checks every value against its allowed range and the combinations Kafka rejects.
    public func validate() throws(ClientError) {
        let i32 = Int64(Int32.max)
        try Self._check("fetch.min.bytes", Int64(fetchMinBytes), 0...i32)
        try Self._check("fetch.max.wait.ms", fetchMaxWaitMs, 0...i32)
        try Self._check("max.partition.fetch.bytes", Int64(maxPartitionFetchBytes), 0...i32)
        try Self._check("fetch.max.bytes", Int64(fetchMaxBytes), 0...i32)
        try Self._check("max.poll.records", Int64(maxPollRecords), 1...i32)
        try Self._check("auto.commit.interval.ms", autoCommitIntervalMs, 0...i32)
        try Self._check("session.timeout.ms", sessionTimeoutMs, 1...i32)
        try Self._check("heartbeat.interval.ms", heartbeatIntervalMs, 1...i32)
        try Self._check("max.poll.interval.ms", maxPollIntervalMs, 1...i32)
        try Self._check("metadata.max.age.ms", metadataMaxAgeMs, 0...i32)
        if heartbeatIntervalMs >= sessionTimeoutMs {
            throw .config("heartbeat.interval.ms", "heartbeat.interval.ms=\(heartbeatIntervalMs) must be lower than session.timeout.ms=\(sessionTimeoutMs); Kafka recommends at most a third of it.")
        }
        if partitionAssignmentStrategy.isEmpty {
            throw .config("partition.assignment.strategy", "partition.assignment.strategy is empty; allowed values range, roundrobin, cooperative-sticky.")
        }
        if groupInstanceId != nil && groupId == nil {
            throw .config("group.instance.id", "group.instance.id needs group.id; set group.id or remove group.instance.id.")
        }
    }

    /// All properties with their current values, by Kafka name.
    public var properties: [String: String] {
        [
            "group.id": groupId ?? "", "group.instance.id": groupInstanceId ?? "", "client.id": clientId,
            "fetch.min.bytes": String(fetchMinBytes), "fetch.max.wait.ms": String(fetchMaxWaitMs),
            "max.partition.fetch.bytes": String(maxPartitionFetchBytes), "fetch.max.bytes": String(fetchMaxBytes),
            "max.poll.records": String(maxPollRecords), "auto.offset.reset": autoOffsetReset.rawValue,
            "isolation.level": isolationLevel.rawValue, "enable.auto.commit": String(enableAutoCommit),
            "auto.commit.interval.ms": String(autoCommitIntervalMs), "session.timeout.ms": String(sessionTimeoutMs),
            "heartbeat.interval.ms": String(heartbeatIntervalMs), "max.poll.interval.ms": String(maxPollIntervalMs),
            "partition.assignment.strategy": partitionAssignmentStrategy.map(\.rawValue).joined(separator: ","),
            "check.crcs": String(checkCRCs), "allow.auto.create.topics": String(allowAutoCreateTopics),
            "metadata.max.age.ms": String(metadataMaxAgeMs),
            "sasl.username": saslUsername ?? "", "sasl.password": saslPassword == nil ? "" : "[hidden]",
            "sasl.mechanism": saslMechanism,
        ]
    }

    static func _int<T: FixedWidthInteger>(_ key: String, _ v: String) throws(ClientError) -> T {
        guard let n = T(v) else { throw .config(key, "\(key)=\(v) is not an integer; allowed range 0...2147483647.") }
        return n
    }

    static func _bool(_ key: String, _ v: String) throws(ClientError) -> Bool {
        switch v.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .config(key, "\(key)=\(v) is not a boolean; allowed values true, false.")
        }
    }

    static func _check(_ key: String, _ n: Int64, _ range: ClosedRange<Int64>) throws(ClientError) {
        if !range.contains(n) {
            throw .config(key, "\(key)=\(n) is out of range; allowed range \(range.lowerBound)...\(range.upperBound).")
        }
    }
}

extension String {
    var _consumerTrimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s.removeLast() }
        return String(s)
    }
}
