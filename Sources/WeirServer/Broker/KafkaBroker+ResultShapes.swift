internal import WeirLog
internal import WeirClient

// Results that several APIs build the same way, written once over the generated types' shared
// shape: a config resource's result (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs), a
// topic's partitions that all carry one error code (OffsetCommit, TxnOffsetCommit), a committed
// offset (OffsetFetch v0–7 and v8+), and a member's assignment as ConsumerProtocolAssignment v0 bytes (SyncGroup, DescribeGroups).

/// A per-resource result of the config APIs.
protocol _ConfigResourceResult {
    init()
    var resourceType: Int8 { get set }
    var resourceName: String { get set }
    var errorCode: Int16 { get set }
    var errorMessage: String? { get set }
}

extension _ConfigResourceResult {
    /// The result for one resource, with its error (none by default) and message.
    static func of(_ type: Int8, _ name: String, _ code: KafkaErrorCode = .none, _ message: String? = nil) -> Self {
        var r = Self()
        r.resourceType = type
        r.resourceName = name
        r.errorCode = code.rawValue
        r.errorMessage = message
        return r
    }
}

extension DescribeConfigsResponse.DescribeConfigsResult: _ConfigResourceResult {}
extension AlterConfigsResponse.AlterConfigsResourceResponse: _ConfigResourceResult {}
extension IncrementalAlterConfigsResponse.AlterConfigsResourceResponse: _ConfigResourceResult {}

/// A partition's result that is an error code only.
protocol _PartitionCodeResult {
    init()
    var partitionIndex: Int32 { get set }
    var errorCode: Int16 { get set }
}

/// A topic's result made of `_PartitionCodeResult`s.
protocol _TopicCodeResult {
    associatedtype Partition: _PartitionCodeResult
    init()
    var name: String { get set }
    var partitions: [Partition] { get set }
}

extension _TopicCodeResult {
    /// One result a topic, every one of its partitions with `code`.
    static func each(_ topics: [(name: String, partitions: [Int32])], _ code: KafkaErrorCode) -> [Self] {
        topics.map { t in
            var rt = Self()
            rt.name = t.name
            rt.partitions = t.partitions.map { p in
                var rp = Partition()
                rp.partitionIndex = p
                rp.errorCode = code.rawValue
                return rp
            }
            return rt
        }
    }
}

extension OffsetCommitResponse.OffsetCommitResponseTopic.OffsetCommitResponsePartition: _PartitionCodeResult {}
extension OffsetCommitResponse.OffsetCommitResponseTopic: _TopicCodeResult {}
extension TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic.TxnOffsetCommitResponsePartition: _PartitionCodeResult {}
extension TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic: _TopicCodeResult {}

/// A partition's committed offset in an OffsetFetch response (either layout).
protocol _CommittedOffsetResult {
    init()
    var partitionIndex: Int32 { get set }
    var committedOffset: Int64 { get set }
    var committedLeaderEpoch: Int32 { get set }
    var metadata: String? { get set }
}

extension _CommittedOffsetResult {
    /// Partition `partition` with its committed offset, or -1 (and no epoch) when none.
    static func of(_ partition: Int32, _ committed: OffsetAndMetadata?) -> Self {
        var r = Self()
        r.partitionIndex = partition
        r.committedOffset = committed?.offset ?? -1
        r.committedLeaderEpoch = committed?.leaderEpoch ?? -1
        r.metadata = committed?.metadata ?? ""
        return r
    }
}

extension OffsetFetchResponse.OffsetFetchResponseTopic.OffsetFetchResponsePartition: _CommittedOffsetResult {}
extension OffsetFetchResponse.OffsetFetchResponseGroup.OffsetFetchResponseTopics.OffsetFetchResponsePartitions: _CommittedOffsetResult {}

extension KafkaBroker {
    /// `partitions` as ConsumerProtocolAssignment v0 bytes (version prefix included), topics in
    /// name order and partitions ascending.
    static func assignmentBytes(_ partitions: [TopicPartition]) -> [UInt8] {
        var a = ConsumerProtocolAssignment()
        let byTopic = Dictionary(grouping: partitions, by: \.topic)
        a.assignedPartitions = byTopic.keys.sorted().map { t in
            var e = ConsumerProtocolAssignment.TopicPartition()
            e.topic = t
            e.partitions = byTopic[t]!.map(\.partition).sorted()
            return e
        }
        var w = KafkaWriter()
        w.writeInt16(0)
        a.write(to: &w, version: 0)
        return Array(w.buffer.readableBytesView)
    }
}
