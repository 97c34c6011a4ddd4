public import WeirLog
import Foundation
import Synchronization

/// The state of a consumer group, with Kafka's names.
public enum GroupState: String, Sendable, Hashable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    case dead = "Dead"
}

/// A member's request to join a group (Kafka's `JoinGroup`).
public struct JoinGroupRequest: Sendable {
    public var groupId: String
    /// Empty for a new member: the coordinator gives it an id.
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var topics: Set<String>
    /// `partition.assignment.strategy`, in preference order.
    public var protocols: [ConsumerConfiguration.AssignmentStrategy]
    public var sessionTimeoutMs: Int64
    /// `max.poll.interval.ms`: how long the coordinator waits for every member to rejoin.
    public var rebalanceTimeoutMs: Int64
    /// The partitions the member owns now (cooperative rebalancing).
    public var ownedPartitions: [TopicPartition]
    /// Identifies this join so that a closing consumer can cancel it (`_cancelJoin`); 0 for none.
    var _joinToken: UInt64 = 0

    public init(groupId: String, memberId: String = "", groupInstanceId: String? = nil, clientId: String = "",
                topics: Set<String>, protocols: [ConsumerConfiguration.AssignmentStrategy], sessionTimeoutMs: Int64,
                rebalanceTimeoutMs: Int64, ownedPartitions: [TopicPartition] = []) {
        self.groupId = groupId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.topics = topics
        self.protocols = protocols
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.ownedPartitions = ownedPartitions
    }
}

/// The answer to `joinGroup`: the generation the member is part of.
public struct JoinGroupResponse: Sendable, Hashable {
    public var generationId: Int32
    public var memberId: String
    public var leaderId: String
    public var protocolName: ConsumerConfiguration.AssignmentStrategy
    /// The member ids of the generation.
    public var members: [String]
}

/// The answer to a heartbeat.
public enum HeartbeatResult: Sendable, Hashable {
    case ok
    /// A rebalance started: rejoin (Kafka's `REBALANCE_IN_PROGRESS`).
    case rebalanceInProgress
    /// The member's generation is not the group's: rejoin (`ILLEGAL_GENERATION`).
    case illegalGeneration
    /// The member was removed (session timeout, rebalance timeout): its partitions are lost;
    /// rejoin as a new member (`UNKNOWN_MEMBER_ID`, or `FENCED_INSTANCE_ID` for a replaced
    /// static member).
    case unknownMember
}

/// One member in a group description.
public struct MemberDescription: Sendable, Hashable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var topics: [String]
    public var assignment: [TopicPartition]
}

/// One partition's committed offset and lag.
public struct PartitionLag: Sendable, Hashable {
    public var topicPartition: TopicPartition
    /// The committed offset (next to consume), nil when the group has none.
    public var committedOffset: Int64?
    /// The high-water mark (log-end offset).
    public var highWatermark: Int64
    /// The owner in the current generation.
    public var memberId: String?
    /// High-water mark − committed offset (nil without a commit).
    public var lag: Int64? { committedOffset.map { max(0, highWatermark - $0) } }
}

/// `describeGroup`: state, members, assignment, committed offsets and lag.
public struct GroupDescription: Sendable, Hashable {
    public var groupId: String
    public var state: GroupState
    public var protocolName: String?
    public var generationId: Int32
    public var leaderId: String?
    public var members: [MemberDescription]
    /// Every partition with a commit or an owner, in order.
    public var offsets: [PartitionLag]
    public var totalLag: Int64 { offsets.reduce(0) { $0 + ($1.lag ?? 0) } }
}

/// Where `resetOffsets` moves a group's committed offsets.
public enum OffsetResetSpec: Sendable, Hashable {
    case earliest
    case latest
    case offset(Int64)
    /// The first offset whose timestamp is ≥ this (ms since the epoch); the log end when none is.
    case timestamp(Int64)
}

