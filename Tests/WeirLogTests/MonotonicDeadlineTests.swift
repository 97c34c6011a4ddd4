import Testing
@testable import WeirLog

/// `MonotonicDeadline`, the deadline every wait loop uses on the one clock. No timing: the
/// deadlines are either already past or an hour away.
@Suite struct MonotonicDeadlineTests {
    @Test func aZeroOrNegativeTimeoutHasPassedAtOnce() {
        #expect(MonotonicDeadline(after: .zero).hasPassed)
        #expect(MonotonicDeadline(after: .seconds(-5)).hasPassed)
        #expect(MonotonicDeadline(afterSeconds: -1).remaining == .zero)
    }

    @Test func aFarDeadlineHasNotPassedAndCountsDown() {
        let d = MonotonicDeadline(after: .seconds(3600))
        #expect(!d.hasPassed)
        #expect(d.remaining > .seconds(3500) && d.remaining <= .seconds(3600))
        #expect(MonotonicDeadline(after: .zero) < d)
    }

    @Test func hugeTimeoutsSaturateInsteadOfTrapping() {
        #expect(!MonotonicDeadline(after: .seconds(Int64.max)).hasPassed)
        #expect(!MonotonicDeadline(afterSeconds: .infinity).hasPassed)
        #expect(Duration.seconds(Int64.max)._nanoseconds == .max)
        #expect(Duration.seconds(-Int64.max)._nanoseconds == .min)
        #expect(Duration.milliseconds(1500)._nanoseconds == 1_500_000_000)
    }
}
