import CRdKafka
import Synchronization
import WeirClientAPI

/// A topic to create.
public struct KafkaNewTopic: Sendable, Equatable {
    public var name: String
    public var partitions: Int
    /// -1 for the broker's `default.replication.factor`.
    public var replicationFactor: Int
    /// Topic properties (`retention.ms`, `cleanup.policy`, `min.insync.replicas`, …).
    public var config: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = -1, config: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
    }
}

/// A consumer group as `rd_kafka_list_groups` (DescribeGroups) reports it.
public struct KafkaGroupDescription: Sendable, Equatable, Codable {
    public var group: String
    public var state: String
    public var protocolType: String
    /// The assignor in use (`range`, `roundrobin`, `cooperative-sticky`, …).
    public var assignor: String
    public var members: [String]
    /// The coordinator that answered.
    public var coordinator: Int32
}

/// The lag of one partition for a group.
public struct KafkaPartitionLag: Sendable, Equatable, Codable {
    public var partition: KafkaTopicPartition
    /// The group's committed offset, nil when it has none.
    public var committed: Int64?
    public var lowWatermark: Int64
    public var highWatermark: Int64
    /// `highWatermark - committed` (or `- lowWatermark` when nothing is committed).
    public var lag: Int64
}

/// Cluster administration through librdkafka: create and delete topics (Admin API), metadata,
/// offsets (`rd_kafka_query_watermark_offsets`), groups (`rd_kafka_list_groups`) and lag.
///
/// Every call blocks up to its timeout on a thread of its own, never on Swift's cooperative pool.
///
/// `@unchecked Sendable`: the librdkafka handle is thread-safe; nothing else is mutable.
public final class KafkaAdmin: @unchecked Sendable {
    let client: _Client
    let poller: _PollThread
    let configuration: KafkaConfiguration

    /// - Throws: a configuration error naming the property librdkafka rejected.
    public init(configuration: KafkaConfiguration) throws(KafkaError) {
        if let b = configuration.bootstrapServers, b.hasPrefix("mock:") {
            throw .configuration(property: "bootstrap.servers", "'\(b)' names a mock cluster; create a KafkaMockCluster and use its bootstrapServers")
        }
        self.configuration = configuration
        client = try _Client(kind: .producer, properties: configuration.properties, state: _ClientState())
        poller = _PollThread(client: client, name: "weir-kafka-admin-poll")
    }

    deinit { poller.stopRequested.store(true, ordering: .releasing) }

