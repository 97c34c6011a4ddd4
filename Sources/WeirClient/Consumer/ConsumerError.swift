public import WeirLog

/// An error from the consumer, the group coordinator or the offsets store: a stable `code`, a
/// message that says what happened and what to do, and whether retrying the same call can succeed.
public struct ConsumerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable; match on it, not on the message.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration key is unknown, or its value is malformed or out of range (`key`).
        public static let invalidConfig = Code("invalidConfig")
        /// A topic or partition does not exist.
        public static let unknownTopicOrPartition = Code("unknownTopicOrPartition")
        /// No committed offset and `auto.offset.reset=none` (Kafka's `NoOffsetForPartitionException`),
        /// or an out-of-range position with `auto.offset.reset=none`
        /// (`OffsetOutOfRangeException`).
        public static let noOffset = Code("noOffset")
        /// A call that needs an assignment or a subscription (e.g. `seek` on a partition this
        /// consumer does not own).
        public static let illegalState = Code("illegalState")
        /// The consumer is closed.
        public static let consumerClosed = Code("consumerClosed")
        /// The member is no longer part of the group's current generation (Kafka's
        /// `CommitFailedException` / `ILLEGAL_GENERATION` / `UNKNOWN_MEMBER_ID`): rejoin.
        public static let rebalanceInProgress = Code("rebalanceInProgress")
        /// The group has active members (for `resetOffsets`), or is not empty.
        public static let groupNotEmpty = Code("groupNotEmpty")
        /// The group does not exist.
        public static let groupIdNotFound = Code("groupIdNotFound")
        /// A batch could not be decoded.
        public static let corruptRecord = Code("corruptRecord")
        /// The call was cancelled.
        public static let cancelled = Code("cancelled")
        /// The log failed (see `logError`).
        public static let log = Code("log")
    }

    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// Whether the same call may succeed if retried later.
    public var isRetriable: Bool
    /// The configuration property concerned, for `.invalidConfig`.
    public var key: String?
    /// The underlying log error, when there is one.
    public var logError: LogError?

    public init(_ code: Code, _ message: String, isRetriable: Bool = false, key: String? = nil, logError: LogError? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.key = key
        self.logError = logError
    }

    /// Maps a log error to the consumer's codes.
    public init(_ error: LogError) {
        let code: Code = switch error.code {
        case .invalidConfig: .invalidConfig
        case .unknownTopicOrPartition: .unknownTopicOrPartition
        case .offsetOutOfRange: .noOffset
        case .corruptRecord: .corruptRecord
        case .cancelled: .cancelled
        case .closed: .consumerClosed
        default: .log
        }
        self.init(code, error.message, isRetriable: error.isRetriable, logError: error)
    }

    /// Maps a producer/admin error (e.g. from creating `__consumer_offsets`).
    public init(_ error: ClientError) {
        let code: Code = switch error.code {
        case .invalidConfig: .invalidConfig
        case .unknownTopicOrPartition: .unknownTopicOrPartition
        case .cancelled: .cancelled
        default: .log
        }
        self.init(code, error.message, isRetriable: error.isRetriable, key: error.key, logError: error.logError)
    }

    public var description: String { "\(code): \(message)" }

    static func config(_ key: String, _ message: String) -> ConsumerError {
        ConsumerError(.invalidConfig, message, key: key)
    }
}
