internal import WeirLog
internal import WeirClient

extension KafkaErrorCode {
    /// The Kafka error code for a log error.
    init(_ e: LogError) {
        switch e.code {
        case .unknownTopicOrPartition: self = .unknownTopicOrPartition
        case .offsetOutOfRange: self = .offsetOutOfRange
        case .corruptRecord: self = .corruptMessage
        case .recordBatchTooLarge: self = .messageTooLarge
        case .invalidTopic: self = .invalidTopicException
        case .topicAlreadyExists: self = .topicAlreadyExists
        case .invalidConfig: self = .invalidConfig
        case .outOfOrderSequenceNumber: self = .outOfOrderSequenceNumber
        case .duplicateSequenceNumber: self = .duplicateSequenceNumber
        case .invalidProducerEpoch: self = .invalidProducerEpoch
        case .noSpace, .io, .corruptState, .closed: self = .kafkaStorageError
        default: self = .unknownServerError
        }
    }

    /// The Kafka error code for a client-layer error (coordinator, offsets, admin, transactions).
    init(_ e: ClientError) {
        if let l = e.logError { self.init(l); return }
        switch e.code {
        case .invalidConfig: self = .invalidConfig
        case .invalidTopic: self = .invalidTopicException
        case .topicAlreadyExists: self = .topicAlreadyExists
        case .unknownTopicOrPartition: self = .unknownTopicOrPartition
        case .recordTooLarge: self = .messageTooLarge
        case .producerFenced: self = .producerFenced
        case .outOfOrderSequenceNumber: self = .outOfOrderSequenceNumber
        case .invalidTransactionState: self = .invalidTxnState
        case .rebalanceInProgress:
            // The coordinator uses one code for "rejoin"; a member it no longer knows must
            // rejoin with an empty member id, which Kafka signals with UNKNOWN_MEMBER_ID.
            self = e.message.contains("is not in group") || e.message.contains("was replaced") ? .unknownMemberId : .rebalanceInProgress
        case .groupNotEmpty: self = .nonEmptyGroup
        case .groupIdNotFound: self = .groupIdNotFound
        case .authorizationFailed: self = .topicAuthorizationFailed
        case .corruptRecord: self = .corruptMessage
        default: self = .unknownServerError
        }
    }
}
