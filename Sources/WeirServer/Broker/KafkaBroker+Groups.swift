internal import WeirLog
internal import WeirClient
internal import NIOCore

extension KafkaBroker {
    /// JoinGroup through WeirClient's coordinator. The coordinator assigns partitions itself
    /// (from each member's subscription, with the first strategy all members share), so the
    /// leader's SyncGroup assignment is not needed; the leader still gets every member's
    /// metadata, as Kafka sends it.
    func joinGroup(_ req: JoinGroupRequest, _ ctx: RequestContext) async -> JoinGroupResponse {
        var resp = JoinGroupResponse()
        resp.protocolType = req.protocolType
        resp.memberId = req.memberId
        var strategies: [ConsumerConfiguration.AssignmentStrategy] = []
        for p in req.protocols {
            if let s = ConsumerConfiguration.AssignmentStrategy(rawValue: p.name), !strategies.contains(s) { strategies.append(s) }
        }
        guard req.protocolType == "consumer", !strategies.isEmpty, let first = req.protocols.first else {
            resp.errorCode = KafkaErrorCode.inconsistentGroupProtocol.rawValue
            return resp
        }
        guard !req.groupId.isEmpty else {
            resp.errorCode = KafkaErrorCode.invalidGroupId.rawValue
            return resp
        }
        guard allowed(ctx, .read, .group, req.groupId) else {
            resp.errorCode = KafkaErrorCode.groupAuthorizationFailed.rawValue
            return resp
        }
        let sub = Self.subscription(first.metadata)
        var owned: [TopicPartition] = []
        for tp in sub?.ownedPartitions ?? [] { for p in tp.partitions { owned.append(TopicPartition(tp.topic, p)) } }
        let topics = Set(sub?.topics ?? [])
        for t in topics { ensureTopic(t) }
        let session = Int64(req.sessionTimeoutMs)
        let join = WeirClient.JoinGroupRequest(
            groupId: req.groupId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
            clientId: ctx.clientId ?? "", topics: topics, protocols: strategies, sessionTimeoutMs: session,
            rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? Int64(req.rebalanceTimeoutMs) : session,
            ownedPartitions: owned)
        do throws(ClientError) {
            let j = try await coordinator.joinGroup(join)
            let protocols = Dictionary(req.protocols.map { ($0.name, $0.metadata) }, uniquingKeysWith: { a, _ in a })
            let chosen = protocols[j.protocolName.rawValue] ?? first.metadata
            let all = memberMetadata.withLock { m -> [String: [UInt8]] in
                m[req.groupId, default: [:]][j.memberId] = chosen
                let live = Set(j.members)
                m[req.groupId] = m[req.groupId]!.filter { live.contains($0.key) }
                return m[req.groupId]!
            }
            resp.generationId = j.generationId
            resp.memberId = j.memberId
            resp.leader = j.leaderId
            resp.protocolName = j.protocolName.rawValue
            if j.leaderId == j.memberId {
                resp.members = j.members.map { id in
                    var m = JoinGroupResponse.JoinGroupResponseMember()
                    m.memberId = id
                    m.metadata = all[id] ?? chosen
                    return m
                }
            }
        } catch {
            resp.errorCode = KafkaErrorCode(error).rawValue
        }
        return resp
    }

    static func subscription(_ metadata: [UInt8]) -> ConsumerProtocolSubscription? {
        var r = KafkaReader(ByteBuffer(bytes: metadata))
        guard let v = try? r.readInt16(), v >= 0 else { return nil }
        return try? ConsumerProtocolSubscription(from: &r, version: min(v, ConsumerProtocolSubscription.validVersions.upperBound))
    }

    /// SyncGroup: the member's assignment from the coordinator, as ConsumerProtocolAssignment v0.
    func syncGroup(_ req: SyncGroupRequest) -> SyncGroupResponse {
        var resp = SyncGroupResponse()
        resp.protocolType = req.protocolType
        resp.protocolName = req.protocolName
        do throws(ClientError) {
            let tps = try coordinator.syncGroup(groupId: req.groupId, memberId: req.memberId, generationId: req.generationId)
            resp.assignment = Self.assignmentBytes(tps)
        } catch {
            resp.errorCode = KafkaErrorCode(error).rawValue
        }
        return resp
    }

