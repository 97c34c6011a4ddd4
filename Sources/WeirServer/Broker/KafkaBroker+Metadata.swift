internal import WeirLog
internal import WeirClient

extension KafkaBroker {
    /// Metadata: this node as every partition's leader, the topics asked for (all when the list
    /// is null, or empty in v0), auto-creating missing ones when allowed.
    func metadata(_ req: MetadataRequest, version: Int16) -> MetadataResponse {
        let c = config
        var resp = MetadataResponse()
        var b = MetadataResponse.MetadataResponseBroker()
        b.nodeId = c.nodeId
        b.host = c.advertisedHost
        b.port = c.advertisedPort
        resp.brokers = [b]
        resp.clusterId = c.clusterId
        resp.controllerId = c.nodeId
        let names: [String]
        if let topics = req.topics, !(version == 0 && topics.isEmpty) {
            names = topics.compactMap(\.name)
        } else {
            names = directory.topicNames.filter { !InternalTopics.isInternal($0) }
        }
        let autoCreate = version < 4 || req.allowAutoTopicCreation
        for name in names {
            var t = MetadataResponse.MetadataResponseTopic()
            t.name = name
            t.topicId = Self.topicId(name)
            t.isInternal = InternalTopics.isInternal(name)
            if !directory.topicNames.contains(name) && !(autoCreate && ensureTopic(name)) {
                t.errorCode = (try? LogDirectory.validateTopicName(name)) == nil ? KafkaErrorCode.invalidTopicException.rawValue
                                                                               : KafkaErrorCode.unknownTopicOrPartition.rawValue
                resp.topics.append(t)
                continue
            }
            let count = (try? directory.partitionCount(name)) ?? 0
            t.partitions = (0..<Int32(count)).map { p in
                var mp = MetadataResponse.MetadataResponseTopic.MetadataResponsePartition()
                mp.partitionIndex = p
                mp.leaderId = c.nodeId
                mp.leaderEpoch = 0
                mp.replicaNodes = [c.nodeId]
                mp.isrNodes = [c.nodeId]
                return mp
            }
            resp.topics.append(t)
        }
        return resp
    }

    /// FindCoordinator: this node coordinates every group and transactional id.
    func findCoordinator(_ req: FindCoordinatorRequest, version: Int16) -> FindCoordinatorResponse {
        let c = config
        var resp = FindCoordinatorResponse()
        resp.errorMessage = nil
        if version < 4 {
            resp.nodeId = c.nodeId
            resp.host = c.advertisedHost
            resp.port = c.advertisedPort
        } else {
            resp.coordinators = req.coordinatorKeys.map { key in
                var co = FindCoordinatorResponse.Coordinator()
                co.key = key
                co.nodeId = c.nodeId
                co.host = c.advertisedHost
                co.port = c.advertisedPort
                co.errorMessage = nil
                return co
            }
        }
        return resp
    }
}
