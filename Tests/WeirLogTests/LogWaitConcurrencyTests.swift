import Foundation
import Synchronization
import Testing
@testable import WeirLog

/// Waiting for new data: threads parked on `HighWatermarkWaiter`, tasks with timeouts on the
/// shared timer, and the appender waking both.
@Suite struct LogWaitConcurrencyTests {
    @Test func aParkedThreadWakesOnAppendAndSeesTheData() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        try dir.createTopic("t", partitions: 2)
        let a = try dir.partition("t", 0), b = try dir.partition("t", 1)
        let rounds = 200
        let seen = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            let waiter = HighWatermarkWaiter(spinNanos: 1_000)
            var positions: [Int64] = [0, 0]
            while positions[0] + positions[1] < Int64(rounds) {
                _ = waiter.wait(for: [(a, positions[0]), (b, positions[1])], timeoutNanos: 5_000_000_000)
                positions = [a.highWatermark, b.highWatermark]
                seen.store(Int(positions[0] + positions[1]), ordering: .relaxed)
            }
            done.signal()
        }
        reader.start()
        for i in 0..<rounds {
            let log = i % 2 == 0 ? a : b
            try makeBatch(firstSeq: i, count: 1).withUnsafeBytes { _ = try log.append($0) }
            if i % 16 == 0 { usleep(200) }
        }
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(seen.load(ordering: .relaxed) == rounds)
    }

    @Test func aThreadWaitTimesOutWakesOnRequestAndReturnsWhenTheLogCloses() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        let waiter = HighWatermarkWaiter()
        let at0: [(log: PartitionLog, above: Int64)] = [(log, 0)]
        let at1: [(log: PartitionLog, above: Int64)] = [(log, 1)]
        // Nothing arrives: false after the timeout.
        #expect(waiter.wait(for: at0, timeoutNanos: 2_000_000) == false)
        // Data already there: true at once.
        try makeBatch(firstSeq: 0, count: 1).withUnsafeBytes { _ = try log.append($0) }
        #expect(waiter.wait(for: at0, timeoutNanos: 60_000_000_000))
        // wake() from another thread ends a long wait.
        let woke = DispatchSemaphore(value: 0)
        Thread {
            #expect(waiter.wait(for: at1, timeoutNanos: 60_000_000_000) == false)
            woke.signal()
        }.start()
        usleep(20_000)
        waiter.wake()
        #expect(woke.wait(timeout: .now() + 10) == .success)
        // Closing the directory ends a wait too.
        let closed = DispatchSemaphore(value: 0)
        Thread {
            _ = waiter.wait(for: at1, timeoutNanos: 60_000_000_000)
            closed.signal()
        }.start()
        usleep(20_000)
        try dir.close()
        #expect(closed.wait(timeout: .now() + 10) == .success)
    }

    @Test func manyTimedTaskWaitsShareOneTimerAndAnAppendWakesTheRest() async throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        // Half time out (5 ms); the other half wait long and are woken by an append.
        let results = await withTaskGroup(of: (Bool, Bool).self) { group in
            for i in 0..<64 {
                let short = i % 2 == 0
                group.addTask {
                    // Short waits watch an offset no append reaches here, so they can only time out.
                    let r = (try? await log.waitForHighWatermark(above: short ? 1_000 : 0, timeout: short ? .milliseconds(5) : .seconds(60))) ?? false
                    return (short, r)
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
            try? makeBatch(firstSeq: 0, count: 1).withUnsafeBytes { _ = try log.append($0) }
            var out: [(Bool, Bool)] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 64)
        #expect(results.filter { $0.0 }.allSatisfy { $0.1 == false })
        #expect(results.filter { !$0.0 }.allSatisfy { $0.1 == true })
    }

    @Test func aCancelledTaskWaitThrowsCancelled() async throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        let task = Task { try await log.waitForHighWatermark(above: 0, timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await #expect(throws: LogError.self) { _ = try await task.value }
    }
}
