/// An error from the observability and operations components (metrics exposition, tracing,
/// lag monitoring, health, graceful shutdown): a stable code, a message that says what happened
/// and what to do, and whether retrying may succeed.
public typealias ObservabilityError = PatternError<ObservabilityErrorCode>

/// What kind of failure an `ObservabilityError` is.
public struct ObservabilityErrorCode: PatternErrorCode, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A parameter is out of range (a negative threshold, a zero interval).
    public static let invalidArgument = Self("invalidArgument")
    /// A `traceparent` header is not `00-<32 hex>-<16 hex>-<2 hex>` (or has all-zero ids).
    public static let malformedTraceParent = Self("malformedTraceParent")
    /// The metrics server could not bind or listen on its address.
    public static let bindFailed = Self("bindFailed")
    /// A file (exposition, span log, log output) could not be written.
    public static let io = Self("io")
    /// A graceful shutdown did not finish within its timeout.
    public static let shutdownTimedOut = Self("shutdownTimedOut")

    public static var descriptionPrefix: String { "" }
}
