import Foundation
public import WeirClient
import WeirFormat

/// The consumer side of schema evolution: decodes each record's envelope at the current
/// version (upcasting older ones) and, given a dead-letter producer, sends a record it cannot
/// decode (unknown type, newer or unregistered version, bad payload) to `<topic>.dlq` instead
/// of failing the consumer.
///
/// A dead-lettered record is written by `RetryHeaders.deadLetterRecord`, as the retry pipeline
/// writes its own: key, value and headers kept, plus `errorMessage`, `errorType`,
/// `errorContext`, `failedAt` and the origin (`originalTopic`, `originalPartition`,
/// `originalOffset`), so `weir dlq replay` can put it back once a consumer that understands it
/// is deployed.
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
            let dlq = RetryHeaders.deadLetterRecord(record, error: error, context: "schema \(error.code.rawValue): not retried; replay with weir dlq replay once a consumer understands it")
            do {
                return .deadLettered(error, try await deadLetterProducer.send(dlq))
            } catch let sendError {
                throw SchemaError(.deadLetterFailed, "sending \(record.topic)-\(record.partition)@\(record.offset) to \(dlq.topic) failed (\(sendError.message)) after: \(error.message)",
                                  type: error.type, version: error.version, isRetriable: sendError.isRetriable)
            }
        }
    }
}
