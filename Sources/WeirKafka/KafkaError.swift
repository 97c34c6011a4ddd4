import CRdKafka

/// An error from librdkafka or from a Kafka broker, with what to do about it.
///
/// `code` is librdkafka's `rd_kafka_resp_err_t`: negative values are librdkafka's local errors
/// (`RD_KAFKA_RESP_ERR__TRANSPORT`, `RD_KAFKA_RESP_ERR__TIMED_OUT`, …), non-negative values are
/// Kafka protocol error codes (`NOT_LEADER_OR_FOLLOWER` = 6, …). Configuration errors
/// (`rd_kafka_conf_set`) carry the property's name in `property`.
public struct KafkaError: Error, Sendable, CustomStringConvertible, Equatable, Codable {
    /// `rd_kafka_resp_err_t` as an integer. The corresponding C function for its name is
    /// `rd_kafka_err2name`.
    public var code: Int32
    /// librdkafka's name of the code, e.g. `_TRANSPORT` or `NOT_LEADER_OR_FOLLOWER`; `CONFIGURATION`
    /// for a property librdkafka rejected.
    public var name: String
    /// What went wrong and what to do.
    public var message: String
    /// Whether trying again may succeed (librdkafka's `rd_kafka_error_is_retriable` where an
    /// `rd_kafka_error_t` is available, else Kafka's retriable error classes).
    public var isRetriable: Bool
    /// A fatal error (`rd_kafka_fatal_error`): the client instance is unusable.
    public var isFatal: Bool
    /// The configuration property at fault, for configuration errors.
    public var property: String?

    public init(code: Int32, name: String, message: String, isRetriable: Bool = false, isFatal: Bool = false, property: String? = nil) {
        self.code = code
        self.name = name
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.property = property
    }

    public var description: String { "\(name) (\(code)): \(message)" }

    enum CodingKeys: String, CodingKey { case code, name, message, isRetriable = "is_retriable", isFatal = "is_fatal", property }

    /// Whether this is a configuration error (an unknown property or an invalid value).
    public var isConfiguration: Bool { property != nil || code == Self.configurationCode }

    /// The code used for configuration errors (librdkafka's `RD_KAFKA_RESP_ERR__INVALID_ARG`).
    public static let configurationCode = Int32(RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
    /// `RD_KAFKA_RESP_ERR__TIMED_OUT`.
    public static let timedOutCode = Int32(RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
    /// `RD_KAFKA_RESP_ERR__TRANSPORT`.
    public static let transportCode = Int32(RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
    /// `RD_KAFKA_RESP_ERR__MSG_TIMED_OUT`.
    public static let messageTimedOutCode = Int32(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)

    /// A configuration error naming `property`.
    public static func configuration(property: String?, _ message: String) -> KafkaError {
        KafkaError(code: configurationCode, name: "CONFIGURATION", message: message, property: property)
    }

    /// An error for `code`, with librdkafka's description (`rd_kafka_err2str`) and `context`
    /// (what Weir was doing), followed by advice where there is some.
    init(_ code: rd_kafka_resp_err_t, context: String, detail: String? = nil) {
        let raw = Int32(code.rawValue)
        let name = String(cString: rd_kafka_err2name(code))
        var text = context.isEmpty ? "" : context + ": "
        text += detail ?? String(cString: rd_kafka_err2str(code))
        if let advice = Self.advice(raw) { text += ". " + advice }
        self.init(code: raw, name: name, message: text, isRetriable: Self.retriableCodes.contains(raw),
                  isFatal: code == RD_KAFKA_RESP_ERR__FATAL)
    }

    /// Takes ownership of `error` (an `rd_kafka_error_t`) and destroys it.
    init(consuming error: OpaquePointer, context: String) {
        let code = rd_kafka_error_code(error)
        let detail = rd_kafka_error_string(error).map { String(cString: $0) }
        self.init(code, context: context, detail: detail)
        isRetriable = rd_kafka_error_is_retriable(error) != 0 || isRetriable
        isFatal = rd_kafka_error_is_fatal(error) != 0
        rd_kafka_error_destroy(error)
    }

    /// Kafka's retriable error classes (the Java client's `RetriableException` subclasses) and
    /// librdkafka's transient local errors.
    static let retriableCodes: Set<Int32> = {
        var codes: Set<Int32> = [2, 3, 5, 6, 7, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 79, 80, 89]
        for local in [RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                      RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
                      RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__RESOLVE] {
            codes.insert(Int32(local.rawValue))
        }
        return codes
    }()

    static func advice(_ code: Int32) -> String? {
        switch code {
        case Int32(RD_KAFKA_RESP_ERR__TRANSPORT.rawValue), Int32(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue),
             Int32(RD_KAFKA_RESP_ERR__RESOLVE.rawValue):
            return "Check bootstrap.servers (host:port reachable from here) and security.protocol"
        case Int32(RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue), Int32(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue):
            return "The cluster did not answer in time: check that the brokers are up and reachable, or raise the timeout"
        case Int32(RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue), Int32(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue):
            return "Check sasl.mechanism, sasl.username and sasl.password (or ssl.* for mTLS)"
        case Int32(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue), Int32(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue):
            return "Create the topic first (or enable auto.create.topics.enable on the brokers)"
        case Int32(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue), Int32(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED.rawValue),
             Int32(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue):
            return "The principal lacks an ACL for this operation"
        case Int32(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE.rawValue):
            return "The broker does not implement this request (librdkafka's in-process mock cluster implements neither ListGroups/DescribeGroups nor a controller for CreateTopics)"
        case Int32(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue):
            return "Lower the message size or raise max.message.bytes on the topic and message.max.bytes here"
        default:
            return nil
        }
    }
}
