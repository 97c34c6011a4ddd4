import Synchronization
import WeirClient

/// A monotonic time source for the resilience components, so tests can drive time by hand.
public protocol MonotonicTime: Sendable {
    /// Time since an arbitrary fixed origin; never goes backwards.
    func now() -> Duration
}

/// The process's monotonic clock (Weir's one clock, `monotonicNanos()`).
public struct SystemMonotonicTime: MonotonicTime {
    public init() {}
    public func now() -> Duration { .nanoseconds(Int64(monotonicNanos())) }
}

/// A clock that moves only when told (`advance(by:)`): for tests.
public final class ManualMonotonicTime: MonotonicTime {
    let _now: Mutex<Duration>
    public init(_ start: Duration = .zero) { _now = Mutex(start) }
    public func now() -> Duration { _now.withLock { $0 } }
    public func advance(by d: Duration) { _now.withLock { $0 += d } }
}

/// A call refused because the circuit is open (or half-open with every probe slot taken).
public struct CircuitOpenError: Error, Sendable, Equatable, CustomStringConvertible, ClassifiedError {
    public enum Code: String, Sendable, Hashable {
        /// The circuit is open; calls fail fast until `retryAfter` has passed.
        case open
        /// Half-open: the allowed number of probe calls are already in flight.
        case probeLimitReached
    }
    public var code: Code
    /// The breaker's name.
    public var name: String
    /// How long until the breaker lets a probe through (zero when half-open).
    public var retryAfter: Duration
    /// Retrying later can succeed.
    public var isRetriable: Bool { true }

    public var message: String {
        switch code {
        case .open:
            "circuit '\(name)' is open after repeated failures; calls fail fast for another \(retryAfter). Retry later, or check the dependency it protects."
        case .probeLimitReached:
            "circuit '\(name)' is half-open and its probe calls are in flight; retry after they complete."
        }
    }

    public var description: String { "\(code): \(message)" }
}

