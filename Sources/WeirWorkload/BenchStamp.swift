import Foundation
import WeirClientAPI

/// A pattern scenario's end-to-end stamp: the first 8 bytes of the value carry the intended send
/// time in nanoseconds on `monotonicNanos()`'s clock, little-endian. Only pattern scenarios use
/// it (their records pass through components that keep only the value); every other run sends
/// the value unchanged and carries the stamp in a `SendStamp` header.
public enum BenchStamp {
    /// Bytes the stamp takes; values are at least this long.
    public static let size = 8

    /// Writes `nanos` into the first 8 bytes of `buffer` (which has at least 8 bytes).
    @inlinable
    public static func write(_ nanos: UInt64, into buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: nanos.littleEndian, as: UInt64.self)
    }

    /// The stamp of a value, or nil when the value is shorter than 8 bytes.
    @inlinable
    public static func read(_ value: UnsafeRawBufferPointer) -> UInt64? {
        guard value.count >= size else { return nil }
        return UInt64(littleEndian: value.loadUnaligned(as: UInt64.self))
    }
}

/// The mapping from `monotonicNanos()` to the wall clock, taken once per process: the record
/// timestamp of a bench record is its intended send time on the wall clock, in ms.
public enum BenchClock {
    /// Wall-clock nanoseconds since the epoch minus `monotonicNanos()`, at the first use.
    public static let wallMinusMonotonic: Int64 = Int64(Date().timeIntervalSince1970 * 1e9) - Int64(monotonicNanos())

    /// The wall-clock time (ms since the epoch) of a `monotonicNanos()` instant.
    @inlinable
    public static func wallMillis(monotonic nanos: UInt64) -> Int64 {
        (Int64(nanos) &+ wallMinusMonotonic) / 1_000_000
    }
}
