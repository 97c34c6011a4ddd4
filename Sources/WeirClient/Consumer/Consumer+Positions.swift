public import WeirLog
import Foundation
import Synchronization
import WeirFormat

// Where the consumer reads: seek, committed offsets, pause/resume, watermarks, lag.
extension Consumer {
    /// Moves the position of an assigned partition: the next poll fetches from `offset`.
    public func seek(_ tp: TopicPartition, to offset: Int64) throws(ClientError) {
        try _withPartition(tp) { (p, st) in
            p.position = offset
            st.epochCounter += 1
            p.epoch = st.epochCounter
        }
    }

    /// Seeks to the log-start offset of each partition.
    public func seekToBeginning(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, st) in p.position = p.log.logStartOffset; st.epochCounter += 1; p.epoch = st.epochCounter } }
    }

    /// Seeks to the high-water mark of each partition.
    public func seekToEnd(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, st) in p.position = p.log.highWatermark; st.epochCounter += 1; p.epoch = st.epochCounter } }
    }

    /// Seeks to the first record whose timestamp is ≥ `timestamp` (ms), or the end.
    public func seek(_ tp: TopicPartition, toTimestamp timestamp: Int64) throws(ClientError) {
        try _withPartition(tp) { (p, st) in
            p.position = p.log.offset(forTimestamp: timestamp)?.offset ?? p.log.highWatermark
            st.epochCounter += 1
            p.epoch = st.epochCounter
        }
    }

    /// The next offset this consumer fetches from `tp` (resolving it from the committed offset or
    /// `auto.offset.reset` when not yet known).
    public func position(_ tp: TopicPartition) throws(ClientError) -> Int64 {
        try _resolvePositions()
        return try _withPartition(tp) { (p, _) in p.position ?? 0 }
    }

    /// The group's committed offset of `tp` (nil without `group.id` or without a commit).
    public func committed(_ tp: TopicPartition) -> OffsetAndMetadata? {
        guard let g = configuration.groupId else { return nil }
        return coordinator.committedOffsets(groupId: g)[tp]
    }

    /// Stops fetching from these partitions (their positions are kept).
    public func pause(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, _) in p.paused = true } }
    }

    /// Resumes fetching from these partitions.
    public func resume(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, _) in p.paused = false } }
    }

    /// The paused partitions.
    public func paused() -> [TopicPartition] { _state._withLock { st in st.order.filter { st.partitions[$0]!.paused } } }

    /// The log-start offsets (Kafka's `beginningOffsets`).
    public func beginningOffsets(_ partitions: [TopicPartition]) throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions { do { out[tp] = try logDirectory.partition(tp).logStartOffset } catch { throw ClientError(error) } }
        return out
    }

    /// The high-water marks, or last stable offsets with `read_committed` (Kafka's `endOffsets`).
    public func endOffsets(_ partitions: [TopicPartition]) throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions {
            do {
                let log = try logDirectory.partition(tp)
                out[tp] = configuration.isolationLevel == .readCommitted ? log.lastStableOffset : log.highWatermark
            } catch { throw ClientError(error) }
        }
        return out
    }

    /// Records not yet consumed per assigned partition: end offset − position.
    public func lag() -> [TopicPartition: Int64] {
        _state._withLock { st in
            st.partitions.mapValues { p in
                let end = configuration.isolationLevel == .readCommitted ? p.log.lastStableOffset : p.log.highWatermark
                return max(0, end - (p.position ?? p.log.logStartOffset))
            }
        }
    }

    static let _closedError = ClientError(.consumerClosed, "the consumer is closed; create a new one.")
    /// How often a poll compares the subscribed topics with the joined ones.
    static let _topicsCheckIntervalNanos: Int64 = 100_000_000

    func _withPartition<R>(_ tp: TopicPartition, _ body: (inout _Partition, inout _State) -> R) throws(ClientError) -> R {
        try _state._withLock { (st) throws(ClientError) -> R in
            guard var p = st.partitions[tp] else {
                throw ClientError(.illegalState, "\(tp) is not assigned to this consumer (assignment: \(st.order.map(\.description).joined(separator: ", "))).")
            }
            let r = body(&p, &st)
            st.partitions[tp] = p
            _revision.add(1, ordering: .releasing)
            return r
        }
    }

    /// Gives every partition without a position one: the committed offset, else
    /// `auto.offset.reset`.
    func _resolvePositions() throws(ClientError) {
        let missing = _state._withLock { st in st.order.filter { st.partitions[$0]!.position == nil } }
        guard !missing.isEmpty else { return }
        let committed = configuration.groupId.map { coordinator.committedOffsets(groupId: $0) } ?? [:]
        for tp in missing {
            let offset: Int64
            if let c = committed[tp] {
                offset = c.offset
            } else {
                offset = try _reset(tp, reason: "no committed offset")
            }
            _state._withLock { st in
                if st.partitions[tp]?.position == nil {
                    st.partitions[tp]?.position = offset
                    if committed[tp] != nil { st.lastCommitted[tp] = offset }
                }
            }
        }
    }

    /// The offset `auto.offset.reset` gives `tp`.
    func _reset(_ tp: TopicPartition, reason: String) throws(ClientError) -> Int64 {
        let log: PartitionLog
        do { log = try logDirectory.partition(tp) } catch { throw ClientError(error) }
        switch configuration.autoOffsetReset {
        case .earliest: return log.logStartOffset
        case .latest: return log.highWatermark
        case .none:
            throw ClientError(.noOffset, "\(tp): \(reason) and auto.offset.reset=none; commit an offset, seek, or set auto.offset.reset to earliest or latest.")
        }
    }
}
