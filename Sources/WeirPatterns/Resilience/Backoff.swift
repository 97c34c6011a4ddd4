import Synchronization

/// Bounded exponential backoff with jitter: the delay before retry `n` (1, 2, …).
///
/// The reference document waits `min(1000 · 2ⁿ, 30000)` ms, the same for every consumer, so
/// failures that happen together are retried together (a thundering herd). Jitter spreads them:
///
/// - `.full`: uniform in `0 ... min(cap, base · multiplierⁿ⁻¹)` (AWS's "full jitter").
/// - `.decorrelated`: uniform in `base ... min(cap, 3 · previous)` (AWS's "decorrelated jitter").
/// - `.equal`: half the exponential delay plus a uniform half.
/// - `.none`: exactly `min(cap, base · multiplierⁿ⁻¹)`.
///
/// ```swift
/// let backoff = Backoff(base: .milliseconds(100), cap: .seconds(30), jitter: .full)
/// let wait = backoff.delay(forRetry: 3)        // somewhere in 0...400 ms
/// ```
public struct Backoff: Sendable, Hashable {
    public enum Jitter: String, Sendable, Hashable, CaseIterable {
        case none, full, equal, decorrelated
    }

    /// The first delay (retry 1), and the lower bound of decorrelated jitter.
    public var base: Duration
    /// No delay is longer than this.
    public var cap: Duration
    /// The growth per retry (default 2).
    public var multiplier: Double
    public var jitter: Jitter

    public init(base: Duration = .milliseconds(100), cap: Duration = .seconds(30), multiplier: Double = 2, jitter: Jitter = .full) {
        self.base = base
        self.cap = max(cap, base)
        self.multiplier = max(1, multiplier)
        self.jitter = jitter
    }

    /// The delay without jitter: `min(cap, base · multiplierⁿ⁻¹)`.
    public func exponentialDelay(forRetry retry: Int) -> Duration {
        let baseMs = Self._ms(base), capMs = Self._ms(cap)
        let exponent = Double(max(0, retry - 1))
        let ms = min(capMs, baseMs * _pow(multiplier, exponent))
        return .nanoseconds(Int64(ms * 1_000_000))
    }

    /// The delay before retry `retry` (1-based); `previous` is the delay before the last retry
    /// (used by decorrelated jitter; nil on the first retry).
    public func delay(forRetry retry: Int, previous: Duration? = nil) -> Duration {
        var rng = SystemRandomNumberGenerator()
        return delay(forRetry: retry, previous: previous, using: &rng)
    }

    /// `delay(forRetry:previous:)` with a given random generator (seeded in tests).
    public func delay(forRetry retry: Int, previous: Duration?, using rng: inout some RandomNumberGenerator) -> Duration {
        let exp = Self._ms(exponentialDelay(forRetry: retry))
        let ms: Double
        switch jitter {
        case .none: ms = exp
        case .full: ms = Double.random(in: 0...exp, using: &rng)
        case .equal: ms = exp / 2 + Double.random(in: 0...(exp / 2), using: &rng)
        case .decorrelated:
            let lower = Self._ms(base)
            let upper = min(Self._ms(cap), max(lower, 3 * Self._ms(previous ?? base)))
            ms = Double.random(in: lower...upper, using: &rng)
        }
        return .nanoseconds(Int64(ms * 1_000_000))
    }

    static func _ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    func _pow(_ x: Double, _ n: Double) -> Double {
        var r = 1.0
        var i = 0.0
        while i < n && r < 1e12 { r *= x; i += 1 }
        return r
    }
}

/// Retries an operation in process with bounded exponential backoff and jitter, for transient
/// failures (the reference document's `processWithRetry`), then hands the last failure to
/// `onExhausted` (send it to a DLQ, alert): the "error handling strategy" as a component.
///
/// An error that is a `ClassifiedError` with `isRetriable == false` is not retried.
///
/// ```swift
/// let policy = RetryPolicy(maxRetries: 3, backoff: Backoff(base: .milliseconds(200)),
///                          alert: { failure in logger.error("giving up: \(failure.error)") })
/// try await policy.run { try await callPaymentService() }
/// ```
public struct RetryPolicy: Sendable {
    /// What `alert` is told when the retries are exhausted (or the error is not retriable).
    public struct Failure: Sendable {
        /// The last error.
        public var error: any Error
        /// Attempts made (1 + retries).
        public var attempts: Int
        /// Whether the error was classified non-retriable (then there were no retries).
        public var nonRetriable: Bool
    }

    /// Retries after the first attempt.
    public var maxRetries: Int
    public var backoff: Backoff
    /// Called once when the operation finally fails (the alert hook).
    public var alert: (@Sendable (Failure) async -> Void)?

    public init(maxRetries: Int = 3, backoff: Backoff = Backoff(), alert: (@Sendable (Failure) async -> Void)? = nil) {
        self.maxRetries = max(0, maxRetries)
        self.backoff = backoff
        self.alert = alert
    }

    /// Runs `operation` until it succeeds, a non-retriable error, or `maxRetries` retries;
    /// sleeps the backoff between attempts (cancellation ends the waiting with the last error).
    /// - Throws: the last error, after `alert` was called with it.
    public func run<T, E: Error>(_ operation: () async throws(E) -> T) async throws(E) -> T {
        var previous: Duration? = nil
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await operation()
            } catch {
                let nonRetriable = (error as? any ClassifiedError)?.isRetriable == false
                if nonRetriable || attempt > maxRetries || Task.isCancelled {
                    await alert?(Failure(error: error, attempts: attempt, nonRetriable: nonRetriable))
                    throw error
                }
                let wait = backoff.delay(forRetry: attempt, previous: previous)
                previous = wait
                try? await Task.sleep(for: wait)
            }
        }
    }
}
