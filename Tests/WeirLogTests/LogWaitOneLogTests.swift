import Foundation
import Testing
@testable import WeirLog

/// `HighWatermarkWaiter.wait(for:above:timeoutNanos:spinNanos:)`: the wait on one log (no array
/// of targets) behaves as the wait on several.
@Suite struct LogWaitOneLogTests {
    @Test func aWaitOnOneLogReturnsOnDataAfterATimeoutAndOnWake() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        let waiter = HighWatermarkWaiter()
        #expect(waiter.wait(for: log, above: 0, timeoutNanos: 2_000_000) == false)
        #expect(waiter.wait(for: log, above: 0, timeoutNanos: 2_000_000, spinNanos: 500_000) == false)
        try makeBatch(firstSeq: 0, count: 1).withUnsafeBytes { _ = try log.append($0) }
        #expect(waiter.wait(for: log, above: 0, timeoutNanos: 60_000_000_000))
        // A parked thread wakes for an append.
        let woke = DispatchSemaphore(value: 0)
        Thread {
            #expect(waiter.wait(for: log, above: 1, timeoutNanos: 60_000_000_000))
            woke.signal()
        }.start()
        usleep(20_000)
        try makeBatch(firstSeq: 1, count: 1).withUnsafeBytes { _ = try log.append($0) }
        #expect(woke.wait(timeout: .now() + 10) == .success)
        // And for wake().
        let woken = DispatchSemaphore(value: 0)
        Thread {
            #expect(waiter.wait(for: log, above: 2, timeoutNanos: 60_000_000_000) == false)
            woken.signal()
        }.start()
        usleep(20_000)
        waiter.wake()
        #expect(woken.wait(timeout: .now() + 10) == .success)
    }
}
