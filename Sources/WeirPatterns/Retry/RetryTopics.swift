public import Foundation
public import WeirClient
public import WeirFormat

/// The topics and headers of the retry/DLQ pipeline.
///
/// For a source topic `order.payment.completed` with `maxRetries = 3`:
///
/// - retry tiers `order.payment.completed.retry.1` … `.retry.3`: retry `n` of a message goes to
///   tier `n`. Every message of a tier waits about the same backoff, so a tier's partitions are
///   (nearly) in `retryAfter` order and the retry consumer pauses a partition only until its
///   head is due, without holding back shorter delays behind longer ones (one shared retry
///   topic would).
/// - the dead-letter topic `order.payment.completed.dlq` (the reference document's convention).
///
/// Both follow `TopicNamingPolicy.domainEntityEvent`.
public enum RetryTopics {
    /// `<source>.retry.<n>` (n ≥ 1).
    public static func retryTopic(_ source: String, retry n: Int) -> String { "\(source).retry.\(n)" }
    /// `<source>.dlq`.
    public static func deadLetterTopic(_ source: String) -> String { "\(source).dlq" }

    /// The source topic of a retry or DLQ topic name (`a.b.c.retry.2` → `a.b.c`), nil for other names.
    public static func sourceTopic(of name: String) -> String? {
        if name.hasSuffix(".dlq") { return String(name.dropLast(4)) }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count >= 3, parts[parts.count - 2] == "retry", Int(parts.last!) != nil {
            return parts.dropLast(2).joined(separator: ".")
        }
        return nil
    }
}

/// The header keys the pipeline writes. The reference document's names (`retryCount`,
/// `retryAfter`, `errorMessage`, `failedAt`) plus the record's origin, which the reference
/// sketch loses.
public enum RetryHeaders {
    /// Retries so far (`1` on the first retry topic).
    public static let retryCount = "retryCount"
    /// Epoch milliseconds before which the retry consumer must not process the message.
    public static let retryAfter = "retryAfter"
    /// The topic the message was first consumed from (where `weir dlq replay` sends it back).
    public static let originalTopic = "originalTopic"
    public static let originalPartition = "originalPartition"
    public static let originalOffset = "originalOffset"
    /// The last error's description.
    public static let errorMessage = "errorMessage"
    /// The last error's Swift type.
    public static let errorType = "errorType"
    /// Where it failed: group, topic-partition@offset, attempt, and whether the error was
    /// classified non-retriable (Swift errors carry no stack trace; this is the context).
    public static let errorContext = "errorContext"
    /// ISO 8601 time of the final failure.
    public static let failedAt = "failedAt"

    /// Every header the pipeline adds: cleared when a message is replayed.
    public static let all: Set<String> = [retryCount, retryAfter, originalTopic, originalPartition, originalOffset,
                                          errorMessage, errorType, errorContext, failedAt]

    /// The value of header `key` as a string (the last one when repeated).
    public static func string(_ key: String, in headers: [RecordHeader]) -> String? {
        headers.last { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// `headers` without the pipeline's own, plus `set`.
    static func replacing(_ headers: [RecordHeader], with set: [(String, String)]) -> [RecordHeader] {
        let keys = Set(set.map(\.0))
        return headers.filter { !keys.contains($0.key) } + set.map { RecordHeader(key: $0.0, value: Array($0.1.utf8)) }
    }
}

extension RetryHeaders {
    /// The copy of `record` for a dead-letter topic, as every Weir component writes it (the
    /// retry pipeline, the schema-evolution decoder): key, value, timestamp and headers kept,
    /// the retry headers replaced by `retryCount`, `errorMessage`, `errorType`, `errorContext`
    /// and `failedAt`, and the origin (`originalTopic`/`originalPartition`/`originalOffset`)
    /// added unless the record already carries it, so `weir dlq replay` can send it back.
    ///
    /// - Parameter topic: the dead-letter topic; default `<original topic>.dlq`.
    public static func deadLetterRecord(_ record: ConsumerRecord, topic: String? = nil, error: any Error, retryCount: Int = 0,
                                        context: String, failedAt: Date = Date()) -> ProducerRecord {
        var origin: [(String, String)] = []
        let source = string(originalTopic, in: record.headers)
        if source == nil {
            origin = [(originalTopic, record.topic), (originalPartition, String(record.partition)), (originalOffset, String(record.offset))]
        }
        let headers = replacing(record.headers, with: origin + [
            (Self.retryCount, String(retryCount)), (errorMessage, String(describing: error)),
            (errorType, String(reflecting: type(of: error))), (errorContext, context), (Self.failedAt, iso8601(failedAt))])
            .filter { $0.key != retryAfter }
        return ProducerRecord(topic: topic ?? RetryTopics.deadLetterTopic(source ?? record.topic), key: record.key, value: record.value,
                              headers: headers, timestamp: record.timestamp)
    }

    /// `failedAt`'s format: ISO 8601 with milliseconds.
    public static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
