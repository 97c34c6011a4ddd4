import Foundation
import Synchronization
import Testing
@testable import WeirLog

/// `_Parker`, the futex-word parker behind `HighWatermarkWaiter` and the shared wait timer.
@Suite struct LogParkerTests {
    @Test func anUnparkBeforeTheParkIsKeptAndConsumedOnce() {
        let p = _Parker()
        p.unpark()
        p.unpark()
        #expect(p.park(untilNanos: monotonicNanos() + 60_000_000_000), "the earlier unpark makes the park return")
        #expect(p.park(untilNanos: monotonicNanos() + 2_000_000) == false, "two unparks are one wake-up")
        #expect(p.park(untilNanos: 0) == false, "a deadline in the past returns at once")
    }

    @Test func aParkedThreadWakesForEveryUnparkOfAnotherThread() {
        let p = _Parker()
        let rounds = 2_000
        let turn = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        // Ping-pong: the other thread parks until it sees its turn; each unpark must reach it.
        Thread {
            var seen = 0
            while seen < rounds {
                if turn.load(ordering: .acquiring) > seen { seen += 1; continue }
                p.park(untilNanos: monotonicNanos() + 60_000_000_000)
            }
            done.signal()
        }.start()
        for _ in 0..<rounds {
            turn.add(1, ordering: .releasing)
            p.unpark()
            if Int.random(in: 0..<8) == 0 { usleep(50) }
        }
        #expect(done.wait(timeout: .now() + 120) == .success)
    }
}
