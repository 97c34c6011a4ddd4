import Foundation
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization
public import WeirClient
public import WeirLog

/// How far behind a lag is: below the warning threshold, at or above it, at or above the
/// critical one.
public enum LagLevel: String, Sendable, Codable, Hashable, Comparable {
    case ok, warning, critical

    var _rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: LagLevel, b: LagLevel) -> Bool { a._rank < b._rank }
}

/// Lag thresholds, in records: per partition and for the group's total. A nil threshold is not
/// checked. A lag equal to a threshold reaches it.
public struct LagThresholds: Sendable, Codable, Hashable {
    public var warningPerPartition: Int64?
    public var criticalPerPartition: Int64?
    public var warningTotal: Int64?
    public var criticalTotal: Int64?

    public init(warningPerPartition: Int64? = nil, criticalPerPartition: Int64? = nil,
                warningTotal: Int64? = nil, criticalTotal: Int64? = nil) {
        self.warningPerPartition = warningPerPartition
        self.criticalPerPartition = criticalPerPartition
        self.warningTotal = warningTotal
        self.criticalTotal = criticalTotal
    }

    /// Checks that each threshold is ≥ 0 and that warning ≤ critical.
    public func validate() throws(ObservabilityError) {
        for (name, v) in [("warningPerPartition", warningPerPartition), ("criticalPerPartition", criticalPerPartition),
                          ("warningTotal", warningTotal), ("criticalTotal", criticalTotal)] {
            if let v, v < 0 { throw ObservabilityError(.invalidArgument, "lag threshold \(name) is \(v); give 0 or more.") }
        }
        if let w = warningPerPartition, let c = criticalPerPartition, w > c {
            throw ObservabilityError(.invalidArgument, "the partition warning threshold \(w) is above the critical one \(c); make warning ≤ critical.")
        }
        if let w = warningTotal, let c = criticalTotal, w > c {
            throw ObservabilityError(.invalidArgument, "the total warning threshold \(w) is above the critical one \(c); make warning ≤ critical.")
        }
    }

    static func _level(_ lag: Int64, warning: Int64?, critical: Int64?) -> LagLevel {
        if let critical, lag >= critical { return .critical }
        if let warning, lag >= warning { return .warning }
        return .ok
    }

    /// The level of one partition's lag.
    public func partitionLevel(_ lag: Int64) -> LagLevel { Self._level(lag, warning: warningPerPartition, critical: criticalPerPartition) }
    /// The level of a group's total lag.
    public func totalLevel(_ lag: Int64) -> LagLevel { Self._level(lag, warning: warningTotal, critical: criticalTotal) }
}

/// One partition's lag at one moment.
public struct PartitionLagStatus: Sendable, Codable, Hashable {
    public var topic: String
    public var partition: Int32
    /// The group's committed offset (next to read); nil when the group never committed here.
    public var committedOffset: Int64?
    /// The high-water mark.
    public var endOffset: Int64
    /// `endOffset − committedOffset` (at least 0); `endOffset` when nothing was committed (as if
    /// the group would start from offset 0).
    public var lag: Int64
    public var level: LagLevel

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
}

/// A group's lag at one moment.
public struct LagSnapshot: Sendable, Codable, Hashable {
    public var group: String
    public var timestampMs: Int64
    public var partitions: [PartitionLagStatus]
    public var totalLag: Int64
    /// The level of `totalLag` against the total thresholds.
    public var totalLevel: LagLevel
    /// The worst of the partition levels and the total level.
    public var level: LagLevel { partitions.map(\.level).reduce(totalLevel, max) }
}

/// A threshold crossing: the level of a partition or of the group's total changed.
public struct LagAlert: Sendable, Hashable, CustomStringConvertible {
    public enum Scope: Sendable, Hashable {
        case partition(TopicPartition)
        case total
    }

    public var group: String
    public var scope: Scope
    public var previous: LagLevel
    public var current: LagLevel
    public var lag: Int64

    /// The level went down (e.g. critical → ok): the recovery notification.
    public var isRecovery: Bool { current < previous }

    public var description: String {
        let what = switch scope {
        case .partition(let tp): "partition \(tp)"
        case .total: "total"
        }
        return "group \(group) \(what) lag \(lag): \(previous.rawValue) → \(current.rawValue)\(isRecovery ? " (recovered)" : "")"
    }
}

