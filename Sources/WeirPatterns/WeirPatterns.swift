// WeirPatterns: the patterns and practices of "Kafka Best Practices and Patterns" as working
// components on the client protocols of WeirClient (`MessagingClient`, `MessageProducer`,
// `MessageConsumer`), so that each runs on the embedded log and on a Kafka cluster alike.
public import WeirClient

/// An error that says whether retrying the same message can succeed. The retry/DLQ pipeline
/// sends a message whose handler throws a non-retriable error (a poison message, an unknown
/// schema version, a failed decryption) straight to the dead-letter topic instead of retrying.
public protocol ClassifiedError: Error {
    /// Whether handling the same message again may succeed.
    var isRetriable: Bool { get }
}

extension ClientError: ClassifiedError {}
