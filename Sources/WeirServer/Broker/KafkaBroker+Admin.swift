internal import WeirLog
internal import WeirClient

extension KafkaBroker {
    func listGroups(_ req: ListGroupsRequest) -> ListGroupsResponse {
        var resp = ListGroupsResponse()
        for g in coordinator.listGroups() {
            let d = coordinator.describeGroup(g)
            if !req.statesFilter.isEmpty, !req.statesFilter.contains(where: { $0.lowercased() == d.state.rawValue.lowercased() }) { continue }
            var l = ListGroupsResponse.ListedGroup()
            l.groupId = g
            l.protocolType = "consumer"
            l.groupState = d.state.rawValue
            l.groupType = "classic"
            resp.groups.append(l)
        }
        return resp
    }

    func describeGroups(_ req: DescribeGroupsRequest) -> DescribeGroupsResponse {
        var resp = DescribeGroupsResponse()
        for g in req.groups {
            let d = coordinator.describeGroup(g)
            var dg = DescribeGroupsResponse.DescribedGroup()
            dg.groupId = g
            dg.groupState = d.members.isEmpty && d.offsets.isEmpty ? "Dead" : d.state.rawValue
            dg.protocolType = d.members.isEmpty ? "" : "consumer"
            dg.protocolData = d.protocolName ?? ""
            let meta = memberMetadata.withLock { $0[g] ?? [:] }
            dg.members = d.members.map { m in
                var dm = DescribeGroupsResponse.DescribedGroup.DescribedGroupMember()
                dm.memberId = m.memberId
                dm.groupInstanceId = m.groupInstanceId
                dm.clientId = m.clientId
                dm.clientHost = "/127.0.0.1"
                dm.memberMetadata = meta[m.memberId] ?? []
                dm.memberAssignment = Self.assignmentBytes(m.assignment)
                return dm
            }
            resp.groups.append(dg)
        }
        return resp
    }

    func deleteGroups(_ req: DeleteGroupsRequest) -> DeleteGroupsResponse {
        var resp = DeleteGroupsResponse()
        for g in req.groupsNames {
            var r = DeleteGroupsResponse.DeletableGroupResult()
            r.groupId = g
            do throws(ClientError) { try coordinator.deleteGroup(g) } catch { r.errorCode = KafkaErrorCode(error).rawValue }
            resp.results.append(r)
        }
        return resp
    }

    /// DescribeConfigs for topics (resource type 2): the topic's effective configuration, with
    /// overrides marked as dynamic topic configs (source 1) and the rest as defaults (source 5).
    func describeConfigs(_ req: DescribeConfigsRequest) -> DescribeConfigsResponse {
        var resp = DescribeConfigsResponse()
        for res in req.resources {
            var r = DescribeConfigsResponse.DescribeConfigsResult.of(res.resourceType, res.resourceName)
            if res.resourceType == 2 {
                do throws(ClientError) {
                    let d = try admin.describeTopic(res.resourceName)
                    for (k, v) in d.configs.sorted(by: { $0.key < $1.key }) where res.configurationKeys.map({ $0.contains(k) }) ?? true {
                        r.configs.append(Self.configEntry(k, v, source: d.overrides[k] == nil ? 5 : 1, isDefault: d.overrides[k] == nil))
                    }
                } catch {
                    r.errorCode = KafkaErrorCode(error).rawValue
                    r.errorMessage = error.message
                }
            } else if res.resourceType == 4 {
                // Broker configs: the few this broker has.
                let c = config
                for (k, v) in [("auto.create.topics.enable", "\(c.autoCreateTopics)"), ("num.partitions", "\(c.numPartitions)"),
                               ("socket.request.max.bytes", "\(c.socketRequestMaxBytes)"), ("log.dirs", directory.path)]
                    where res.configurationKeys.map({ $0.contains(k) }) ?? true {
                    r.configs.append(Self.configEntry(k, v, source: 4, readOnly: true))
                }
            } else {
                r.errorCode = KafkaErrorCode.invalidRequest.rawValue
                r.errorMessage = "resource type \(res.resourceType) is not served; describe topics (2) or the broker (4)."
            }
            resp.results.append(r)
        }
        return resp
    }

