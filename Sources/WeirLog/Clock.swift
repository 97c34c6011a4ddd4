public import CWeirSupport
import Glibc

// The one clock of Weir: the log core, the clients, the bench and the patterns read time here
// (WeirClientAPI re-exports `monotonicNanos`).

/// The monotonic clock every Weir measurement, deadline and timeout uses, in nanoseconds.
///
/// The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// `monotonicNanos()` as the signed count the client's deadlines use.
@inlinable @inline(__always)
package func _monotonicNanos() -> Int64 {
    Int64(bitPattern: monotonicNanos())
}

/// Wall-clock time in milliseconds since the epoch (record timestamps, `CreateTime`).
///
/// The corresponding C function is `clock_gettime(CLOCK_REALTIME)`.
package func _wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A record's `CreateTime` when the caller gives none (Kafka's producer: `time.milliseconds()`
/// per record): `_wallMillis()` read at most once per 65,536 CPU cycles on each thread (on
/// x86-64; every call elsewhere), never later than the clock and at most about 66 µs earlier.
/// The clock read was about a fifth of `Producer.produceNow`'s time per record.
@inlinable @inline(__always)
package func _recordTimestampMillis() -> Int64 {
    weir_record_time_millis()
}

/// A moment on the one monotonic clock after which a wait gives up: what the wait loops of
/// the clients, the Kafka backend and the bench compare against, so that no second clock
/// (`ContinuousClock`) computes deadlines beside `monotonicNanos()`.
public struct MonotonicDeadline: Sendable, Comparable {
    /// `monotonicNanos()` at the deadline.
    public let nanos: UInt64

    /// The deadline `timeout` from now (a negative timeout is now; a huge one saturates).
    public init(after timeout: Duration) {
        let (now, overflow) = monotonicNanos().addingReportingOverflow(UInt64(max(0, timeout._nanoseconds)))
        nanos = overflow ? .max : now
    }

    /// The deadline `seconds` from now.
    public init(afterSeconds seconds: Double) {
        self.init(after: .nanoseconds(Int64(min(max(0, seconds), 9e9) * 1e9)))
    }

    /// Whether the deadline is now or past.
    public var hasPassed: Bool { monotonicNanos() >= nanos }

    /// The time left (zero once passed).
    public var remaining: Duration {
        let now = monotonicNanos()
        return .nanoseconds(nanos > now ? Int64(clamping: nanos - now) : 0)
    }

    public static func < (a: Self, b: Self) -> Bool { a.nanos < b.nanos }
}

extension Duration {
    /// Whole nanoseconds, saturating at `Int64.max` and `Int64.min`.
    package var _nanoseconds: Int64 {
        let (s, a) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (sum, o2) = ns.addingReportingOverflow(a / 1_000_000_000)
        return o2 ? (s < 0 ? .min : .max) : sum
    }
}
