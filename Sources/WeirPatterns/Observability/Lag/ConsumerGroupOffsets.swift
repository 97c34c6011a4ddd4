public import WeirClient
public import WeirLog

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
