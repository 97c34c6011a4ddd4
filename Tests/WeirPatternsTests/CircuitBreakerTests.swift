import Testing
import WeirClient
@testable import WeirPatterns

@Suite struct CircuitBreakerTests {
    struct Boom: Error {}
    struct BadRequest: ClassifiedError { var isRetriable: Bool { false } }

    func fail(_ b: CircuitBreaker) async {
        _ = try? await b.execute { () throws(Boom) -> Int in throw Boom() }
    }

    @Test func opensAfterConsecutiveFailuresAndFailsFast() async throws {
        let time = ManualMonotonicTime()
        let log = AlertLog()
        let b = CircuitBreaker(name: "svc", configuration: .init(failureThreshold: 3, openTimeout: .seconds(10)), time: time,
                               onTransition: { log.append("\($0.rawValue)>\($1.rawValue)") })
        await fail(b)
        await fail(b)
        _ = try await b.execute { 1 }          // a success resets the consecutive count
        await fail(b)
        await fail(b)
        #expect(b.state == .closed)
        await fail(b)
        #expect(b.state == .open)
        var ran = false
        do {
            _ = try await b.execute { () -> Int in ran = true; return 1 }
            Issue.record("an open circuit let a call through")
        } catch {
            guard case .open(let e) = error else { Issue.record("expected .open, got \(error)"); return }
            #expect(e.code == .open && e.retryAfter == .seconds(10) && e.isRetriable)
        }
        #expect(!ran)
        time.advance(by: .seconds(9))
        #expect(throws: CircuitOpenError.self) { try b.acquire() }
        time.advance(by: .seconds(1))
        #expect(b.state == .halfOpen)
        _ = try await b.execute { 2 }
        #expect(b.state == .closed)
        #expect(log.items == ["CLOSED>OPEN", "OPEN>HALF_OPEN", "HALF_OPEN>CLOSED"])
    }

    @Test func halfOpenLimitsProbesAndReopensOnProbeFailure() throws {
        let time = ManualMonotonicTime()
        let b = CircuitBreaker(name: "svc", configuration: .init(failureThreshold: 1, openTimeout: .seconds(5), halfOpenMaxProbes: 2,
                                                                 successesToClose: 2), time: time)
        try b.acquire().failure()
        #expect(b.state == .open)
        time.advance(by: .seconds(5))
        let p1 = try b.acquire()
        let p2 = try b.acquire()
        do {
            _ = try b.acquire()
            Issue.record("a third probe was let through")
        } catch {
            #expect(error.code == .probeLimitReached)
        }
        p1.success()
        #expect(b.state == .halfOpen)              // needs 2 successes
        let p3 = try b.acquire()                   // p1's slot is free again
        p2.failure()                               // one failed probe re-opens
        #expect(b.state == .open)
        p3.success()                               // a stale permit changes nothing
        #expect(b.state == .open)
        #expect(throws: CircuitOpenError.self) { try b.acquire() }
        time.advance(by: .seconds(5))
        try b.acquire().success()
        try b.acquire().success()
        #expect(b.state == .closed)
    }

    @Test func slidingWindowAndNonFailures() async throws {
        let time = ManualMonotonicTime()
        let b = CircuitBreaker(name: "svc", configuration: .init(failureThreshold: 3, failureWindow: .seconds(10)), time: time)
        try b.acquire().failure()
        time.advance(by: .seconds(6))
        try b.acquire().failure()
        try b.acquire().success()                  // successes do not reset a window
        time.advance(by: .seconds(6))              // the first failure left the window
        try b.acquire().failure()
        #expect(b.state == .closed)
        try b.acquire().failure()
        #expect(b.state == .open)

        let c = CircuitBreaker(name: "svc2", configuration: .init(failureThreshold: 1), time: time)
        for _ in 0..<5 {
            do { _ = try await c.execute { () throws(BadRequest) -> Int in throw BadRequest() } } catch {
                guard case .failure = error else { Issue.record("expected the call's failure"); return }
                #expect(!error.isRetriable)
            }
        }
        #expect(c.state == .closed)                // non-retriable errors are not the dependency's fault
    }
}
