import Foundation
import Testing
@testable import WeirLog

/// `_recordTimestampMillis`, the producer's `CreateTime` clock: a cached wall-clock
/// millisecond per thread, never later than the clock and at most a few microseconds earlier.
@Suite struct RecordClockTests {
    @Test func aRecordTimestampLiesBetweenTheClockBeforeAndAfterIt() {
        // Staleness is bounded by 65,536 cycles (well under a millisecond), so a timestamp is
        // at least the millisecond before the clock read before it, and never past the one after.
        for _ in 0..<200_000 {
            let before = _wallMillis()
            let stamp = _recordTimestampMillis()
            let after = _wallMillis()
            #expect(stamp >= before - 1 && stamp <= after, "stamp \(stamp) outside [\(before - 1), \(after)]")
            if !(stamp >= before - 1 && stamp <= after) { return }
        }
    }

    @Test func threadsKeepTheirOwnCacheAndStayWithinTheBound() async {
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var failed = 0
                    for _ in 0..<50_000 {
                        let before = _wallMillis()
                        let stamp = _recordTimestampMillis()
                        let after = _wallMillis()
                        if stamp < before - 1 || stamp > after { failed += 1 }
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
