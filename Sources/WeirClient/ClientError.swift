public import WeirLog

/// An error from the producer, admin or transaction API: a stable `code`, a message that says
/// what happened and what to do, and whether retrying the same call can succeed.
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

    /// Maps a log error to the client's codes.
    public init(_ error: LogError) {
        let code: Code = switch error.code {
        case .invalidConfig: .invalidConfig
        case .invalidTopic: .invalidTopic
        case .topicAlreadyExists: .topicAlreadyExists
        case .unknownTopicOrPartition: .unknownTopicOrPartition
        case .recordBatchTooLarge: .recordTooLarge
        case .invalidProducerEpoch: .producerFenced
        case .outOfOrderSequenceNumber: .outOfOrderSequenceNumber
        case .cancelled: .cancelled
        default: .log
        }
        self.init(code, error.message, isRetriable: error.isRetriable, logError: error)
    }

    public var description: String { "\(code): \(message)" }

    static func config(_ key: String, _ message: String) -> ClientError {
        ClientError(.invalidConfig, message, key: key)
    }
}
