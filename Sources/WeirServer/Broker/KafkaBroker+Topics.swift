internal import WeirLog
internal import WeirClient

extension KafkaBroker {
    /// CreateTopics through WeirClient's `Admin` (its validation and configs).
    func createTopics(_ req: CreateTopicsRequest, _ ctx: RequestContext) -> CreateTopicsResponse {
        var resp = CreateTopicsResponse()
        let c = config
        for t in req.topics {
            var r = CreateTopicsResponse.CreatableTopicResult()
            r.name = t.name
            r.errorMessage = nil
            r.configs = nil
            var configs: [String: String] = [:]
            for cfg in t.configs { if let v = cfg.value { configs[cfg.name] = v } }
            let partitions = t.numPartitions == -1 ? (t.assignments.isEmpty ? c.numPartitions : t.assignments.count) : Int(t.numPartitions)
            let topic = NewTopic(name: t.name, partitions: partitions, replicationFactor: t.replicationFactor == -1 ? 1 : Int(t.replicationFactor), configs: configs)
            do throws(ClientError) {
                if let a = authorizer { try a.authorizeCreate(ctx.principal, topic: t.name) }
                if req.validateOnly {
                    if directory.topicNames.contains(t.name) {
                        throw ClientError(.topicAlreadyExists, "topic \(t.name) already exists.")
                    }
                    _ = try Admin.validate(topic, defaults: directory.options.defaultConfig)
                } else {
                    try admin.createTopic(topic)
                }
                r.topicId = Self.topicId(t.name)
                r.numPartitions = Int32(partitions)
                r.replicationFactor = 1
            } catch {
                var code = KafkaErrorCode(error)
                if partitions <= 0 { code = .invalidPartitions }
                if code == .unknownServerError, t.replicationFactor > 1 { code = .invalidReplicationFactor }
                r.errorCode = code.rawValue
                r.errorMessage = error.message
            }
            resp.topics.append(r)
        }
        return resp
    }

    /// DeleteTopics by name (topic ids are derived from names; unknown ids are UNKNOWN_TOPIC_ID).
    func deleteTopics(_ req: DeleteTopicsRequest, version: Int16) -> DeleteTopicsResponse {
        var resp = DeleteTopicsResponse()
        var names: [(String?, KafkaUUID)] = req.topicNames.map { ($0, Self.topicId($0)) }
        for t in req.topics {
            if let n = t.name { names.append((n, Self.topicId(n))) } else {
                names.append((directory.topicNames.first { Self.topicId($0) == t.topicId }, t.topicId))
            }
        }
        for (name, id) in names {
            var r = DeleteTopicsResponse.DeletableTopicResult()
            r.name = name
            r.topicId = id
            if let name {
                do throws(ClientError) { try admin.deleteTopic(name) } catch {
                    r.errorCode = KafkaErrorCode(error).rawValue
                    r.errorMessage = error.message
                }
            } else {
                r.errorCode = KafkaErrorCode.unknownTopicId.rawValue
            }
            resp.responses.append(r)
        }
        return resp
    }
}
