/// The codes of one pattern component's errors (the outbox, the saga orchestrator, the
/// observability components): stable names to match on, not the message.
public protocol PatternErrorCode: Sendable, Hashable {
    /// The code's stable name, as `description` prints it.
    var rawValue: String { get }
    /// What `description` puts before the code (`"outbox "`, `"saga "`, or nothing).
    static var descriptionPrefix: String { get }
}

/// A failure of a pattern component: a code, a message that says what happened and what to do,
/// and whether the same call may succeed later. `OutboxError`, `SagaError` and
/// `ObservabilityError` are this type with their own codes.
public struct PatternError<C: PatternErrorCode>: Error, Sendable, Hashable, CustomStringConvertible, ClassifiedError {
    public typealias Code = C

    public var code: Code
    public var message: String
    public var isRetriable: Bool

    public init(_ code: Code, _ message: String, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
    }

    public var description: String { "\(Code.descriptionPrefix)\(code.rawValue): \(message)" }
}
