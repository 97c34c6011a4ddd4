import CRdKafka
public import WeirClientAPI

extension KafkaAdmin {
    /// The committed offsets of `group` (Kafka's `AdminClient.listConsumerGroupOffsets`, an
    /// OffsetFetch through `rd_kafka_ListConsumerGroupOffsets`): the next offset the group reads,
    /// per partition, for `partitions` or (nil) every partition the group committed. Works
    /// whether or not the group has active members; an unknown group has no offsets.
    ///
    /// - Throws: the request's error (no coordinator within `timeout`, not authorized on the
    ///   group, …), or the first partition's error.
    public func committedOffsets(group: String, partitions: [KafkaTopicPartition]? = nil, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let client = self.client
        return try await _blocking { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            let plist = partitions.map { KafkaConsumer.makeList(Dictionary($0.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }) { a, _ in a }) }
            defer { if let plist { rd_kafka_topic_partition_list_destroy(plist) } }
            var request: [OpaquePointer?] = [rd_kafka_ListConsumerGroupOffsets_new(group, plist)]
            defer { rd_kafka_ListConsumerGroupOffsets_destroy_array(&request, request.count) }
            let what = "committed offsets of group '\(group)'"
            let event = try Self.run(client, op: RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout: timeout, what: what) { options, queue in
                request.withUnsafeMutableBufferPointer { rd_kafka_ListConsumerGroupOffsets(client.handle, $0.baseAddress, $0.count, options, queue) }
            }
            defer { rd_kafka_event_destroy(event) }
            var count = 0
            guard let result = rd_kafka_event_ListConsumerGroupOffsets_result(event),
                  let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count) else { return [:] }
            var out: [KafkaTopicPartition: Int64] = [:]
            for i in 0..<count {
                let g = groups[i]
                if let e = rd_kafka_group_result_error(g) {
                    throw KafkaError(rd_kafka_error_code(e), context: what, detail: rd_kafka_error_string(e).map { String(cString: $0) })
                }
                guard let list = rd_kafka_group_result_partitions(g) else { continue }
                for e in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)) {
                    let tp = KafkaTopicPartition(topic: String(cString: e.topic), partition: e.partition)
                    if e.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(e.err, context: "\(what) on \(tp.topic)-\(tp.partition)") }
                    if e.offset >= 0 { out[tp] = e.offset }
                }
            }
            return out
        }
    }
}

/// A Kafka cluster as the source of a lag monitor's committed offsets (`LagMonitor`,
/// `weir lag --backend kafka`).
extension KafkaMessaging: ConsumerGroupOffsets {
    /// The group's committed offsets (`KafkaAdmin.committedOffsets(group:)`, Kafka's
    /// `listConsumerGroupOffsets`), per partition.
    ///
    /// A broker answers a request for all of a group's partitions with every one it has;
    /// librdkafka's mock cluster answers it with none. So an empty answer is checked once more
    /// with every partition of every non-internal topic named.
    public func committedOffsets(group: String) async throws(ClientError) -> [TopicPartition: Int64] {
        var offsets: [KafkaTopicPartition: Int64]
        do {
            offsets = try await admin.committedOffsets(group: group, timeout: requestTimeout)
            if offsets.isEmpty {
                let topics = try await admin.metadata(timeout: requestTimeout).topics.filter { $0.error == nil && !$0.name.hasPrefix("__") }
                let all = topics.flatMap { t in t.partitions.map { KafkaTopicPartition(topic: t.name, partition: $0.id) } }
                if !all.isEmpty { offsets = try await admin.committedOffsets(group: group, partitions: all, timeout: requestTimeout) }
            }
        } catch { throw ClientError(error) }
        return Dictionary(uniqueKeysWithValues: offsets.map { (TopicPartition($0.key.topic, $0.key.partition), $0.value) })
    }

    /// The group's active members (DescribeGroups); nil when the cluster does not answer (the
    /// mock cluster does not implement DescribeGroups).
    public func memberCount(group: String) async -> Int? {
        guard let groups = try? await admin.describeGroups(group, timeout: requestTimeout) else { return nil }
        return groups.first { $0.group == group }?.members.count ?? 0
    }
}
