public import WeirLog

/// Where a lag monitor reads a consumer group's committed offsets: the embedded log's group
/// coordinator (`EmbeddedGroupOffsets`) or, on Kafka, the admin client's
/// `listConsumerGroupOffsets` (a WeirKafka conformance).
public protocol ConsumerGroupOffsets: Sendable {
    /// The group's committed offsets (the next offset to read), per partition.
    func committedOffsets(group: String) async throws(ClientError) -> [TopicPartition: Int64]
    /// The number of active members of the group, when the backend knows it.
    func memberCount(group: String) async -> Int?
}

extension ConsumerGroupOffsets {
    public func memberCount(group: String) async -> Int? { nil }
}
