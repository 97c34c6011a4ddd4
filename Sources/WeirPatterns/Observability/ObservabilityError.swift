/// An error from the observability and operations components (metrics exposition, tracing,
/// lag monitoring, health, graceful shutdown): a stable code, a message that says what happened
/// and what to do, and whether retrying may succeed.
public struct ObservabilityError: Error, Sendable, Hashable, CustomStringConvertible, ClassifiedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A parameter is out of range (a negative threshold, a zero interval).
        public static let invalidArgument = Code("invalidArgument")
        /// A `traceparent` header is not `00-<32 hex>-<16 hex>-<2 hex>` (or has all-zero ids).
        public static let malformedTraceParent = Code("malformedTraceParent")
        /// The metrics server could not bind or listen on its address.
        public static let bindFailed = Code("bindFailed")
        /// A file (exposition, span log, log output) could not be written.
        public static let io = Code("io")
        /// A graceful shutdown did not finish within its timeout.
        public static let shutdownTimedOut = Code("shutdownTimedOut")
    }

    public var code: Code
    public var message: String
    public var isRetriable: Bool

    public init(_ code: Code, _ message: String, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
    }

    public var description: String { "\(code): \(message)" }
}
