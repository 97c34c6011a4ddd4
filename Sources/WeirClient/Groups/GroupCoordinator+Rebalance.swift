import WeirLog
import Foundation
import Synchronization

// The rebalance state machine, called with the lock held: rounds, expiry, completion, timeouts.
extension GroupCoordinator {
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
    func _expire(_ g: inout _Group, groupId: String, now: UInt64, resume: inout [(CheckedContinuation<Result<JoinGroupResponse, ClientError>, Never>, Result<JoinGroupResponse, ClientError>)]) -> (Int, Int64)? {
        let dead = g.members.values.filter { $0.waiter == nil && now > $0.lastSeen &+ UInt64(max(0, $0.sessionTimeoutMs)) * 1_000_000 }
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
            g.members[id]!.lastSeen = monotonicNanos()
        }
    }

    /// Watches a rebalance round: expires members whose session times out meanwhile (checking
    /// every half of the shortest `session.timeout.ms`), and at the rebalance timeout removes
    /// the members that did not rejoin.
    func _scheduleRebalanceTimeout(_ groupId: String, round: Int, afterMs: Int64) {
        Task { [weak self] in
            let deadline = MonotonicDeadline(after: .milliseconds(afterMs))
            while !deadline.hasPassed {
                let session = self?.groups._withLock { $0[groupId]?.members.values.map(\.sessionTimeoutMs).min() } ?? nil
                let step = Duration.milliseconds(max(5, (session ?? afterMs) / 2))
                try? await Task.sleep(for: min(deadline.remaining, step))
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
            _expire(&g, groupId: groupId, now: monotonicNanos(), resume: &resume)
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
}
