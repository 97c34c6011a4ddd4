public import WeirClient
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

/// The committed offsets of the embedded log's groups (`GroupCoordinator.shared(for:)`).
///
/// A log directory is owned by one process, so this sees the groups of the process that opened
/// `logDirectory` — the application itself, or a tool that opened the directory after the
/// application stopped.
public struct EmbeddedGroupOffsets: ConsumerGroupOffsets {
    public let logDirectory: LogDirectory

    public init(logDirectory: LogDirectory) { self.logDirectory = logDirectory }

    public func committedOffsets(group: String) async throws(ClientError) -> [TopicPartition: Int64] {
        GroupCoordinator.shared(for: logDirectory).committedOffsets(groupId: group).mapValues(\.offset)
    }

    public func memberCount(group: String) async -> Int? {
        GroupCoordinator.shared(for: logDirectory).describeGroup(group).members.count
    }
}
