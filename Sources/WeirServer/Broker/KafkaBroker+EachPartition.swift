internal import WeirLog
internal import WeirClient

// The topic-then-partition walk that Produce, Fetch, ListOffsets, DeleteRecords and
// OffsetForLeaderEpoch share, written once: one result a topic and one a partition in request
// order, each partition's index copied, the ACL check and the partition lookup answered with
// their error code, and only the API's own work left to each handler.

/// A topic entry of a topic-then-partition request or response. The generated types name its two
/// fields differently (`name` or `topic`; `partitions`, `partitionData` or
/// `partitionResponses`), so each conformance says which fields they are.
protocol _TopicEntry {
    associatedtype Partition: _PartitionEntry
    init()
    static var nameField: WritableKeyPath<Self, String> { get }
    static var partitionsField: WritableKeyPath<Self, [Partition]> { get }
}

/// A partition entry of a topic-then-partition request or response: its index field (`index`,
/// `partition` or `partitionIndex`).
protocol _PartitionEntry {
    init()
    static var indexField: WritableKeyPath<Self, Int32> { get }
}

/// A partition's result, which carries an error code.
protocol _PartitionResult: _PartitionEntry {
    var errorCode: Int16 { get set }
    /// Makes this the result of a partition that failed before its log was reached (the ACL
    /// check or the lookup): the code, and the API's "no value" fields.
    mutating func fail(_ code: KafkaErrorCode)
}

extension _PartitionResult {
    mutating func fail(_ code: KafkaErrorCode) { errorCode = code.rawValue }
}

extension KafkaBroker {
    /// The result topics for a request's `topics`, one a topic and one a partition in request
    /// order. Each partition result gets the partition's index, then
    /// `topicAuthorizationFailed` when `check` is given and the principal may not do its
    /// operation on the topic, or the lookup's error (`autoCreate` creates a missing topic when
    /// the broker allows it), or else what `body` sets from the partition's log. `body` also gets
    /// the result's place in the response (topic index, partition index).
    func eachPartition<RequestTopic: _TopicEntry, ResponseTopic: _TopicEntry>(
        _ topics: [RequestTopic], check: (ctx: RequestContext, operation: ACLOperation)? = nil, autoCreate: Bool = false,
        _ body: (RequestTopic.Partition, PartitionLog, inout ResponseTopic.Partition, _ place: (topic: Int, partition: Int)) -> Void
    ) -> [ResponseTopic] where ResponseTopic.Partition: _PartitionResult {
        var results: [ResponseTopic] = []
        results.reserveCapacity(topics.count)
        for (ti, t) in topics.enumerated() {
            let name = t[keyPath: RequestTopic.nameField]
            let denied = check.map { !allowed($0.ctx, $0.operation, .topic, name) } ?? false
            var rt = ResponseTopic()
            rt[keyPath: ResponseTopic.nameField] = name
            rt[keyPath: ResponseTopic.partitionsField] = t[keyPath: RequestTopic.partitionsField].enumerated().map { pi, p in
                let index = p[keyPath: RequestTopic.Partition.indexField]
                var rp = ResponseTopic.Partition()
                rp[keyPath: ResponseTopic.Partition.indexField] = index
                if denied {
                    rp.fail(.topicAuthorizationFailed)
                    return rp
                }
                switch partition(name, index, autoCreate: autoCreate) {
                case .failure(let code): rp.fail(code)
                case .success(let log): body(p, log, &rp, (ti, pi))
                }
                return rp
            }
            results.append(rt)
        }
        return results
    }
}

// The generated types' field names.

extension ProduceRequest.TopicProduceData: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.name }
    static var partitionsField: WritableKeyPath<Self, [PartitionProduceData]> { \.partitionData }
}
extension ProduceRequest.TopicProduceData.PartitionProduceData: _PartitionEntry {
    static var indexField: WritableKeyPath<Self, Int32> { \.index }
}
extension ProduceResponse.TopicProduceResponse: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.name }
    static var partitionsField: WritableKeyPath<Self, [PartitionProduceResponse]> { \.partitionResponses }
}
extension ProduceResponse.TopicProduceResponse.PartitionProduceResponse: _PartitionResult {
    static var indexField: WritableKeyPath<Self, Int32> { \.index }
    mutating func fail(_ code: KafkaErrorCode) {
        errorCode = code.rawValue
        baseOffset = -1
    }
}

extension FetchRequest.FetchTopic: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.topic }
    static var partitionsField: WritableKeyPath<Self, [FetchPartition]> { \.partitions }
}
extension FetchRequest.FetchTopic.FetchPartition: _PartitionEntry {
    static var indexField: WritableKeyPath<Self, Int32> { \.partition }
}
extension FetchResponse.FetchableTopicResponse: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.topic }
    static var partitionsField: WritableKeyPath<Self, [PartitionData]> { \.partitions }
}
extension FetchResponse.FetchableTopicResponse.PartitionData: _PartitionResult {
    static var indexField: WritableKeyPath<Self, Int32> { \.partitionIndex }
    mutating func fail(_ code: KafkaErrorCode) {
        errorCode = code.rawValue
        highWatermark = -1
    }
}

extension ListOffsetsRequest.ListOffsetsTopic: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.name }
    static var partitionsField: WritableKeyPath<Self, [ListOffsetsPartition]> { \.partitions }
}
extension ListOffsetsRequest.ListOffsetsTopic.ListOffsetsPartition: _PartitionEntry {
    static var indexField: WritableKeyPath<Self, Int32> { \.partitionIndex }
}
extension ListOffsetsResponse.ListOffsetsTopicResponse: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.name }
    static var partitionsField: WritableKeyPath<Self, [ListOffsetsPartitionResponse]> { \.partitions }
}
extension ListOffsetsResponse.ListOffsetsTopicResponse.ListOffsetsPartitionResponse: _PartitionResult {
    static var indexField: WritableKeyPath<Self, Int32> { \.partitionIndex }
}

extension DeleteRecordsRequest.DeleteRecordsTopic: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.name }
    static var partitionsField: WritableKeyPath<Self, [DeleteRecordsPartition]> { \.partitions }
}
extension DeleteRecordsRequest.DeleteRecordsTopic.DeleteRecordsPartition: _PartitionEntry {
    static var indexField: WritableKeyPath<Self, Int32> { \.partitionIndex }
}
extension DeleteRecordsResponse.DeleteRecordsTopicResult: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.name }
    static var partitionsField: WritableKeyPath<Self, [DeleteRecordsPartitionResult]> { \.partitions }
}
extension DeleteRecordsResponse.DeleteRecordsTopicResult.DeleteRecordsPartitionResult: _PartitionResult {
    static var indexField: WritableKeyPath<Self, Int32> { \.partitionIndex }
}

extension OffsetForLeaderEpochRequest.OffsetForLeaderTopic: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.topic }
    static var partitionsField: WritableKeyPath<Self, [OffsetForLeaderPartition]> { \.partitions }
}
extension OffsetForLeaderEpochRequest.OffsetForLeaderTopic.OffsetForLeaderPartition: _PartitionEntry {
    static var indexField: WritableKeyPath<Self, Int32> { \.partition }
}
extension OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult: _TopicEntry {
    static var nameField: WritableKeyPath<Self, String> { \.topic }
    static var partitionsField: WritableKeyPath<Self, [EpochEndOffset]> { \.partitions }
}
extension OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.EpochEndOffset: _PartitionResult {
    static var indexField: WritableKeyPath<Self, Int32> { \.partition }
}
