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
        /// `monotonicNanos()` at the member's last join, sync or heartbeat.
        var lastSeen: UInt64
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

    private static let registry = _PerDirectory<GroupCoordinator>()

    /// The coordinator of `directory` (one per open directory).
    public static func shared(for directory: LogDirectory) -> GroupCoordinator {
        registry.value(for: directory) { GroupCoordinator(directory: directory) }
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
        let now = monotonicNanos()
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
        let now = monotonicNanos()
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
}
