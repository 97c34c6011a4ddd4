import WeirLog
import Foundation
import Synchronization
import WeirFormat

// Group membership: join and rejoin, heartbeats, leaving.
extension Consumer {
    func _subscribedTopics() -> Set<String>? {
        let (sub, refreshed, cached) = _state._withLock { ($0.subscription, $0.patternRefreshed, $0.patternTopics) }
        switch sub {
        case .topics(let t):
            return Set(t.filter { logDirectory.topicNames.contains($0) })
        case .pattern(let p):
            if let r = refreshed, monotonicNanos() < r &+ UInt64(max(0, configuration.metadataMaxAgeMs)) * 1_000_000 { return cached }
            guard let regex = try? Regex(p) else { return [] }
            let topics = Set(logDirectory.topicNames.filter { !$0.hasPrefix("__") && (try? regex.wholeMatch(in: $0)) != nil && _mayRead($0) })
            _state._withLock { $0.patternTopics = topics; $0.patternRefreshed = monotonicNanos() }
            return topics
        default:
            return nil
        }
    }

    /// Joins or rejoins the group when needed, calling the rebalance listener.
    func _maintainGroup() async throws(ClientError) {
        guard let groupId = configuration.groupId, let topics = _subscribedTopics() else { return }
        if _state._withLock({ $0.closing }) { throw Self._closedError }
        let (memberId, joined, listener, owned, proto, generation) = _state._withLock { st in
            (st.memberId, st.joinedTopics, st.listener, st.order, st.protocolName, st.generation)
        }
        let lost = _memberLost.exchange(false, ordering: .acquiringAndReleasing)
        guard memberId == nil || lost || _rejoinRequested(generation) || topics != joined else { return }
        // The whole rejoin, listener calls included, is one activity: `close()` waits for it
        // rather than revoking and leaving halfway through.
        guard _beginActivity() else { throw Self._closedError }
        defer { _endActivity() }
        var currentMember = memberId
        if lost {
            if !owned.isEmpty { await listener?.onPartitionsLost(owned, consumer: self) }
            _state._withLock { st in
                st.partitions = [:]
                st.order = []
                st.memberId = nil
            }
            currentMember = nil
        } else if (proto ?? configuration.partitionAssignmentStrategy[0]) != .cooperativeSticky && !owned.isEmpty {
            _commitBeforeRevoke(owned)
            await listener?.onPartitionsRevoked(owned, consumer: self)
            _state._withLock { st in
                st.partitions = [:]
                st.order = []
            }
        }
        _joining.store(true, ordering: .releasing)
        defer { _joining.store(false, ordering: .releasing) }
        var attempts = 0
        var response: JoinGroupResponse
        var assignment: [TopicPartition]
        while true {
            attempts += 1
            let ownedNow = _state._withLock { $0.order }
            var request = JoinGroupRequest(groupId: groupId, memberId: currentMember ?? "", groupInstanceId: configuration.groupInstanceId,
                                           clientId: configuration.clientId, topics: topics, protocols: configuration.partitionAssignmentStrategy,
                                           sessionTimeoutMs: configuration.sessionTimeoutMs, rebalanceTimeoutMs: configuration.maxPollIntervalMs,
                                           ownedPartitions: ownedNow)
            request._joinToken = Self._joinTokens.wrappingAdd(1, ordering: .relaxed).newValue
            _joinToken.store(request._joinToken, ordering: .releasing)
            defer { _joinToken.store(0, ordering: .releasing) }
            if _state._withLock({ $0.closing }) { throw Self._closedError }
            do {
                response = try await coordinator.joinGroup(request)
                // From here on this consumer is that member: a retry after a failed sync must
                // rejoin under the same id, or the group would wait a whole rebalance timeout
                // for the orphaned member (several members joining at once hit this).
                currentMember = response.memberId
                assignment = try coordinator.syncGroup(groupId: groupId, memberId: response.memberId, generationId: response.generationId)
                break
            } catch where error.code == .rebalanceInProgress && attempts < 100 {
                if _state._withLock({ $0.closing }) { throw Self._closedError }
                if coordinator.heartbeat(groupId: groupId, memberId: currentMember ?? "", generationId: -1) == .unknownMember {
                    currentMember = nil
                }
                if Task.isCancelled { throw ClientError(.cancelled, "joining group \(groupId) was cancelled.") }
                continue
            }
        }
        let new = Set(assignment)
        var logs: [TopicPartition: PartitionLog] = [:]
        for tp in new { logs[tp] = try? logDirectory.partition(tp) }
        let installed = _state._withLock { st -> ([TopicPartition], [TopicPartition])? in
            st.memberId = response.memberId
            // Closing: keep the member id (close leaves the group with it), take nothing.
            if st.closing { return nil }
            st.generation = response.generationId
            st.protocolName = response.protocolName
            st.joinedTopics = topics
            let old = Set(st.order)
            return (old.subtracting(new).sorted(), new.subtracting(old).sorted())
        }
        guard let (revoked, added) = installed else { throw Self._closedError }
        if !revoked.isEmpty {
            _commitBeforeRevoke(revoked)
            await listener?.onPartitionsRevoked(revoked, consumer: self)
            // Incremental protocol: the revoked partitions go to their new owner in the next round.
            if response.protocolName == .cooperativeSticky { _requestRejoin(generation: response.generationId) }
        }
        _state._withLock { st in
            for tp in revoked { st.partitions[tp] = nil; st.lastCommitted[tp] = nil }
            for tp in added { if let log = logs[tp] { st.partitions[tp] = _Partition(log: log) } }
            st.order = st.partitions.keys.sorted()
            st.epochCounter += 1
        }
        _revision.add(1, ordering: .releasing)
        let weak = _WeakConsumer(self)
        coordinator._onRebalance(groupId: groupId, memberId: response.memberId) { generation in
            guard let c = weak.value else { return }
            c._requestRejoin(generation: generation)
            c._threadWaiter.wake()
        }
        await listener?.onPartitionsAssigned(added, consumer: self)
        _startHeartbeat()
    }

