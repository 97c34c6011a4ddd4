public import Logging
public import ServiceLifecycle
public import WeirLog

/// Owns an embedded `LogDirectory` in a `ServiceGroup`: on graceful shutdown (or cancellation)
/// it closes the directory cleanly (flush, checkpoints, clean-shutdown marker, lock released),
/// so the next open skips recovery. List it first: it then shuts down last.
public final class LogDirectoryService: Service, Sendable {
    public let logDirectory: LogDirectory
    let logger: Logger

    public init(_ logDirectory: LogDirectory, logger: Logger = Logger(label: "weir.log")) {
        self.logDirectory = logDirectory
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        do { try logDirectory.close() } catch {
            logger.error("closing the log directory failed; the next open will recover it", metadata: ["error": "\(error.message)"])
            throw error
        }
    }
}
