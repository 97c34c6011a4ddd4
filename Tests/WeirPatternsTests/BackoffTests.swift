import Synchronization
import Testing
import WeirClient
@testable import WeirPatterns
import WeirTestSupport


@Suite struct BackoffTests {
    @Test func exponentialIsBoundedByTheCap() {
        let b = Backoff(base: .milliseconds(100), cap: .seconds(1), jitter: .none)
        #expect(b.delay(forRetry: 1) == .milliseconds(100))
        #expect(b.delay(forRetry: 2) == .milliseconds(200))
        #expect(b.delay(forRetry: 4) == .milliseconds(800))
        #expect(b.delay(forRetry: 5) == .seconds(1))
        #expect(b.delay(forRetry: 500) == .seconds(1))
    }

    @Test func jitterStaysInItsRange() {
        var rng = SplitMix64(seed: 42)
        let full = Backoff(base: .milliseconds(100), cap: .seconds(2), jitter: .full)
        let equal = Backoff(base: .milliseconds(100), cap: .seconds(2), jitter: .equal)
        let decorrelated = Backoff(base: .milliseconds(100), cap: .seconds(2), jitter: .decorrelated)
        var previous: Duration? = nil
        var distinct: Set<Duration> = []
        for retry in 1...50 {
            let f = full.delay(forRetry: retry, previous: nil, using: &rng)
            #expect(f >= .zero && f <= full.exponentialDelay(forRetry: retry))
            distinct.insert(f)
            let e = equal.delay(forRetry: retry, previous: nil, using: &rng)
            #expect(e >= equal.exponentialDelay(forRetry: retry) / 2 && e <= equal.exponentialDelay(forRetry: retry))
            let d = decorrelated.delay(forRetry: retry, previous: previous, using: &rng)
            #expect(d >= .milliseconds(100) && d <= .seconds(2))
            previous = d
        }
        #expect(distinct.count > 40)   // jittered, not one value
    }

    struct Transient: Error {}
    struct Fatal: ClassifiedError { var isRetriable: Bool { false } }

    @Test func retryPolicyRetriesThenAlerts() async {
        let alerts = AlertLog()
        let policy = RetryPolicy(maxRetries: 2, backoff: Backoff(base: .milliseconds(1), cap: .milliseconds(2)),
                                 alert: { alerts.append("\($0.attempts) \($0.nonRetriable)") })
        let calls = AlertLog()
        await #expect(throws: Transient.self) {
            try await policy.run { () throws(Transient) -> Int in calls.append("x"); throw Transient() }
        }
        #expect(calls.items.count == 3)
        #expect(alerts.items == ["3 false"])
        await #expect(throws: Fatal.self) {
            try await policy.run { () throws(Fatal) -> Int in calls.append("y"); throw Fatal() }
        }
        #expect(calls.items.filter { $0 == "y" }.count == 1)   // non-retriable: no retry
        #expect(alerts.items == ["3 false", "1 true"])
        let value = await policy.run { () -> Int in 7 }
        #expect(value == 7)
    }
}

final class AlertLog: Sendable {
    let _items = Mutex<[String]>([])
    func append(_ s: String) { _items.withLock { $0.append(s) } }
    var items: [String] { _items.withLock { $0 } }
}
