public import WeirLog
import Foundation
import Synchronization
import WeirFormat

// Commits: explicit, automatic (`enable.auto.commit`) and before a revocation.
extension Consumer {
    /// Marks every position as processed (for `poll`: the previous poll's records are done).
    func _markPositionsConsumed() {
        _state._withLock { st in
            for tp in st.order { if let pos = st.partitions[tp]!.position { st.partitions[tp]!.consumed = pos } }
        }
    }

    /// Marks `offset` of `tp` processed: `offset + 1` is committed next.
    func _markProcessed(_ tp: TopicPartition, offset: Int64, epoch: UInt64? = nil) {
        _state._withLock { st in
            guard let p = st.partitions[tp], epoch == nil || p.epoch == epoch else { return }
            if (p.consumed ?? -1) < offset + 1 { st.partitions[tp]!.consumed = offset + 1 }
        }
    }

    /// Commits the processed offsets of every assigned partition (Kafka's `commitSync()`).
    public func commit() throws(ClientError) {
        let offsets = _state._withLock { st in
            st.partitions.compactMapValues { p in p.consumed }.filter { st.lastCommitted[$0.key] != $0.value }
        }
        try commit(offsets)
    }

    /// Commits explicit offsets: for each partition, the next offset to consume (last processed
    /// + 1), as Kafka's `commitSync(Map)` and KafkaJS's `commitOffsets` take them.
    public func commit(_ offsets: [TopicPartition: Int64], metadata: String = "") throws(ClientError) {
        guard !offsets.isEmpty else { return }
        guard let group = configuration.groupId else {
            throw ClientError(.invalidConfig, "commit needs group.id; set group.id to store offsets.", key: "group.id")
        }
        try _authorizeRead(topics: [], group: group)
        let (member, generation) = _state._withLock { st in (st.subscription == .assigned ? nil : st.memberId, st.generation) }
        if member == nil, _state._withLock({ st in st.subscription != .assigned && st.subscription != .none }) {
            throw ClientError(.rebalanceInProgress, "not a member of group \(group) yet (or any more); poll to join, then commit.", isRetriable: true)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try coordinator.commitOffsets(groupId: group, memberId: member, generationId: generation,
                                      offsets.mapValues { OffsetAndMetadata(offset: $0, metadata: metadata, commitTimestamp: now) })
        _state._withLock { st in for (tp, o) in offsets { st.lastCommitted[tp] = o } }
    }

    /// Commits when `enable.auto.commit` is set and `auto.commit.interval.ms` has passed since
    /// the last auto-commit (KafkaJS's `commitOffsetsIfNecessary`).
    public func commitOffsetsIfNecessary() throws(ClientError) {
        try _maybeAutoCommit()
    }

    /// - Parameter now: `_monotonicNanos()`, read by the caller or here.
    func _maybeAutoCommit(now: Int64 = _monotonicNanos()) throws(ClientError) {
        guard configuration.enableAutoCommit, configuration.groupId != nil else { return }
        let due = _state._withLock { st in
            if st._autoCommitDue(now: now, intervalMs: configuration.autoCommitIntervalMs) {
                st.lastAutoCommit = now
                return true
            }
            return false
        }
        if due {
            do { try commit() } catch where error.code == .rebalanceInProgress {
                // The generation is over; the next poll rejoins.
                _requestRejoin(generation: _state._withLock { $0.generation })
            }
        }
    }

    /// Commits the processed offsets of `partitions` before they go (auto-commit only).
    func _commitBeforeRevoke(_ partitions: [TopicPartition]) {
        guard configuration.enableAutoCommit, configuration.groupId != nil else { return }
        let offsets = _state._withLock { st in
            var o: [TopicPartition: Int64] = [:]
            for tp in partitions { if let c = st.partitions[tp]?.consumed, st.lastCommitted[tp] != c { o[tp] = c } }
            return o
        }
        try? commit(offsets)
    }
}
