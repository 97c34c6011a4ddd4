public import WeirLog
import Foundation
import Synchronization
import WeirFormat

// Subscribing to topics or a pattern, or assigning partitions by hand.
extension Consumer {
    /// Subscribes to `topics` with the group (`group.id` is required); partitions are assigned
    /// by the group coordinator at the next poll.
    public func subscribe(topics: [String], listener: (any ConsumerRebalanceListener)? = nil) throws(ClientError) {
        try _authorizeRead(topics: topics, group: configuration.groupId)
        try _subscribe(.topics(Set(topics)), listener)
    }

    /// Subscribes to every topic whose whole name matches the regular expression `pattern`
    /// (internal topics such as `__consumer_offsets` excluded); new topics are picked up every
    /// `metadata.max.age.ms`.
    public func subscribe(pattern: String, listener: (any ConsumerRebalanceListener)? = nil) throws(ClientError) {
        do { _ = try Regex(pattern) } catch {
            throw ClientError(.invalidConfig, "the topic pattern '\(pattern)' is not a valid regular expression: \(error).")
        }
        try _authorizeRead(topics: [], group: configuration.groupId)
        try _subscribe(.pattern(pattern), listener)
    }

    func _subscribe(_ s: _Subscription, _ listener: (any ConsumerRebalanceListener)?) throws(ClientError) {
        guard configuration.groupId != nil else {
            throw ClientError(.invalidConfig, "subscribe needs group.id; set group.id, or use assign(_:) without a group.", key: "group.id")
        }
        try _state._withLock { (st) throws(ClientError) in
            if st.closed { throw Self._closedError }
            if st.subscription == .assigned {
                throw ClientError(.illegalState, "this consumer uses assign(_:); call unsubscribe() before subscribe.")
            }
            st.subscription = s
            st.listener = listener
            st.patternRefreshed = nil
        }
    }

    /// Assigns partitions manually (no group management; commits still go to `group.id` if set).
    public func assign(_ partitions: [TopicPartition]) throws(ClientError) {
        try _authorizeRead(topics: Set(partitions.map(\.topic)), group: nil)
        var logs: [TopicPartition: PartitionLog] = [:]
        for tp in partitions {
            do { logs[tp] = try logDirectory.partition(tp) } catch { throw ClientError(error) }
        }
        try _state._withLock { (st) throws(ClientError) in
            if st.closed { throw Self._closedError }
            if case .topics = st.subscription { throw ClientError(.illegalState, "this consumer is subscribed; call unsubscribe() before assign.") }
            if case .pattern = st.subscription { throw ClientError(.illegalState, "this consumer is subscribed; call unsubscribe() before assign.") }
            st.subscription = partitions.isEmpty ? .none : .assigned
            var next: [TopicPartition: _Partition] = [:]
            for tp in partitions { next[tp] = st.partitions[tp] ?? _Partition(log: logs[tp]!) }
            st.partitions = next
            st.order = next.keys.sorted()
        }
    }

    /// Leaves the group (committing first with `enable.auto.commit`) and drops the assignment.
    public func unsubscribe() async {
        await _leaveGroup(callListener: true)
        _state._withLock { st in
            st.subscription = .none
            st.partitions = [:]
            st.order = []
        }
    }

    /// The partitions assigned to this consumer now.
    public func assignment() -> [TopicPartition] { _state._withLock { $0.order } }

    /// The subscribed topics (for a pattern, the topics it matched at the last refresh).
    public func subscription() -> [String] {
        _state._withLock { st in
            switch st.subscription {
            case .topics(let t): t.sorted()
            case .pattern: st.patternTopics.sorted()
            default: []
            }
        }
    }

    /// The group generation this consumer is part of (Kafka's `groupMetadata()`), nil outside a group.
    public func groupMetadata() -> ConsumerGroupMetadata? {
        guard let g = configuration.groupId else { return nil }
        return _state._withLock { st in
            st.memberId.map { ConsumerGroupMetadata(groupId: g, generationId: st.generation, memberId: $0, groupInstanceId: configuration.groupInstanceId) }
        }
    }
}
