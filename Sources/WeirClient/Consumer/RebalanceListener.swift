public import WeirLog

/// Kafka's `ConsumerRebalanceListener`: called from inside `poll` (and the `run` loop) when the
/// group moves partitions, so that state kept per partition — a cache, a buffer, open
/// transactions — is committed, flushed or cleared at the right time (the reference document's
/// "clear the cache on rebalance").
///
/// - `onPartitionsRevoked`: before partitions are taken away in an orderly rebalance; the
///   consumer commits their processed offsets first (with `enable.auto.commit`), and the
///   listener may commit its own.
/// - `onPartitionsAssigned`: after the new generation's partitions are added (with the eager
///   protocols `range` / `roundrobin`, all of them; with `cooperative-sticky`, only the new ones,
///   possibly none).
/// - `onPartitionsLost`: the partitions were already given to others (session timeout,
///   `max.poll.interval.ms` exceeded); do not commit. The default calls `onPartitionsRevoked`.
public protocol ConsumerRebalanceListener: Sendable {
    func onPartitionsRevoked(_ partitions: [TopicPartition], consumer: Consumer) async
    func onPartitionsAssigned(_ partitions: [TopicPartition], consumer: Consumer) async
    func onPartitionsLost(_ partitions: [TopicPartition], consumer: Consumer) async
}

extension ConsumerRebalanceListener {
    public func onPartitionsLost(_ partitions: [TopicPartition], consumer: Consumer) async {
        await onPartitionsRevoked(partitions, consumer: consumer)
    }
}

/// A rebalance listener made of closures.
public struct RebalanceListener: ConsumerRebalanceListener {
    public typealias Callback = @Sendable ([TopicPartition], Consumer) async -> Void
    let assigned: Callback?
    let revoked: Callback?
    let lost: Callback?

    public init(onPartitionsAssigned: Callback? = nil, onPartitionsRevoked: Callback? = nil, onPartitionsLost: Callback? = nil) {
        self.assigned = onPartitionsAssigned
        self.revoked = onPartitionsRevoked
        self.lost = onPartitionsLost
    }

    public func onPartitionsRevoked(_ partitions: [TopicPartition], consumer: Consumer) async { await revoked?(partitions, consumer) }
    public func onPartitionsAssigned(_ partitions: [TopicPartition], consumer: Consumer) async { await assigned?(partitions, consumer) }
    public func onPartitionsLost(_ partitions: [TopicPartition], consumer: Consumer) async {
        if let lost { await lost(partitions, consumer) } else { await revoked?(partitions, consumer) }
    }
}

/// Kafka's `ConsumerGroupMetadata` (what `sendOffsetsToTransaction` fences with).
public struct ConsumerGroupMetadata: Sendable, Hashable {
    public var groupId: String
    public var generationId: Int32
    public var memberId: String
    public var groupInstanceId: String?
}