/// The in-process group coordinator of one log directory (Kafka's `GroupCoordinator` on the
/// embedded node): members, generations, join/sync/heartbeat/leave, session and rebalance
/// timeouts, static membership, and committed offsets in `__consumer_offsets`.
///
/// JoinGroup and SyncGroup keep Kafka's meaning, with one difference: the coordinator runs the
/// chosen assignor itself when a round completes (in Kafka the leader member does it), so
/// `syncGroup` only hands out the result.
///
/// The coordinator is shared by every consumer of the same open `LogDirectory` (`shared(for:)`).
/// A log directory is owned by one process (its lock file), so "active members" means members
/// in this process.
public final class GroupCoordinator: Sendable {
    struct _Member {
        var memberId: String
        var instanceId: String?
        var clientId: String
        var topics: Set<String>
        var protocols: [ConsumerConfiguration.AssignmentStrategy]
        var sessionTimeoutMs: Int64
        var rebalanceTimeoutMs: Int64
        var lastSeen: ContinuousClock.Instant
        var owned: [TopicPartition] = []
        var assignment: [TopicPartition] = []
        var joined = false
        var waiter: CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>? = nil
        /// The `_joinToken` of the join that `waiter` answers.
        var joinToken: UInt64 = 0
        /// Called (under the coordinator's lock; it must only set flags) when a rebalance
        /// starts that this member has to rejoin (with the last completed generation), so a
        /// consumer blocked in a fetch wait wakes.
        var onRebalance: (@Sendable (Int32) -> Void)? = nil
    }

    struct _Group {
        var state: GroupState = .empty
        var generation: Int32 = 0
        var protocolName: ConsumerConfiguration.AssignmentStrategy?
        var leaderId: String?
        var members: [String: _Member] = [:]
        var round = 0
        /// Joins cancelled before they reached the coordinator (`_cancelJoin` came first).
        var cancelledJoins: Set<UInt64> = []
    }

    let directory: LogDirectory
    let offsets: _OffsetStore
    let groups = Mutex<[String: _Group]>([:])
    /// Every completed generation's assignment, per group (for tests and `describeGroup`).
    let _history = Mutex<[String: [(generation: Int32, assignment: [String: [TopicPartition]])]]>([:])

    private static let registry = Mutex<[ObjectIdentifier: (weak: _WeakRef, coordinator: GroupCoordinator)]>([:])

    final class _WeakRef: @unchecked Sendable {
        weak var value: LogDirectory?
        init(_ v: LogDirectory) { value = v }
    }

    /// The coordinator of `directory` (one per open directory).
    public static func shared(for directory: LogDirectory) -> GroupCoordinator {
        registry._withLock { r in
            r = r.filter { $0.value.weak.value != nil }
            if let c = r[ObjectIdentifier(directory)], c.weak.value === directory { return c.coordinator }
            let c = GroupCoordinator(directory: directory)
            r[ObjectIdentifier(directory)] = (_WeakRef(directory), c)
            return c
        }
    }

    init(directory: LogDirectory) {
        self.directory = directory
        self.offsets = _OffsetStore(directory: directory)
    }

    // MARK: - Join, sync, heartbeat, leave

