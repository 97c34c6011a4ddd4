#if canImport(Glibc)
import Glibc
#endif

// `monotonicNanos()`, the clock of every measurement, is the seam's (WeirClientAPI), re-exported.
@_exported public import func WeirClientAPI.monotonicNanos

/// CPU time (user + system) used by this process so far, in nanoseconds.
///
/// The corresponding C function is `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`.
public func processCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// One throughput measurement: a median over repeats, with the spread, so that a reader can
/// tell signal from noise on a shared machine.
public struct ThroughputSample: Sendable, Codable, Equatable {
    /// Units processed per second (records or bytes, as the caller counts them), median of repeats.
    public var perSecond: Double
    /// The slowest and fastest repeat.
    public var minPerSecond: Double
    public var maxPerSecond: Double
    public var repeats: Int

    /// (max − min) / median: the run-to-run spread.
    public var spread: Double { perSecond > 0 ? (maxPerSecond - minPerSecond) / perSecond : 0 }
}

/// Runs `body` in repeats of at least `minNanos` each and returns the median rate.
///
/// `body` performs one unit of work and returns how many units (records, bytes) it processed.
/// The first repeat is a warmup and is discarded.
public func measureThroughput(
    repeats: Int = 5, minNanos: UInt64 = 200_000_000, _ body: () throws -> Int
) rethrows -> ThroughputSample {
    var rates: [Double] = []
    for r in 0...repeats {
        var units = 0
        let start = monotonicNanos()
        var now = start
        repeat {
            units += try body()
            now = monotonicNanos()
        } while now - start < minNanos
        if r > 0 { rates.append(Double(units) * 1e9 / Double(now - start)) }
    }
    rates.sort()
    return ThroughputSample(
        perSecond: rates[rates.count / 2], minPerSecond: rates.first ?? 0,
        maxPerSecond: rates.last ?? 0, repeats: rates.count)
}

/// Sleeps for `nanos` nanoseconds, resuming after signals.
///
/// The corresponding C function is `nanosleep`.
public func sleepNanos(_ nanos: UInt64) {
    var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

/// Sets the calling thread's timer slack to 1 µs so that short sleeps in the load generator
/// wake on time (Linux defaults to 50 µs). The corresponding C function is
/// `prctl(PR_SET_TIMERSLACK)`.
func _setPreciseTimerSlack() {
    #if os(Linux)
    _ = _prctl(29 /* PR_SET_TIMERSLACK */, 1000, 0, 0, 0)
    #endif
}

#if os(Linux)
@_silgen_name("prctl")
private func _prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt, _ arg4: UInt, _ arg5: UInt) -> Int32
#endif