    func heartbeat(_ req: HeartbeatRequest) -> HeartbeatResponse {
        var resp = HeartbeatResponse()
        let code: KafkaErrorCode = switch coordinator.heartbeat(groupId: req.groupId, memberId: req.memberId, generationId: req.generationId) {
        case .ok: .none
        case .rebalanceInProgress: .rebalanceInProgress
        case .illegalGeneration: .illegalGeneration
        case .unknownMember: .unknownMemberId
        @unknown default: .unknownServerError
        }
        resp.errorCode = code.rawValue
        return resp
    }

    func leaveGroup(_ req: LeaveGroupRequest, version: Int16) -> LeaveGroupResponse {
        var resp = LeaveGroupResponse()
        let ids = version < 3 ? [req.memberId] : req.members.map(\.memberId)
        for id in ids {
            coordinator.leaveGroup(groupId: req.groupId, memberId: id)
            memberMetadata.withLock { _ = $0[req.groupId]?.removeValue(forKey: id) }
        }
        if version >= 3 {
            resp.members = req.members.map { m in
                var r = LeaveGroupResponse.MemberResponse()
                r.memberId = m.memberId
                r.groupInstanceId = m.groupInstanceId
                return r
            }
        }
        return resp
    }

    /// OffsetCommit: a member's commit is checked against its generation by the coordinator;
    /// generation -1 with no member id is a standalone commit.
    func offsetCommit(_ req: OffsetCommitRequest, denied: Bool = false) -> OffsetCommitResponse {
        var offsets: [TopicPartition: OffsetAndMetadata] = [:]
        let now = Self.nowMs()
        for t in req.topics {
            for p in t.partitions {
                offsets[TopicPartition(t.name, p.partitionIndex)] = OffsetAndMetadata(
                    offset: p.committedOffset, metadata: p.committedMetadata ?? "",
                    commitTimestamp: p.commitTimestamp > 0 ? p.commitTimestamp : now, leaderEpoch: p.committedLeaderEpoch)
            }
        }
        var code = KafkaErrorCode.none
        if denied { code = .groupAuthorizationFailed } else { do throws(ClientError) {
            let standalone = req.memberId.isEmpty && req.generationIdOrMemberEpoch < 0
            try coordinator.commitOffsets(groupId: req.groupId, memberId: standalone ? nil : req.memberId,
                                          generationId: req.generationIdOrMemberEpoch, offsets)
        } catch {
            code = KafkaErrorCode(error)
            if code == .rebalanceInProgress { code = .illegalGeneration }
            if code == .nonEmptyGroup { code = .unknownMemberId }
        } }
        var resp = OffsetCommitResponse()
        resp.topics = OffsetCommitResponse.OffsetCommitResponseTopic.each(req.topics.map { (name: $0.name, partitions: $0.partitions.map(\.partitionIndex)) }, code)
        return resp
    }

    /// OffsetFetch: committed offsets (-1 where none), for one group (v0–7) or several (v8+).
    func offsetFetch(_ req: OffsetFetchRequest, version: Int16) -> OffsetFetchResponse {
        func lookup(_ group: String, _ topics: [(String, [Int32])]?) -> [(String, [(Int32, OffsetAndMetadata?)])] {
            let committed = coordinator.committedOffsets(groupId: group)
            if let topics {
                return topics.map { name, parts in (name, parts.map { ($0, committed[TopicPartition(name, $0)]) }) }
            }
            let byTopic = Dictionary(grouping: committed.keys, by: \.topic)
            return byTopic.keys.sorted().map { t in (t, byTopic[t]!.map(\.partition).sorted().map { ($0, committed[TopicPartition(t, $0)]) }) }
        }
        var resp = OffsetFetchResponse()
        if version < 8 {
            resp.topics = lookup(req.groupId, req.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }).map { name, parts in
                var t = OffsetFetchResponse.OffsetFetchResponseTopic()
                t.name = name
                t.partitions = parts.map { .of($0, $1) }
                return t
            }
        } else {
            resp.groups = req.groups.map { g in
                var rg = OffsetFetchResponse.OffsetFetchResponseGroup()
                rg.groupId = g.groupId
                rg.topics = lookup(g.groupId, g.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }).map { name, parts in
                    var t = OffsetFetchResponse.OffsetFetchResponseGroup.OffsetFetchResponseTopics()
                    t.name = name
                    t.partitions = parts.map { .of($0, $1) }
                    return t
                }
                return rg
            }
        }
        return resp
    }
}
