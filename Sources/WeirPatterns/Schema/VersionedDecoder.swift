public import Foundation
public import WeirClient
import WeirFormat

/// The consumer side of schema evolution: decodes each record's envelope at the current
/// version (upcasting older ones) and, given a dead-letter producer, sends a record it cannot
/// decode (unknown type, newer or unregistered version, bad payload) to `<topic>.dlq` instead
/// of failing the consumer.
///
/// A dead-lettered record keeps its key, value and headers and gains `error.message`,
/// `error.class`, `failed.at` (ISO 8601), `source.topic`, `source.partition` and
/// `source.offset`, the headers of the retry/DLQ pipeline, so `weir dlq replay` can put it
/// back once a consumer that understands it is deployed.
public struct VersionedDecoder: Sendable {
    /// What became of a record.
    public enum Outcome<T: Sendable>: Sendable {
        /// Decoded at the current version.
        case decoded(T)
        /// Sent to the dead-letter topic, with the reason.
        case deadLettered(SchemaError, RecordMetadata)
    }

    public let registry: SchemaRegistry
    /// Where undecodable records go; nil = `decode` throws instead.
    public let deadLetterProducer: (any MessageProducer)?

    public init(registry: SchemaRegistry, deadLetterProducer: (any MessageProducer)? = nil) {
        self.registry = registry
        self.deadLetterProducer = deadLetterProducer
    }

    /// The dead-letter topic of `topic`: `<topic>.dlq`.
    public static func deadLetterTopic(of topic: String) -> String { "\(topic).dlq" }

    /// Decodes `record` as `T`, or dead-letters it.
    ///
    /// - Throws: the `SchemaError` when there is no dead-letter producer; `.deadLetterFailed`
    ///   (retriable when the client says so) when sending to the DLQ failed. Either way the
    ///   record was not handled: do not commit its offset.
    public func decode<T: Decodable & Sendable>(_ t: T.Type = T.self, _ record: ConsumerRecord) async throws(SchemaError) -> Outcome<T> {
        do {
            return .decoded(try registry.decode(T.self, from: record))
        } catch {
            guard let deadLetterProducer else { throw error }
            let dlq = Self.deadLetterRecord(record, error: error.message, errorClass: "SchemaError.\(error.code.rawValue)")
            do {
                return .deadLettered(error, try await deadLetterProducer.send(dlq))
            } catch let sendError {
                throw SchemaError(.deadLetterFailed, "sending \(record.topic)-\(record.partition)@\(record.offset) to \(dlq.topic) failed (\(sendError.message)) after: \(error.message)",
                                  type: error.type, version: error.version, isRetriable: sendError.isRetriable)
            }
        }
    }

    /// The record that carries `record` to `<topic>.dlq` with the error headers.
    public static func deadLetterRecord(_ record: ConsumerRecord, error: String, errorClass: String, failedAt: Date = Date()) -> ProducerRecord {
        var headers = record.headers
        func add(_ k: String, _ v: String) { headers.append(RecordHeader(key: k, value: Array(v.utf8))) }
        add("error.message", error)
        add("error.class", errorClass)
        add("failed.at", ISO8601DateFormatter().string(from: failedAt))
        add("source.topic", record.topic)
        add("source.partition", String(record.partition))
        add("source.offset", String(record.offset))
        return ProducerRecord(topic: deadLetterTopic(of: record.topic), key: record.key, value: record.value, headers: headers)
    }
}
