// The embedded segment log. See ../shared/ARCHITECTURE.md, "The log core".

/// An error from the log core: a stable `code`, a message that says what happened and what to do,
/// and whether retrying the same call can succeed.
public struct LogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable across releases; match on it, not on the message.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration key is unknown or its value is out of range.
        public static let invalidConfig = Code("invalidConfig")
        /// Another process (or another open in this process) holds the log directory's lock.
        public static let logDirectoryLocked = Code("logDirectoryLocked")
        /// A topic name breaks Kafka's rules, or a partition count is not positive.
        public static let invalidTopic = Code("invalidTopic")
        /// The topic already exists.
        public static let topicAlreadyExists = Code("topicAlreadyExists")
        /// The topic or partition does not exist.
        public static let unknownTopicOrPartition = Code("unknownTopicOrPartition")
        /// The requested offset is below the log-start offset or above the log-end offset.
        public static let offsetOutOfRange = Code("offsetOutOfRange")
        /// The bytes given to `append` are not a valid RecordBatch v2 (size, magic or CRC).
        public static let corruptRecord = Code("corruptRecord")
        /// A batch is larger than `max.message.bytes` or `segment.bytes`.
        public static let recordBatchTooLarge = Code("recordBatchTooLarge")
        /// The disk is full (ENOSPC while preallocating or writing).
        public static let noSpace = Code("noSpace")
        /// A system call failed; the message names it and the errno.
        public static let io = Code("io")
        /// The log or directory has been closed.
        public static let closed = Code("closed")
        /// On-disk state that cannot be used (a corrupt checkpoint or properties file).
        public static let corruptState = Code("corruptState")
        /// The log on disk is damaged where a reader asked: offsets are missing (an emptied or
        /// deleted segment, a segment cut short), or a mapped file was shrunk by another process.
        /// Kafka's `KAFKA_STORAGE_ERROR` / `CORRUPT_MESSAGE` on a fetch.
        public static let corruptLog = Code("corruptLog")
        /// The wait was cancelled.
        public static let cancelled = Code("cancelled")
    }

    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// Whether the same call may succeed if retried later (for example after space is freed).
    public var isRetriable: Bool
    /// The errno of the failed system call, when there was one.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, isRetriable: Bool = false, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.errno = errno
    }

    public var description: String { "\(code): \(message)" }
}
