/// A benchmark failure: what went wrong and what to do, with the CLI's exit code.
public struct BenchError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A bad workload file, flag or value (exit code 2).
        case usage
        /// The backend or the client failed.
        case backend
        /// Reading or writing a result file failed.
        case io
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func usage(_ message: String) -> BenchError { BenchError(.usage, message) }
    public var description: String { message }
}