    /// Kafka's `JoinGroup`: waits until every member of the group has (re)joined, or the
    /// rebalance timeout removed the ones that did not, and returns the new generation.
    public func joinGroup(_ request: JoinGroupRequest) async throws(ClientError) -> JoinGroupResponse {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>) in
            _join(request, c)
        }
        return try result.get()
    }

    func _join(_ req: JoinGroupRequest, _ c: CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>) {
        let now = ContinuousClock.now
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        var timer: (Int, Int64)? = nil
        groups._withLock { all in
            var g = all[req.groupId] ?? _Group()
            defer { all[req.groupId] = g }
            timer = _expire(&g, groupId: req.groupId, now: now, resume: &resume)
            if req._joinToken != 0, g.cancelledJoins.remove(req._joinToken) != nil {
                resume.append((c, .failure(Self._joinCancelled(req.groupId))))
                return
            }
            var memberId = req.memberId
            if memberId.isEmpty, let instance = req.groupInstanceId,
               let old = g.members.values.first(where: { $0.instanceId == instance }) {
                // Static membership: the instance comes back under a new member id; the old one is fenced.
                var m = g.members.removeValue(forKey: old.memberId)!
                if let w = m.waiter { resume.append((w, .failure(ClientError(.rebalanceInProgress, "member \(old.memberId) was replaced by a new instance of group.instance.id \(instance)."))) ) }
                memberId = "\(instance)-\(UUID().uuidString.lowercased())"
                m.memberId = memberId
                m.waiter = nil
                m.lastSeen = now
                if g.leaderId == old.memberId { g.leaderId = memberId }
                if g.state == .stable && m.topics == req.topics {
                    // Same subscription, group stable: no rebalance, same assignment.
                    g.members[memberId] = m
                    resume.append((c, .success(JoinGroupResponse(generationId: g.generation, memberId: memberId, leaderId: g.leaderId ?? memberId,
                                                                  protocolName: g.protocolName ?? req.protocols[0], members: g.members.keys.sorted()))))
                    return
                }
                g.members[memberId] = m
            } else if memberId.isEmpty {
                memberId = "\(req.clientId.isEmpty ? "consumer" : req.clientId)-\(UUID().uuidString.lowercased())"
            } else if g.members[memberId] == nil {
                resume.append((c, .failure(ClientError(.rebalanceInProgress, "member \(memberId) is not in group \(req.groupId) (session or rebalance timeout); rejoin with an empty member id."))))
                return
            }
            var m = g.members[memberId] ?? _Member(memberId: memberId, instanceId: req.groupInstanceId, clientId: req.clientId, topics: req.topics,
                                                   protocols: req.protocols, sessionTimeoutMs: req.sessionTimeoutMs,
                                                   rebalanceTimeoutMs: req.rebalanceTimeoutMs, lastSeen: now)
            m.topics = req.topics
            m.protocols = req.protocols
            m.sessionTimeoutMs = req.sessionTimeoutMs
            m.rebalanceTimeoutMs = req.rebalanceTimeoutMs
            m.owned = req.ownedPartitions
            m.lastSeen = now
            m.joined = true
            if let w = m.waiter { resume.append((w, .failure(ClientError(.rebalanceInProgress, "a newer join of member \(memberId) replaced this one.")))) }
            m.waiter = c
            m.joinToken = req._joinToken
            g.members[memberId] = m
            if g.state != .preparingRebalance {
                timer = _startRebalance(&g, except: memberId)
            }
            _completeIfReady(&g, groupId: req.groupId, resume: &resume)
        }
        for (w, r) in resume { w.resume(returning: r) }
        if let (round, ms) = timer { _scheduleRebalanceTimeout(req.groupId, round: round, afterMs: ms) }
    }

    static func _joinCancelled(_ groupId: String) -> ClientError {
        ClientError(.consumerClosed, "joining group \(groupId) was cancelled: the consumer is closing.")
    }

    /// Ends the join identified by `token` (its consumer is closing): the member leaves the
    /// group as with `leaveGroup`, and its `joinGroup` returns `.consumerClosed`. A join that has
    /// not reached the coordinator yet fails when it does.
    func _cancelJoin(groupId: String, token: UInt64) {
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        var timer: (Int, Int64)? = nil
        groups._withLock { all in
            var g = all[groupId] ?? _Group()
            defer { all[groupId] = g }
            guard let m = g.members.values.first(where: { $0.waiter != nil && $0.joinToken == token }) else {
                g.cancelledJoins.insert(token)
                return
            }
            timer = _remove(m.memberId, from: &g, groupId: groupId, answer: Self._joinCancelled(groupId), resume: &resume)
        }
        for (w, res) in resume { w.resume(returning: res) }
        if let (round, ms) = timer { _scheduleRebalanceTimeout(groupId, round: round, afterMs: ms) }
    }

    /// Registers what to call when a rebalance starts that `memberId` has to rejoin (the
    /// consumer's fetch wait wakes, instead of learning it from its next heartbeat).
    func _onRebalance(groupId: String, memberId: String, _ hook: @escaping @Sendable (Int32) -> Void) {
        groups._withLock { all in all[groupId]?.members[memberId]?.onRebalance = hook }
    }

    /// Kafka's `SyncGroup`: the member's assignment in `generationId`.
    public func syncGroup(groupId: String, memberId: String, generationId: Int32) throws(ClientError) -> [TopicPartition] {
        try groups._withLock { (all) throws(ClientError) -> [TopicPartition] in
            guard let g = all[groupId], let m = g.members[memberId] else {
                throw ClientError(.rebalanceInProgress, "member \(memberId) is not in group \(groupId); rejoin.")
            }
            guard g.generation == generationId, g.state == .stable else {
                throw ClientError(.rebalanceInProgress, "generation \(generationId) of group \(groupId) is over (now \(g.generation), \(g.state.rawValue)); rejoin.")
            }
            return m.assignment
        }
    }

    /// Kafka's `Heartbeat`: keeps the member's session alive and tells it when to rejoin.
    public func heartbeat(groupId: String, memberId: String, generationId: Int32) -> HeartbeatResult {
        let now = ContinuousClock.now
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        var timer: (Int, Int64)? = nil
        let r: HeartbeatResult = groups._withLock { all in
            guard var g = all[groupId] else { return .unknownMember }
            defer { all[groupId] = g }
            g.members[memberId]?.lastSeen = now
            timer = _expire(&g, groupId: groupId, now: now, resume: &resume)
            _completeIfReady(&g, groupId: groupId, resume: &resume)
            guard g.members[memberId] != nil else { return .unknownMember }
            if g.state == .preparingRebalance { return .rebalanceInProgress }
            if g.generation != generationId { return .illegalGeneration }
            return .ok
        }
        for (w, res) in resume { w.resume(returning: res) }
        if let (round, ms) = timer { _scheduleRebalanceTimeout(groupId, round: round, afterMs: ms) }
        return r
    }

    /// Kafka's `LeaveGroup`: the member leaves now and the others rebalance.
    public func leaveGroup(groupId: String, memberId: String) {
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        var timer: (Int, Int64)? = nil
        groups._withLock { all in
            guard var g = all[groupId] else { return }
            defer { all[groupId] = g }
            timer = _remove(memberId, from: &g, groupId: groupId,
                            answer: ClientError(.rebalanceInProgress, "member \(memberId) left group \(groupId)."), resume: &resume)
        }
        for (w, res) in resume { w.resume(returning: res) }
        if let (round, ms) = timer { _scheduleRebalanceTimeout(groupId, round: round, afterMs: ms) }
    }

    // MARK: - Internals (called with the lock held)

    /// Starts a rebalance round: every member must rejoin within the rebalance timeout.
    func _startRebalance(_ g: inout _Group, except: String?) -> (Int, Int64) {
        g.state = .preparingRebalance
        g.round += 1
        for id in g.members.keys where id != except {
            g.members[id]!.joined = false
            g.members[id]!.onRebalance?(g.generation)
        }
        let timeout = g.members.values.map(\.rebalanceTimeoutMs).max() ?? 0
        return (g.round, timeout)
    }

    /// Removes a member that left or whose join was cancelled: a join it is waiting in gets
    /// `answer`, and the others rebalance.
    func _remove(_ memberId: String, from g: inout _Group, groupId: String, answer: ClientError,
                 resume: inout [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)]) -> (Int, Int64)? {
        guard let m = g.members.removeValue(forKey: memberId) else { return nil }
        if let w = m.waiter { resume.append((w, .failure(answer))) }
        return _membershipChanged(&g, groupId: groupId, resume: &resume)
    }

    /// After a member left or expired: rebalance the rest, or empty the group.
    func _membershipChanged(_ g: inout _Group, groupId: String, resume: inout [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)]) -> (Int, Int64)? {
        if g.members.isEmpty {
            g.state = .empty
            g.generation += 1
            g.leaderId = nil
            return nil
        }
        var timer: (Int, Int64)? = nil
        if g.state != .preparingRebalance { timer = _startRebalance(&g, except: nil) }
        _completeIfReady(&g, groupId: groupId, resume: &resume)
        return timer
    }

    /// Removes members whose session timed out (a member waiting in `joinGroup` is alive).
    @discardableResult
    func _expire(_ g: inout _Group, groupId: String, now: ContinuousClock.Instant, resume: inout [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)]) -> (Int, Int64)? {
        let dead = g.members.values.filter { $0.waiter == nil && now - $0.lastSeen > .milliseconds($0.sessionTimeoutMs) }
        guard !dead.isEmpty else { return nil }
        for m in dead { g.members[m.memberId] = nil }
        return _membershipChanged(&g, groupId: groupId, resume: &resume)
    }

    /// Completes the round when every member has rejoined: runs the assignor, bumps the
    /// generation and answers every waiting join.
    func _completeIfReady(_ g: inout _Group, groupId: String, resume: inout [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)]) {
        guard g.state == .preparingRebalance, !g.members.isEmpty, g.members.values.allSatisfy(\.joined) else { return }
        let ids = g.members.keys.sorted()
        // The first strategy (in the leader's order) that every member supports.
        if g.leaderId == nil || g.members[g.leaderId!] == nil { g.leaderId = ids.first }
        let leader = g.members[g.leaderId!]!
        let common = leader.protocols.filter { p in g.members.values.allSatisfy { $0.protocols.contains(p) } }
        let proto = common.first ?? leader.protocols[0]
        g.protocolName = proto
        var topics: [String: Int] = [:]
        for t in Set(g.members.values.flatMap(\.topics)) {
            if let n = try? directory.partitionCount(t) { topics[t] = n }
        }
        let input = ids.map { id in
            let m = g.members[id]!
            return AssignorMember(memberId: id, groupInstanceId: m.instanceId, topics: m.topics, ownedPartitions: m.owned)
        }
        var target = PartitionAssignors.assign(proto, members: input, partitionsPerTopic: topics)
        if proto == .cooperativeSticky {
            // Incremental: a partition still owned by another member is withheld this round;
            // its owner revokes it and rejoins, and the next round hands it over.
            var owner: [TopicPartition: String] = [:]
            for id in ids { for tp in g.members[id]!.owned where owner[tp] == nil { owner[tp] = id } }
            for id in ids {
                target[id] = target[id]!.filter { tp in owner[tp] == nil || owner[tp] == id }
            }
        }
        g.generation += 1
        g.state = .stable
        let generation = g.generation
        _history._withLock { $0[groupId, default: []].append((generation, target)) }
        for id in ids {
            g.members[id]!.assignment = target[id] ?? []
            g.members[id]!.joined = false
            if let w = g.members[id]!.waiter {
                g.members[id]!.waiter = nil
                resume.append((w, .success(JoinGroupResponse(generationId: g.generation, memberId: id, leaderId: g.leaderId!,
                                                              protocolName: proto, members: ids))))
            }
            g.members[id]!.lastSeen = .now
        }
    }

    /// Watches a rebalance round: expires members whose session times out meanwhile (checking
    /// every half of the shortest `session.timeout.ms`), and at the rebalance timeout removes
    /// the members that did not rejoin.
    func _scheduleRebalanceTimeout(_ groupId: String, round: Int, afterMs: Int64) {
        Task { [weak self] in
            let deadline = ContinuousClock.now + .milliseconds(afterMs)
            while ContinuousClock.now < deadline {
                let session = self?.groups._withLock { $0[groupId]?.members.values.map(\.sessionTimeoutMs).min() } ?? nil
                let step = Duration.milliseconds(max(5, (session ?? afterMs) / 2))
                try? await Task.sleep(until: min(deadline, ContinuousClock.now + step), clock: .continuous)
                guard let self, self._tick(groupId, round: round) else { return }
            }
            self?._rebalanceTimedOut(groupId, round: round)
        }
    }

    /// Session expiry during a round; false once the round is over.
    func _tick(_ groupId: String, round: Int) -> Bool {
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        let going = groups._withLock { all -> Bool in
            guard var g = all[groupId], g.round == round, g.state == .preparingRebalance else { return false }
            defer { all[groupId] = g }
            _expire(&g, groupId: groupId, now: .now, resume: &resume)
            _completeIfReady(&g, groupId: groupId, resume: &resume)
            return g.round == round && g.state == .preparingRebalance
        }
        for (w, r) in resume { w.resume(returning: r) }
        return going
    }

    /// Members that did not rejoin within the rebalance timeout are removed.
    func _rebalanceTimedOut(_ groupId: String, round: Int) {
        var resume: [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)] = []
        groups._withLock { all in
            guard var g = all[groupId], g.round == round, g.state == .preparingRebalance else { return }
            defer { all[groupId] = g }
            for m in g.members.values where !m.joined { g.members[m.memberId] = nil }
            if g.members.isEmpty { g.state = .empty; g.leaderId = nil; return }
            _completeIfReady(&g, groupId: groupId, resume: &resume)
        }
        for (w, r) in resume { w.resume(returning: r) }
    }

    // MARK: - Offsets

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
            timer = _expire(&g, groupId: groupId, now: .now, resume: &resume)
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
