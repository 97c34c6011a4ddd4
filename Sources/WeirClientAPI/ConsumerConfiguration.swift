public import WeirLog

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
public struct ConsumerConfiguration: Sendable, Equatable, _ClientIdentityProperties {
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

    /// The consumer properties, declared once: name, type, range and doc (the defaults are the
    /// properties' own above). Parsing, `properties`, `ClientProperties` and the CLI's listings
    /// read it.
    public static let table = PropertyTable<ConsumerConfiguration>("consumer", defaults: ConsumerConfiguration(), [
        .optionalString("group.id", .consumer, \.groupId, "the consumer group (none: assign only)"),
        .optionalString("group.instance.id", .consumer, \.groupInstanceId, "a static member id (needs group.id)"),
        .int("fetch.min.bytes", .consumer, \.fetchMinBytes, 0...Int(Int32.max), "a fetch waits for this many bytes"),
        .int("fetch.max.wait.ms", .consumer, \.fetchMaxWaitMs, 0..._int32Max, "longest wait for fetch.min.bytes"),
        .int("max.partition.fetch.bytes", .consumer, \.maxPartitionFetchBytes, 0...Int(Int32.max), "bytes per partition per fetch"),
        .int("fetch.max.bytes", .consumer, \.fetchMaxBytes, 0...Int(Int32.max), "bytes per fetch over all partitions"),
        .int("max.poll.records", .consumer, \.maxPollRecords, 1...Int(Int32.max), "records returned by one poll"),
        .choice("auto.offset.reset", .consumer, \.autoOffsetReset, "where to start without a committed offset", lowercased: true),
        .choice("isolation.level", .consumer, \.isolationLevel, "read_committed skips aborted transactions", lowercased: true),
        .bool("enable.auto.commit", .consumer, \.enableAutoCommit, "commit consumed positions periodically (needs group.id)"),
        .int("auto.commit.interval.ms", .consumer, \.autoCommitIntervalMs, 0..._int32Max, "period of the automatic commit"),
        .int("session.timeout.ms", .consumer, \.sessionTimeoutMs, 1..._int32Max, "a member silent this long leaves the group"),
        .int("heartbeat.interval.ms", .consumer, \.heartbeatIntervalMs, 1..._int32Max, "heartbeat period (below session.timeout.ms)"),
        .int("max.poll.interval.ms", .consumer, \.maxPollIntervalMs, 1..._int32Max, "longest time between polls; the rebalance timeout"),
        .choice("partition.assignment.strategy", .consumer, \.partitionAssignmentStrategy,
                allowed: AssignmentStrategy.allCases.map(\.rawValue), "assignors in order of preference (a comma-separated list)",
                type: "list", parse: { AssignmentStrategy.list($0) }, write: { $0.map(\.rawValue).joined(separator: ",") }),
        .bool("check.crcs", .consumer, \.checkCRCs, "verify each batch's CRC-32C"),
        .int("metadata.max.age.ms", .consumer, \.metadataMaxAgeMs, 0..._int32Max, "how often a pattern subscription looks for new topics"),
    ] + sharedClientSpecs)

    /// Every property name this struct understands.
    public static var knownKeys: [String] { table.names }

    /// Applies Kafka-style properties on top of this configuration, then validates.
    public mutating func apply(_ properties: [String: String]) throws(ClientError) {
        do { try Self.table.apply(properties, to: &self) } catch { throw .config(error.key, error.message) }
        try validate()
    }

    /// Checks every value against its allowed range and the combinations Kafka rejects.
    public func validate() throws(ClientError) {
        do { try Self.table.check(self) } catch { throw .config(error.key, error.message) }
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
    public var properties: [String: String] { Self.table.values(of: self) }

    static let _int32Max = Int64(Int32.max)
}

extension ConsumerConfiguration.AssignmentStrategy {
    /// Parses `partition.assignment.strategy`: short names or the Java class names, comma
    /// separated; nil when one is unknown or the list is empty.
    static func list(_ text: String) -> [Self]? {
        var list: [Self] = []
        for part in text.split(separator: ",") {
            let name = part.filter { !$0.isWhitespace }.lowercased()
            switch name.split(separator: ".").last.map(String.init) ?? name {
            case "range", "rangeassignor": list.append(.range)
            case "roundrobin", "roundrobinassignor": list.append(.roundRobin)
            case "cooperative-sticky", "cooperativestickyassignor": list.append(.cooperativeSticky)
            default: return nil
            }
        }
        return list.isEmpty ? nil : list
    }
}
