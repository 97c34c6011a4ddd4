public import WeirLog
import Foundation
import Synchronization

// Committed offsets, group listing and description, lag, resets, deletion.
extension GroupCoordinator {
    /// Kafka's `OffsetCommit`. With a `memberId`, the commit is accepted only from a member of
    /// the group's current generation (otherwise `.rebalanceInProgress`, Kafka's
    /// `CommitFailedException`); without one (a consumer that uses `assign`, or an admin), only
    /// when the group has no members.
    public func commitOffsets(groupId: String, memberId: String? = nil, generationId: Int32 = -1,
                              _ offsets: [TopicPartition: OffsetAndMetadata]) throws(ClientError) {
        try groups._withLock { (all) throws(ClientError) in
            let g = all[groupId] ?? _Group()
            if let memberId {
                guard g.members[memberId] != nil, g.generation == generationId else {
                    throw ClientError(.rebalanceInProgress, "commit of group \(groupId) rejected: member \(memberId) of generation \(generationId) is not in the current generation \(g.generation); the partitions may have moved. Rejoin and process again from the committed offsets.")
                }
            } else if !g.members.isEmpty {
                throw ClientError(.groupNotEmpty, "group \(groupId) has \(g.members.count) active member(s); commit as a member, or stop them first.")
            }
        }
        try offsets_write(groupId, offsets.mapValues { Optional($0) })
    }

    func offsets_write(_ groupId: String, _ o: [TopicPartition: OffsetAndMetadata?]) throws(ClientError) {
        try offsets.write(group: groupId, o)
    }

    /// Kafka's `OffsetFetch`: the group's committed offsets.
    public func committedOffsets(groupId: String) -> [TopicPartition: OffsetAndMetadata] {
        offsets.committed(group: groupId)
    }

    /// Every group with members or committed offsets, sorted.
    public func listGroups() -> [String] {
        let live = groups._withLock { all in all.filter { !$0.value.members.isEmpty }.keys }
        return Set(live).union(offsets.groups()).sorted()
    }

    /// Kafka's `DescribeGroups` plus the offsets and lag `kafka-consumer-groups --describe` shows.
    public func describeGroup(_ groupId: String) -> GroupDescription {
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        var timer: (Int, Int64)? = nil
        let g: _Group = groups._withLock { all in
            guard var g = all[groupId] else { return _Group() }
            timer = _expire(&g, groupId: groupId, now: monotonicNanos(), resume: &resume)
            all[groupId] = g
            return g
        }
        for (w, r) in resume { w.resume(returning: r) }
        if let (round, ms) = timer { _scheduleRebalanceTimeout(groupId, round: round, afterMs: ms) }
        let committed = offsets.committed(group: groupId)
        var owners: [TopicPartition: String] = [:]
        if g.state == .stable { for m in g.members.values { for tp in m.assignment { owners[tp] = m.memberId } } }
        var lags: [PartitionLag] = []
        for tp in Set(committed.keys).union(owners.keys).sorted() {
            let hwm = (try? directory.partition(tp))?.highWatermark ?? 0
            lags.append(PartitionLag(topicPartition: tp, committedOffset: committed[tp]?.offset, highWatermark: hwm, memberId: owners[tp]))
        }
        let state: GroupState = g.members.isEmpty ? (committed.isEmpty ? .dead : .empty) : g.state
        let members = g.members.values.sorted { $0.memberId < $1.memberId }.map {
            MemberDescription(memberId: $0.memberId, groupInstanceId: $0.instanceId, clientId: $0.clientId, topics: $0.topics.sorted(),
                              assignment: g.state == .stable ? $0.assignment.sorted() : [])
        }
        return GroupDescription(groupId: groupId, state: state, protocolName: g.protocolName?.rawValue, generationId: g.generation,
                                leaderId: g.leaderId, members: members, offsets: lags)
    }

    /// Lag per partition: high-water mark − committed offset.
    public func lag(groupId: String) -> [PartitionLag] { describeGroup(groupId).offsets }

    /// `kafka-consumer-groups --reset-offsets --execute`: moves the committed offsets of `topic`
    /// (all its partitions, or `partitions`) to `spec`. Only when the group has no active
    /// members, as Kafka requires. Returns the new offsets.
    @discardableResult
    public func resetOffsets(groupId: String, topic: String, partitions: [Int32]? = nil, to spec: OffsetResetSpec) throws(ClientError) -> [TopicPartition: Int64] {
        let active = describeGroup(groupId).members.count
        if active > 0 {
            throw ClientError(.groupNotEmpty, "group \(groupId) has \(active) active member(s); offsets can only be reset when the group is inactive. Stop its consumers first.")
        }
        let count: Int
        do { count = try directory.partitionCount(topic) } catch { throw ClientError(error) }
        var out: [TopicPartition: OffsetAndMetadata] = [:]
        for p in partitions ?? (0..<Int32(count)).map({ $0 }) {
            let log: PartitionLog
            do { log = try directory.partition(topic, p) } catch { throw ClientError(error) }
            let o: Int64 = switch spec {
            case .earliest: log.logStartOffset
            case .latest: log.highWatermark
            case .offset(let n): min(max(n, log.logStartOffset), log.highWatermark)
            case .timestamp(let ts): log.offset(forTimestamp: ts)?.offset ?? log.highWatermark
            }
            out[log.topicPartition] = OffsetAndMetadata(offset: o)
        }
        try commitOffsets(groupId: groupId, out)
        return out.mapValues(\.offset)
    }

    /// Deletes a group's committed offsets (tombstones in `__consumer_offsets`); only when it has
    /// no active members.
    public func deleteGroup(_ groupId: String) throws(ClientError) {
        if !describeGroup(groupId).members.isEmpty {
            throw ClientError(.groupNotEmpty, "group \(groupId) has active members; stop them first.")
        }
        let committed = offsets.committed(group: groupId)
        try offsets.write(group: groupId, committed.mapValues { _ in nil })
        _ = groups._withLock { $0.removeValue(forKey: groupId) }
    }
}
