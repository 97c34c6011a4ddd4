import Foundation
import Synchronization

/// Where an application's components report their health and where `check()` collects it.
///
/// Two kinds of entries:
/// - pull checks (`register`), run on every `check()`: the log directory, a consumer group's
///   lag, anything custom;
/// - pushed states (`report`, or a `HealthComponent` handle), which components update as they
///   work: a producer after each send (`HealthTrackingProducer`), a `ConsumerService` as it
///   polls and stops.
///
/// Thread-safe; share one registry per process and serve `check()` from a readiness endpoint or
/// `weir health`-style tooling.
public final class HealthRegistry: Sendable {
    /// A pull check: returns one or more results when run.
    public typealias Check = @Sendable () async -> [HealthCheckResult]

    struct _State {
        var order: [String] = []
        var checks: [String: Check] = [:]
        var pushed: [String: HealthCheckResult] = [:]
    }

    let _state = Mutex(_State())

    public init() {}

    /// Adds (or replaces) a pull check named `name` that yields one result.
    public func register(_ name: String, _ check: @escaping @Sendable () async -> HealthCheckResult) {
        register(name, many: { [await check()] })
    }

    /// Adds (or replaces) a pull check named `name` that yields several results (one per
    /// partition, per group, ...).
    public func register(_ name: String, many check: @escaping Check) {
        _state.withLock { s in
            if s.checks[name] == nil && s.pushed[name] == nil { s.order.append(name) }
            s.checks[name] = check
        }
    }

    /// Sets the pushed state of component `name`.
    public func report(_ name: String, _ status: HealthStatus, _ message: String, details: [String: String] = [:]) {
        let result = HealthCheckResult(name: name, status: status, message: message, details: details)
        _state.withLock { s in
            if s.checks[name] == nil && s.pushed[name] == nil { s.order.append(name) }
            s.pushed[name] = result
        }
    }

    /// Removes a check or a pushed state (a component that was shut down on purpose).
    public func remove(_ name: String) {
        _state.withLock { s in
            s.checks[name] = nil
            s.pushed[name] = nil
            s.order.removeAll { $0 == name }
        }
    }

    /// A handle for component `name` to push its state with.
    public func component(_ name: String) -> HealthComponent { HealthComponent(registry: self, name: name) }

    /// Runs every pull check (in registration order) and returns them with the pushed states.
    public func check() async -> HealthReport {
        let (order, checks, pushed) = _state.withLock { ($0.order, $0.checks, $0.pushed) }
        var results: [HealthCheckResult] = []
        for name in order {
            if let check = checks[name] { results += await check() }
            if let state = pushed[name] { results.append(state) }
        }
        return HealthReport(checks: results)
    }
}

/// One component's pushed health state in a `HealthRegistry`.
public struct HealthComponent: Sendable {
    public let registry: HealthRegistry
    public let name: String

    /// Reports the component as healthy.
    public func healthy(_ message: String, details: [String: String] = [:]) {
        registry.report(name, .healthy, message, details: details)
    }

    /// Reports `error`: degraded when it is retriable (`ClassifiedError`), unhealthy otherwise.
    public func failed(_ error: any Error, during operation: String) {
        let retriable = (error as? any ClassifiedError)?.isRetriable ?? false
        registry.report(name, retriable ? .degraded : .unhealthy,
                        "\(operation) failed: \(error)" + (retriable ? " (retriable; it recovers on the next success)" : ""),
                        details: ["retriable": String(retriable)])
    }

    /// Sets an explicit status.
    public func set(_ status: HealthStatus, _ message: String, details: [String: String] = [:]) {
        registry.report(name, status, message, details: details)
    }
}
