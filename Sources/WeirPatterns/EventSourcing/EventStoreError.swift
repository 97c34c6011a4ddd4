public import WeirClient

/// A failure of the event store.
public struct EventStoreError: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable; match on it, not on the message.
    public enum Code: String, Sendable {
        /// The aggregate's version is not the expected one (another append won), or another
        /// append to the same aggregate is in flight in this process. Reload the aggregate,
        /// decide again, and append with the new version.
        case concurrencyConflict
        /// The producer failed to append (see `clientError`).
        case appendFailed
        /// Reading the log failed, or an indexed event is no longer in the log (retention).
        case readFailed
        /// An argument is invalid (an empty aggregate id, an empty event list, a snapshot newer
        /// than the aggregate).
        case invalidArgument
        /// A fold, an encoder or a decoder failed on an event or a snapshot.
        case codec
        /// The index checkpoint file could not be read or written.
        case checkpoint
    }

    public var code: Code
    /// What happened and what to do.
    public var message: String
    /// The aggregate concerned.
    public var aggregateId: String?
    /// For `.concurrencyConflict`: the version the caller expected and the actual one.
    public var expectedVersion: Int64?
    public var actualVersion: Int64?
    /// The client error behind `.appendFailed` / `.readFailed`.
    public var clientError: ClientError?

    public init(_ code: Code, _ message: String, aggregateId: String? = nil, expectedVersion: Int64? = nil,
                actualVersion: Int64? = nil, clientError: ClientError? = nil) {
        self.code = code
        self.message = message
        self.aggregateId = aggregateId
        self.expectedVersion = expectedVersion
        self.actualVersion = actualVersion
        self.clientError = clientError
    }

    /// A conflict is retriable (re-handle the command against the reloaded aggregate); a client
    /// failure is as retriable as the client says; the rest are not.
    public var isRetriable: Bool {
        switch code {
        case .concurrencyConflict: true
        case .appendFailed, .readFailed: clientError?.isRetriable ?? false
        case .invalidArgument, .codec, .checkpoint: false
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
