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
