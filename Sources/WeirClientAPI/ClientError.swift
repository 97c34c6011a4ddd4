public import WeirLog

/// An error from any client API (producer, consumer, admin, transactions, the group coordinator
/// and the offsets store): a stable `code`, a message that says what happened and what to do, and
/// whether retrying the same call can succeed.
public struct ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable; match on it, not on the message.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration key is unknown, or its value is malformed or out of range. `key`
        /// names the property.
        public static let invalidConfig = Code("invalidConfig")
        /// A topic name breaks Kafka's rules, or a partition count is out of range.
        public static let invalidTopic = Code("invalidTopic")
        public static let topicAlreadyExists = Code("topicAlreadyExists")
        /// The topic or partition does not exist (and `allow.auto.create.topics` is false).
        public static let unknownTopicOrPartition = Code("unknownTopicOrPartition")
        /// A record is larger than `max.request.size` or the topic's `max.message.bytes`.
        public static let recordTooLarge = Code("recordTooLarge")
        /// `buffer.memory` stayed full for `max.block.ms` (Kafka's `TimeoutException` from `send`).
        public static let bufferExhausted = Code("bufferExhausted")
        /// A record was not acknowledged within `delivery.timeout.ms`.
        public static let deliveryTimeout = Code("deliveryTimeout")
        /// The producer is closed.
        public static let producerClosed = Code("producerClosed")
        /// A newer producer with the same `transactional.id` (or a transaction timeout) bumped
        /// the epoch; this producer cannot continue. Close it.
        public static let producerFenced = Code("producerFenced")
        /// The log rejected a batch's sequence number (a gap or reordering).
        public static let outOfOrderSequenceNumber = Code("outOfOrderSequenceNumber")
        /// A transactional call in the wrong state (e.g. `send` outside `beginTransaction`).
        public static let invalidTransactionState = Code("invalidTransactionState")
        /// The transaction ran longer than `transaction.timeout.ms` and was aborted.
        public static let transactionTimedOut = Code("transactionTimedOut")
        /// No committed offset and `auto.offset.reset=none` (Kafka's `NoOffsetForPartitionException`),
        /// or an out-of-range position with `auto.offset.reset=none` (`OffsetOutOfRangeException`).
        public static let noOffset = Code("noOffset")
        /// A call in the wrong state (Kafka's `IllegalStateException`), e.g. `seek` on a partition
        /// this consumer does not own, or `assign` while subscribed.
        public static let invalidState = Code("invalidState")
        /// The same code as `invalidState`, under the name of Kafka's `IllegalStateException`.
        public static let illegalState = invalidState
        /// The client, or the log directory it works on, is closed: create a new client (on a
        /// reopened log directory). A producer's own close is `.producerClosed`.
        public static let closed = Code("closed")
        /// The same code as `closed`: the consumer (or the log directory it reads) is closed.
        public static let consumerClosed = closed
        /// The member is no longer part of the group's current generation (Kafka's
        /// `CommitFailedException` / `ILLEGAL_GENERATION` / `UNKNOWN_MEMBER_ID`): poll to rejoin,
        /// then commit again.
        public static let rebalanceInProgress = Code("rebalanceInProgress")
        /// The group has active members (for `resetOffsets`), or is not empty.
        public static let groupNotEmpty = Code("groupNotEmpty")
        /// The group does not exist.
        public static let groupIdNotFound = Code("groupIdNotFound")
        /// A batch or record could not be decoded (a CRC mismatch, an unknown codec, a truncated
        /// record); the log is damaged.
        public static let corruptRecord = Code("corruptRecord")
        /// The principal may not perform the operation (an ACL denies it, or none allows it).
        public static let authorizationFailed = Code("authorizationFailed")
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

    /// Maps a log error to the client's codes: `offsetOutOfRange` is `.noOffset`, a closed log
    /// `.closed`; codes with no client counterpart (`io`, `noSpace`, `corruptState`, …) are `.log`.
    public init(_ error: LogError) {
        let code: Code = switch error.code {
        case .invalidConfig: .invalidConfig
        case .invalidTopic: .invalidTopic
        case .topicAlreadyExists: .topicAlreadyExists
        case .unknownTopicOrPartition: .unknownTopicOrPartition
        case .recordBatchTooLarge: .recordTooLarge
        case .invalidProducerEpoch: .producerFenced
        case .outOfOrderSequenceNumber: .outOfOrderSequenceNumber
        case .offsetOutOfRange: .noOffset
        case .corruptRecord: .corruptRecord
        case .closed: .closed
        case .cancelled: .cancelled
        default: .log
        }
        self.init(code, error.message, isRetriable: error.isRetriable, logError: error)
    }

    public var description: String { "\(code): \(message)" }

    /// An `.invalidConfig` error for `key`.
    package static func config(_ key: String, _ message: String) -> ClientError {
        ClientError(.invalidConfig, message, key: key)
    }
}
