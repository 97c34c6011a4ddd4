import CRdKafka
public import WeirClientAPI

extension ClientError.Code {
    /// The Kafka cluster or librdkafka failed in a way no other code names (the brokers are
    /// unreachable, a request timed out, …); the message carries librdkafka's error name and
    /// `isRetriable` tells whether trying again may help.
    public static let kafka = Self("kafka")
}

extension ClientError {
    /// Maps a librdkafka or broker error to the client's closest code, keeping the message
    /// (with librdkafka's error name and code) and `isRetriable`.
    public init(_ error: KafkaError) {
        var retriable = error.isRetriable
        let code: Code
        if error.isConfiguration {
            code = .invalidConfig
        } else {
            switch error.code {
            case Self._unknownTopicCodes: code = .unknownTopicOrPartition
            case Self._authorizationCodes: code = .authorizationFailed
            case Self._rebalanceCodes:
                code = .rebalanceInProgress
                retriable = true
            case Int32(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue): code = .topicAlreadyExists
            case Int32(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION.rawValue), Int32(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS.rawValue),
                 Int32(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR.rawValue): code = .invalidTopic
            case Int32(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue):
                code = .recordTooLarge
            case Int32(RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue): code = .bufferExhausted
            case Int32(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue): code = .deliveryTimeout
            case Int32(RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH.rawValue), Int32(RD_KAFKA_RESP_ERR_PRODUCER_FENCED.rawValue),
                 Int32(RD_KAFKA_RESP_ERR__FENCED.rawValue): code = .producerFenced
            case Int32(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER.rawValue): code = .outOfOrderSequenceNumber
            case Int32(RD_KAFKA_RESP_ERR_INVALID_TXN_STATE.rawValue): code = .invalidTransactionState
            case Int32(RD_KAFKA_RESP_ERR__NO_OFFSET.rawValue): code = .noOffset
            case Int32(RD_KAFKA_RESP_ERR__STATE.rawValue): code = .invalidState
            case Int32(RD_KAFKA_RESP_ERR__DESTROY.rawValue): code = .consumerClosed
            default: code = .kafka
            }
        }
        self.init(code, error.description, isRetriable: retriable, key: error.property)
    }

    static let _unknownTopicCodes: Set<Int32> = [
        Int32(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue), Int32(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue),
        Int32(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue),
    ]
    static let _authorizationCodes: Set<Int32> = [
        Int32(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue), Int32(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED.rawValue),
        Int32(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue), Int32(RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED.rawValue),
        Int32(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue), Int32(RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue),
    ]
    /// The member's generation ended: poll to rejoin, then commit again.
    static let _rebalanceCodes: Set<Int32> = [
        Int32(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue), Int32(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION.rawValue),
        Int32(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID.rawValue), Int32(RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST.rawValue),
    ]
}

extension Set<Int32> {
    /// Lets a `switch` over an error code match a set of codes.
    static func ~= (set: Set<Int32>, code: Int32) -> Bool { set.contains(code) }
}