    /// One entry of a DescribeConfigs result (`source`: 1 dynamic topic config, 4 static
    /// broker config, 5 default).
    static func configEntry(_ name: String, _ value: String, source: Int8, isDefault: Bool = false, readOnly: Bool = false)
        -> DescribeConfigsResponse.DescribeConfigsResult.DescribeConfigsResourceResult {
        var e = DescribeConfigsResponse.DescribeConfigsResult.DescribeConfigsResourceResult()
        e.name = name
        e.value = value
        e.isDefault = isDefault
        e.readOnly = readOnly
        e.configSource = source
        e.documentation = nil
        return e
    }

    func alterConfigs(_ req: AlterConfigsRequest) -> AlterConfigsResponse {
        var resp = AlterConfigsResponse()
        resp.responses = req.resources.map { res in
            var set: [String: String] = [:]
            for c in res.configs { if let v = c.value { set[c.name] = v } }
            return alterTopic(res.resourceType, res.resourceName, set, validateOnly: req.validateOnly)
        }
        return resp
    }

    /// IncrementalAlterConfigs: SET (0) only; DELETE/APPEND/SUBTRACT are INVALID_REQUEST.
    func incrementalAlterConfigs(_ req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
        var resp = IncrementalAlterConfigsResponse()
        resp.responses = req.resources.map { res in
            var set: [String: String]? = [:]
            for c in res.configs {
                if c.configOperation == 0, let v = c.value { set?[c.name] = v } else { set = nil }
            }
            return alterTopic(res.resourceType, res.resourceName, set, validateOnly: req.validateOnly)
        }
        return resp
    }

    /// Sets a topic's configs (`set`, nil when the request asked for more than SET) and gives
    /// the resource's result.
    func alterTopic<R: _ConfigResourceResult>(_ type: Int8, _ name: String, _ set: [String: String]?, validateOnly: Bool) -> R {
        guard let set else { return .of(type, name, .invalidRequest, "only SET (0) is supported by weir serve's IncrementalAlterConfigs.") }
        guard type == 2 else { return .of(type, name, .invalidRequest, "only topic configs (resource type 2) can be altered.") }
        if validateOnly { return .of(type, name, directory.topicNames.contains(name) ? .none : .unknownTopicOrPartition) }
        do throws(ClientError) { try admin.alterTopicConfigs(name, set: set) } catch {
            return .of(type, name, KafkaErrorCode(error), error.message)
        }
        return .of(type, name)
    }

    func deleteRecords(_ req: DeleteRecordsRequest) -> DeleteRecordsResponse {
        var resp = DeleteRecordsResponse()
        resp.topics = eachPartition(req.topics) { p, log, rp, _ in
            do throws(LogError) { rp.lowWatermark = try log.deleteRecords(before: p.offset == -1 ? log.highWatermark : p.offset) } catch {
                rp.errorCode = KafkaErrorCode(error).rawValue
            }
        }
        return resp
    }

    /// OffsetForLeaderEpoch: the log has one leader epoch (0), which ends at the log-end offset.
    func offsetForLeaderEpoch(_ req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
        var resp = OffsetForLeaderEpochResponse()
        resp.topics = eachPartition(req.topics) { _, log, e, _ in
            e.leaderEpoch = 0
            e.endOffset = log.highWatermark
        }
        return resp
    }

    func describeCluster(_ req: DescribeClusterRequest) -> DescribeClusterResponse {
        let c = config
        var resp = DescribeClusterResponse()
        resp.clusterId = c.clusterId
        resp.controllerId = c.nodeId
        var b = DescribeClusterResponse.DescribeClusterBroker()
        b.brokerId = c.nodeId
        b.host = c.advertisedHost
        b.port = c.advertisedPort
        resp.brokers = [b]
        return resp
    }

    func createPartitions(_ req: CreatePartitionsRequest) -> CreatePartitionsResponse {
        var resp = CreatePartitionsResponse()
        resp.results = req.topics.map { t in
            var r = CreatePartitionsResponse.CreatePartitionsTopicResult()
            r.name = t.name
            r.errorCode = KafkaErrorCode.invalidPartitions.rawValue
            r.errorMessage = "weir serve cannot add partitions to an existing topic yet; create a new topic with the partition count you need."
            return r
        }
        return resp
    }
}