/// Computes a consumer group's lag per partition (high-water mark − committed offset) on a
/// schedule, exports it as gauges (`weir_consumer_lag`, `weir_consumer_group_lag`), and calls
/// `onAlert` when a partition's or the total's level crosses a threshold — once per crossing,
/// not on every tick, and again when it recovers.
///
/// The high-water marks come from `MessagingClient.endOffsets`, the committed offsets from a
/// `ConsumerGroupOffsets` (the embedded log's `EmbeddedGroupOffsets`, or a Kafka admin client),
/// so the monitor runs unchanged on both backends. Run it as a `Service` in a `ServiceGroup`,
/// or call `check()` from your own loop.
public final class LagMonitor: Service, Sendable {
    public let group: String
    public let thresholds: LagThresholds
    /// The time between checks in `run()`.
    public let interval: Duration
    let client: any MessagingClient
    let offsets: any ConsumerGroupOffsets
    let topics: [String]
    let onAlert: @Sendable (LagAlert) async -> Void
    let logger: Logger

    /// The last level of each partition and of the total, for edge-triggered alerts.
    let _levels = Mutex<[LagAlert.Scope: LagLevel]>([:])
    let _metrics: _MetricCache

    /// - Parameters:
    ///   - topics: topics whose every partition is watched, also those the group never
    ///     committed; partitions with commits are watched anyway.
    ///   - metricsFactory: where the gauges go; nil for the bootstrapped `MetricsSystem`.
    public init(client: any MessagingClient, offsets: any ConsumerGroupOffsets, group: String, topics: [String] = [],
                thresholds: LagThresholds, interval: Duration = .seconds(10), metricsFactory: (any MetricsFactory)? = nil,
                logger: Logger = Logger(label: "weir.lag"),
                onAlert: @escaping @Sendable (LagAlert) async -> Void = { _ in }) throws(ObservabilityError) {
        try thresholds.validate()
        guard interval > .zero else { throw ObservabilityError(.invalidArgument, "the lag check interval must be positive; give e.g. .seconds(10).") }
        self.client = client
        self.offsets = offsets
        self.group = group
        self.topics = topics
        self.thresholds = thresholds
        self.interval = interval
        self._metrics = _MetricCache(factory: metricsFactory)
        self.logger = logger
        self.onAlert = onAlert
    }

    /// Computes the group's lag without touching alert state or metrics.
    public static func snapshot(client: any MessagingClient, offsets: any ConsumerGroupOffsets, group: String, topics: [String] = [],
                                thresholds: LagThresholds = LagThresholds()) async throws(ClientError) -> LagSnapshot {
        let committed = try await offsets.committedOffsets(group: group)
        var partitions = Set(committed.keys)
        for topic in topics {
            let n = try await client.partitionCount(topic)
            for p in 0..<Int32(n) { partitions.insert(TopicPartition(topic, p)) }
        }
        let sorted = partitions.sorted()
        let ends = try await client.endOffsets(sorted)
        var list: [PartitionLagStatus] = []
        var total: Int64 = 0
        for tp in sorted {
            let end = ends[tp] ?? 0
            let c = committed[tp]
            let lag = max(0, end - (c ?? 0))
            total += lag
            list.append(PartitionLagStatus(topic: tp.topic, partition: tp.partition, committedOffset: c, endOffset: end, lag: lag,
                                           level: thresholds.partitionLevel(lag)))
        }
        return LagSnapshot(group: group, timestampMs: Int64(Date().timeIntervalSince1970 * 1000), partitions: list,
                           totalLag: total, totalLevel: thresholds.totalLevel(total))
    }

    /// One tick: computes the lag, updates the gauges and calls `onAlert` for each level change
    /// since the previous tick (a scope seen for the first time counts as coming from `ok`).
    @discardableResult
    public func check() async throws(ClientError) -> LagSnapshot {
        let snap = try await Self.snapshot(client: client, offsets: offsets, group: group, topics: topics, thresholds: thresholds)
        var alerts: [LagAlert] = []
        _levels.withLock { levels in
            for p in snap.partitions {
                let scope = LagAlert.Scope.partition(p.topicPartition)
                let before = levels[scope] ?? .ok
                if before != p.level { alerts.append(LagAlert(group: group, scope: scope, previous: before, current: p.level, lag: p.lag)) }
                levels[scope] = p.level
            }
            let before = levels[.total] ?? .ok
            if before != snap.totalLevel {
                alerts.append(LagAlert(group: group, scope: .total, previous: before, current: snap.totalLevel, lag: snap.totalLag))
            }
            levels[.total] = snap.totalLevel
        }
        for p in snap.partitions {
            _metrics.gauge(WeirMetricNames.consumerLag, [("group", group), ("topic", p.topic), ("partition", String(p.partition))]).record(p.lag)
        }
        _metrics.gauge(WeirMetricNames.consumerGroupLag, [("group", group)]).record(snap.totalLag)
        for a in alerts { await onAlert(a) }
        return snap
    }

    /// Checks every `interval` until graceful shutdown or cancellation. A failed check is
    /// logged and retried at the next tick.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await check() } catch {
                logger.warning("lag check failed", metadata: ["group": "\(group)", "error": "\(error)"])
            }
            // Wakes early on graceful shutdown.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