/// A circuit breaker (CLOSED → OPEN → HALF_OPEN → CLOSED) around calls to a dependency.
///
/// - CLOSED: calls go through. `failureThreshold` failures (consecutive, or within
///   `failureWindow` when set) open the circuit.
/// - OPEN: calls fail at once with `CircuitOpenError` for `openTimeout`.
/// - HALF_OPEN: at most `halfOpenMaxProbes` calls go through at a time (the reference
///   document's version lets every waiting caller through at once); `successesToClose`
///   successful probes close the circuit, one failed probe opens it again.
///
/// Thread-safe (one `Mutex`). The time source is injectable (`ManualMonotonicTime` in tests).
///
/// ```swift
/// let breaker = CircuitBreaker(name: "payments", configuration: .init(failureThreshold: 5, openTimeout: .seconds(30)))
/// let receipt = try await breaker.execute { try await payments.charge(order) }
/// ```
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable, Hashable {
        case closed = "CLOSED", open = "OPEN", halfOpen = "HALF_OPEN"
    }

    public struct Configuration: Sendable {
        /// Failures that open the circuit (default 5).
        public var failureThreshold: Int
        /// When set, only failures within this window count (a sliding window); when nil,
        /// failures must be consecutive (a success resets the count). Default nil.
        public var failureWindow: Duration?
        /// How long the circuit stays open before it lets a probe through (default 60 s).
        public var openTimeout: Duration
        /// Concurrent probe calls allowed while half-open (default 1).
        public var halfOpenMaxProbes: Int
        /// Successful probes that close the circuit (default 1).
        public var successesToClose: Int
        /// Which errors count as failures (default: every error except a `ClassifiedError` that
        /// is not retriable — a bad request is not the dependency's fault).
        public var isFailure: @Sendable (any Error) -> Bool

        public init(failureThreshold: Int = 5, failureWindow: Duration? = nil, openTimeout: Duration = .seconds(60),
                    halfOpenMaxProbes: Int = 1, successesToClose: Int = 1,
                    isFailure: @escaping @Sendable (any Error) -> Bool = { ($0 as? any ClassifiedError)?.isRetriable ?? true }) {
            self.failureThreshold = max(1, failureThreshold)
            self.failureWindow = failureWindow
            self.openTimeout = openTimeout
            self.halfOpenMaxProbes = max(1, halfOpenMaxProbes)
            self.successesToClose = max(1, successesToClose)
            self.isFailure = isFailure
        }
    }

    struct _State {
        var state: State = .closed
        var failures: [Duration] = []   // times of the counted failures
        var openedAt: Duration = .zero
        var probesInFlight = 0
        var probeSuccesses = 0
        var generation: UInt64 = 0       // bumped on every transition; stale permits are ignored
    }

    public let name: String
    public let configuration: Configuration
    let time: any MonotonicTime
    let _state = Mutex(_State())
    /// Called on every transition (from, to), outside the lock.
    let onTransition: (@Sendable (State, State) -> Void)?

    public init(name: String, configuration: Configuration = Configuration(), time: any MonotonicTime = SystemMonotonicTime(),
                onTransition: (@Sendable (State, State) -> Void)? = nil) {
        self.name = name
        self.configuration = configuration
        self.time = time
        self.onTransition = onTransition
    }

    /// The current state (an open circuit whose timeout has passed reports HALF_OPEN).
    public var state: State {
        let now = time.now()
        return _state.withLock { s in
            if s.state == .open && now - s.openedAt >= configuration.openTimeout { return .halfOpen }
            return s.state
        }
    }

    /// A permission to make one call; report its outcome with `success()` or `failure()`
    /// exactly once.
    public struct Permit: Sendable {
        let breaker: CircuitBreaker
        let generation: UInt64
        let probe: Bool
        public func success() { breaker._record(success: true, self) }
        public func failure() { breaker._record(success: false, self) }
    }

    /// Asks to make one call.
    /// - Throws: `CircuitOpenError` when the circuit is open, or half-open with every probe
    ///   slot taken.
    public func acquire() throws(CircuitOpenError) -> Permit {
        let now = time.now()
        var transition: (State, State)? = nil
        let result: Result<Permit, CircuitOpenError> = _state.withLock { s in
            switch s.state {
            case .closed:
                return .success(Permit(breaker: self, generation: s.generation, probe: false))
            case .open:
                let remaining = configuration.openTimeout - (now - s.openedAt)
                if remaining > .zero {
                    return .failure(CircuitOpenError(code: .open, name: name, retryAfter: remaining))
                }
                s.state = .halfOpen
                s.generation += 1
                s.probesInFlight = 0
                s.probeSuccesses = 0
                transition = (.open, .halfOpen)
                fallthrough
            case .halfOpen:
                guard s.probesInFlight < configuration.halfOpenMaxProbes else {
                    return .failure(CircuitOpenError(code: .probeLimitReached, name: name, retryAfter: .zero))
                }
                s.probesInFlight += 1
                return .success(Permit(breaker: self, generation: s.generation, probe: true))
            }
        }
        if let t = transition { onTransition?(t.0, t.1) }
        return try result.get()
    }

    func _record(success: Bool, _ permit: Permit) {
        let now = time.now()
        let transition: (State, State)? = _state.withLock { s in
            guard permit.generation == s.generation else { return nil }   // from an earlier state
            switch s.state {
            case .closed:
                if success {
                    if configuration.failureWindow == nil { s.failures.removeAll() }
                    return nil
                }
                s.failures.append(now)
                if let window = configuration.failureWindow {
                    s.failures.removeAll { now - $0 > window }
                }
                guard s.failures.count >= configuration.failureThreshold else { return nil }
                s.state = .open
                s.openedAt = now
                s.failures.removeAll()
                s.generation += 1
                return (.closed, .open)
            case .halfOpen:
                s.probesInFlight -= 1
                if success {
                    s.probeSuccesses += 1
                    guard s.probeSuccesses >= configuration.successesToClose else { return nil }
                    s.state = .closed
                    s.failures.removeAll()
                    s.generation += 1
                    return (.halfOpen, .closed)
                }
                s.state = .open
                s.openedAt = now
                s.generation += 1
                return (.halfOpen, .open)
            case .open:
                return nil
            }
        }
        if let t = transition { onTransition?(t.0, t.1) }
    }

    /// Runs `operation` through the breaker: fails fast with `CircuitOpenError` when open,
    /// otherwise runs it and records its outcome (errors that `isFailure` rejects count as
    /// successes of the dependency).
    /// - Throws: `CircuitBreakerError.open` or `.failure(E)` with the operation's error.
    public func execute<T, E: Error>(_ operation: () async throws(E) -> T) async throws(CircuitBreakerError<E>) -> T {
        let permit: Permit
        do { permit = try acquire() } catch { throw .open(error) }
        do {
            let value = try await operation()
            permit.success()
            return value
        } catch {
            if configuration.isFailure(error) { permit.failure() } else { permit.success() }
            throw .failure(error)
        }
    }
}

/// The error of `CircuitBreaker.execute`: the circuit refused the call, or the call failed.
public enum CircuitBreakerError<Failure: Error>: Error, ClassifiedError {
    case open(CircuitOpenError)
    case failure(Failure)

    /// Open circuits are retriable; a failure is as retriable as its error says (true when it
    /// does not say).
    public var isRetriable: Bool {
        switch self {
        case .open: true
        case .failure(let e): (e as? any ClassifiedError)?.isRetriable ?? true
        }
    }
}