    /// The cluster's metadata: brokers, topics, partitions, cluster id, controller.
    ///
    /// - Throws: `_TRANSPORT`/`_TIMED_OUT` with the last connection error when no broker answers
    ///   within `timeout`.
    public func metadata(topic: String? = nil, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaClusterMetadata {
        let client = self.client
        return try await _blocking { () throws(KafkaError) in try client.metadata(topic: topic, timeout: timeout) }
    }

    /// Creates topics (`rd_kafka_CreateTopics`). With `ignoreExisting`, `TOPIC_ALREADY_EXISTS`
    /// is not an error.
    ///
    /// - Throws: the first topic's error, or the request's.
    public func createTopics(_ topics: [KafkaNewTopic], ignoreExisting: Bool = true, timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let client = self.client
        try await _blocking { () throws(KafkaError) in
            var errstr = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for t in newTopics { rd_kafka_NewTopic_destroy(t) } }
            for t in topics {
                guard let nt = rd_kafka_NewTopic_new(t.name, Int32(t.partitions), Int32(t.replicationFactor), &errstr, errstr.count) else {
                    throw .configuration(property: nil, "topic '\(t.name)': \(_string(errstr))")
                }
                newTopics.append(nt)
                for (k, v) in t.config.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(nt, k, v)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "topic '\(t.name)' config '\(k)'") }
                }
            }
            let event = try Self.run(client, op: RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout: timeout, what: "create topics") { options, queue in
                newTopics.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(client.handle, $0.baseAddress, $0.count, options, queue) }
            }
            defer { rd_kafka_event_destroy(event) }
            var count = 0
            guard let result = rd_kafka_event_CreateTopics_result(event), let list = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for i in 0..<count {
                let tr = list[i]
                let err = rd_kafka_topic_result_error(tr)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR || (ignoreExisting && err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) { continue }
                let name = String(cString: rd_kafka_topic_result_name(tr))
                throw KafkaError(err, context: "create topic '\(name)'", detail: rd_kafka_topic_result_error_string(tr).map { String(cString: $0) })
            }
        }
    }

    /// Waits until every topic in `topics` has at least `partitions` partitions (when given), each
    /// with a leader, polling the metadata every 100 ms up to `timeout`.
    ///
    /// - Throws: `UNKNOWN_TOPIC_OR_PART` naming the topic still without leaders after `timeout`;
    ///   `INVALID_PARTITIONS` when a topic exists with fewer than `partitions` partitions.
    public func waitForLeaders(topics: [String], partitions: Int? = nil, timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let deadline = MonotonicDeadline(after: timeout)
        for name in topics {
            while true {
                let m = try await metadata(topic: name, timeout: .seconds(10))
                if let t = m.topics.first(where: { $0.name == name }), t.error == nil, !t.partitions.isEmpty, t.partitions.allSatisfy({ $0.leader >= 0 }) {
                    if let partitions, t.partitions.count < partitions {
                        throw KafkaError(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS, context: "topic '\(name)'",
                                         detail: "it exists with \(t.partitions.count) partition(s) where \(partitions) are needed; delete it or use another topic name")
                    }
                    break
                }
                if deadline.hasPassed {
                    throw KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, context: "topic '\(name)'",
                                     detail: "no leader for every partition after \(timeout); check the brokers' logs")
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Deletes topics (`rd_kafka_DeleteTopics`); an unknown topic is not an error.
    public func deleteTopics(_ names: [String], timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let client = self.client
        try await _blocking { () throws(KafkaError) in
            var handles: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
            defer { for h in handles { rd_kafka_DeleteTopic_destroy(h) } }
            let event = try Self.run(client, op: RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout: timeout, what: "delete topics") { options, queue in
                handles.withUnsafeMutableBufferPointer { rd_kafka_DeleteTopics(client.handle, $0.baseAddress, $0.count, options, queue) }
            }
            defer { rd_kafka_event_destroy(event) }
            var count = 0
            guard let result = rd_kafka_event_DeleteTopics_result(event), let list = rd_kafka_DeleteTopics_result_topics(result, &count) else { return }
            for i in 0..<count {
                let err = rd_kafka_topic_result_error(list[i])
                if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { continue }
                throw KafkaError(err, context: "delete topic '\(String(cString: rd_kafka_topic_result_name(list[i])))'")
            }
        }
    }

    /// Runs one Admin API request and waits for its result event.
    static func run(_ client: _Client, op: rd_kafka_admin_op_t, timeout: Duration, what: String,
                    _ submit: (OpaquePointer?, OpaquePointer?) -> Void) throws(KafkaError) -> OpaquePointer {
        guard let queue = rd_kafka_queue_new(client.handle) else { throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, context: what) }
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.handle, op)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errstr = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.milliseconds, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.milliseconds, &errstr, errstr.count)
        submit(options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeout.milliseconds &+ 5_000) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, context: what, detail: client.detail(RD_KAFKA_RESP_ERR__TIMED_OUT))
        }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            rd_kafka_event_destroy(event)
            throw KafkaError(err, context: what, detail: detail)
        }
        return event
    }

    /// The low and high watermarks of a partition (`rd_kafka_query_watermark_offsets`).
    public func watermarks(topic: String, partition: Int32, timeout: Duration = .seconds(10)) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let client = self.client
        return try await _blocking { () throws(KafkaError) in try Self.watermarks(client, topic: topic, partition: partition, timeout: timeout) }
    }

    static func watermarks(_ client: _Client, topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, timeout.milliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, context: "watermarks of \(topic)-\(partition)", detail: client.detail(err))
        }
        return (low, high)
    }

    /// The high watermark (end offset) of every partition of `topic`.
    public func endOffsets(topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let meta = try await metadata(topic: topic, timeout: timeout)
        guard let t = meta.topics.first(where: { $0.name == topic }) else { return [:] }
        if let e = t.error { throw e }
        let client = self.client
        return try await _blocking { () throws(KafkaError) in
            var out: [KafkaTopicPartition: Int64] = [:]
            for p in t.partitions {
                out[KafkaTopicPartition(topic: topic, partition: p.id)] = try Self.watermarks(client, topic: topic, partition: p.id, timeout: timeout).high
            }
            return out
        }
    }

    /// Describes consumer groups (`rd_kafka_list_groups`, Kafka's ListGroups + DescribeGroups);
    /// all groups when `group` is nil.
    public func describeGroups(_ group: String? = nil, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaGroupDescription] {
        let client = self.client
        return try await _blocking { () throws(KafkaError) in
            var list: UnsafePointer<rd_kafka_group_list>?
            let err = rd_kafka_list_groups(client.handle, group, &list, timeout.milliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
                throw KafkaError(err, context: "describe groups", detail: client.detail(err))
            }
            defer { rd_kafka_group_list_destroy(list) }
            var out: [KafkaGroupDescription] = []
            for i in 0..<Int(list.pointee.group_cnt) {
                let g = list.pointee.groups[i]
                if g.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(g.err, context: "describe group '\(String(cString: g.group))'") }
                var members: [String] = []
                for j in 0..<Int(g.member_cnt) { members.append(String(cString: g.members[j].member_id)) }
                out.append(KafkaGroupDescription(group: String(cString: g.group), state: String(cString: g.state),
                                                 protocolType: String(cString: g.protocol_type), assignor: String(cString: g.protocol),
                                                 members: members, coordinator: g.broker.id))
            }
            return out
        }
    }

    /// The lag of `group` on every partition of `topic`: end offset minus committed offset
    /// (OffsetFetch through a consumer handle that does not join the group).
    public func lag(group: String, topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaPartitionLag] {
        let meta = try await metadata(topic: topic, timeout: timeout)
        guard let t = meta.topics.first(where: { $0.name == topic }) else { return [] }
        if let e = t.error { throw e }
        let reader = try KafkaConsumer(configuration: configuration, groupID: group)
        let partitions = t.partitions.map { KafkaTopicPartition(topic: topic, partition: $0.id) }
        let client = self.client
        let result = try await _blocking { () throws(KafkaError) -> [KafkaPartitionLag] in
            defer { reader.closeBlocking() }
            let committed = try reader.committed(partitions, timeout: timeout)
            return try partitions.map { (tp) throws(KafkaError) -> KafkaPartitionLag in
                let w = try Self.watermarks(client, topic: topic, partition: tp.partition, timeout: timeout)
                let c = committed[tp]
                return KafkaPartitionLag(partition: tp, committed: c, lowWatermark: w.low, highWatermark: w.high, lag: w.high - (c ?? w.low))
            }
        }
        return result
    }
}
