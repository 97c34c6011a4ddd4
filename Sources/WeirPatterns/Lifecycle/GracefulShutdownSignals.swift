public import Logging
public import ServiceLifecycle
import Synchronization

/// Runs work until it finishes or the process receives SIGTERM or SIGINT, which begin a
/// graceful shutdown (`Task.isShuttingDownGracefully` turns true inside it).
public enum GracefulShutdownSignals {
    /// A logger that drops everything (ServiceGroup's own debug output).
    static let _quiet = Logger(label: "weir.lifecycle") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `services` in a `ServiceGroup` that shuts down gracefully on SIGTERM and SIGINT.
    /// List them so that what others depend on comes first (`LogDirectoryService`, then
    /// `ProducerService`, then consumers): shutdown runs in reverse order. `whenTrapped` runs
    /// once the signals are trapped: the place to say the process is ready, so that a signal
    /// sent as soon as that line appears already shuts it down gracefully.
    public static func run(_ services: [any Service], logger: Logger? = nil,
                           whenTrapped: (@Sendable () -> Void)? = nil) async throws {
        var configurations = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        if let whenTrapped {
            // The group traps its signals before it starts any service.
            configurations.insert(.init(service: ClosureService { whenTrapped() }, successTerminationBehavior: .ignore), at: 0)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: configurations, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger ?? _quiet))
        try await group.run()
    }

    /// Runs `body` in the current task once SIGTERM and SIGINT are trapped; either signal
    /// meanwhile sets `ShutdownRequest.isRequested` (also passed to `body`), which a loop in
    /// `body` checks to finish early and cleanly (stop reading, commit, close). Signal handling
    /// ends when `body` returns.
    public static func withSignals<T>(isolation: isolated (any Actor)? = #isolation,
                                      _ body: (ShutdownRequest) async throws -> T) async rethrows -> T {
        let request = ShutdownRequest()
        let trapped = AsyncStream<Never>.makeStream()
        let service = ClosureService {
            // The group traps its signals before it starts any service.
            trapped.continuation.finish()
            // Returns on a signal (graceful shutdown) or throws when the group is cancelled.
            try await gracefulShutdown()
            request._flag.store(true, ordering: .releasing)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                             failureTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: _quiet))
        let watcher = Task {
            try? await group.run()
            trapped.continuation.finish()
        }
        for await _ in trapped.stream {}
        let result: T
        do {
            result = try await ShutdownRequest.$current.withValue(request) { try await body(request) }
        } catch {
            watcher.cancel()
            _ = await watcher.value
            throw error
        }
        watcher.cancel()
        _ = await watcher.value
        return result
    }
}

/// Set once SIGTERM or SIGINT arrived inside `GracefulShutdownSignals.withSignals`.
public final class ShutdownRequest: Sendable {
    let _flag = Atomic<Bool>(false)

    public init() {}

    /// Whether a shutdown was requested.
    public var isRequested: Bool { _flag.load(ordering: .acquiring) }

    /// Requests the shutdown (as a signal would).
    public func request() { _flag.store(true, ordering: .releasing) }

    /// The request of the innermost `withSignals`, nil outside one.
    @TaskLocal public static var current: ShutdownRequest?

    /// Whether the innermost `withSignals` (or a `ServiceGroup`'s graceful shutdown) asked the
    /// current task to stop.
    public static var isRequested: Bool { (current?.isRequested ?? false) || Task.isShuttingDownGracefully }
}