    /// Starts the heartbeat thread (Kafka's consumer heartbeat thread): a dedicated thread, so
    /// that handlers keeping the cooperative pool busy do not make the session time out — only
    /// `max.poll.interval.ms` judges the processing loop.
    func _startHeartbeat() {
        guard !_heartbeatRunning.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let generation = _heartbeatGeneration.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        let weak = _WeakConsumer(self)
        let interval = Double(configuration.heartbeatIntervalMs) / 1000
        let thread = Thread {
            while true {
                do {
                    guard let c = weak.value, c._heartbeatGeneration.load(ordering: .acquiring) == generation, c._heartbeatOnce() else { return }
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "weir.consumer.heartbeat"
        thread.start()
    }

    func _stopHeartbeat() {
        _heartbeatGeneration.wrappingAdd(1, ordering: .acquiringAndReleasing)
        _heartbeatRunning.store(false, ordering: .releasing)
    }

    final class _WeakConsumer: @unchecked Sendable {
        weak var value: Consumer?
        init(_ c: Consumer) { value = c }
    }

    /// One heartbeat; false when the loop should stop.
    func _heartbeatOnce() -> Bool {
        guard let groupId = configuration.groupId else { return false }
        let (closed, memberId, generation) = _state._withLock { ($0.closed, $0.memberId, $0.generation) }
        if closed { return false }
        guard let memberId, !_joining.load(ordering: .acquiring) else { return true }
        let sincePoll = _monotonicNanos() - _lastPoll.load(ordering: .relaxed)
        if sincePoll > configuration.maxPollIntervalMs * 1_000_000 {
            // Kafka: the member leaves so the group can move on; the next poll rejoins.
            coordinator.leaveGroup(groupId: groupId, memberId: memberId)
            _state._withLock { if $0.memberId == memberId { $0.memberId = nil } }
            _memberLost.store(true, ordering: .releasing)
            return true
        }
        switch coordinator.heartbeat(groupId: groupId, memberId: memberId, generationId: generation) {
        case .ok: break
        case .rebalanceInProgress, .illegalGeneration:
            _requestRejoin(generation: generation)
            _threadWaiter.wake()
        case .unknownMember:
            // Only when the answer is about the member this consumer still is (a rejoin under a
            // new id may have happened since the heartbeat was sent).
            if _state._withLock({ $0.memberId == memberId }) {
                _memberLost.store(true, ordering: .releasing)
                _threadWaiter.wake()
            }
        }
        return true
    }

    /// Asks for a rejoin, learned in `generation` (kept if a later one is already recorded).
    func _requestRejoin(generation: Int32) {
        var current = _rejoinGeneration.load(ordering: .acquiring)
        while current < generation {
            let (exchanged, original) = _rejoinGeneration.compareExchange(expected: current, desired: generation, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// Whether a rejoin was requested in the member's current `generation` (or later).
    /// The member id and generation of the last completed join, and whether a rejoin is under
    /// way or requested (Kafka's `groupMetadata()` plus the rebalance state).
    public func groupMembership() -> GroupMembership {
        let (memberId, generation) = _state._withLock { ($0.memberId, $0.generation) }
        let rebalancing = _joining.load(ordering: .acquiring) || _memberLost.load(ordering: .acquiring) || _rejoinRequested(generation)
        return GroupMembership(memberId: memberId ?? "", generation: generation, rebalancing: rebalancing)
    }

    func _rejoinRequested(_ generation: Int32) -> Bool {
        let r = _rejoinGeneration.load(ordering: .acquiring)
        return r >= 0 && r >= generation
    }

    /// Sends a heartbeat now (KafkaJS's `heartbeat()` inside a long handler).
    public func heartbeat() {
        _ = _heartbeatOnce()
    }

    func _leaveGroup(callListener: Bool) async {
        defer { _revision.add(1, ordering: .releasing) }
        let (memberId, owned, listener) = _state._withLock { ($0.memberId, $0.order, $0.listener) }
        guard let groupId = configuration.groupId else { return }
        if _state._withLock({ $0.subscription == .assigned }) {
            if configuration.enableAutoCommit { try? commit() }
            return
        }
        guard let memberId else { return }
        _commitBeforeRevoke(owned)
        if callListener && !owned.isEmpty { await listener?.onPartitionsRevoked(owned, consumer: self) }
        _stopHeartbeat()
        // A static member does not leave: a restart within session.timeout.ms keeps its partitions.
        if configuration.groupInstanceId == nil { coordinator.leaveGroup(groupId: groupId, memberId: memberId) }
        _state._withLock { st in
            st.memberId = nil
            st.partitions = [:]
            st.order = []
        }
    }
}
