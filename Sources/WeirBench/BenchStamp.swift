/// The first 8 bytes of every benchmark record's value: the intended send time in nanoseconds
/// on `monotonicNanos()`'s clock, little-endian. End-to-end latency is the consumer's
/// `monotonicNanos()` minus this stamp, so producer and consumer must share a clock (one host).
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

    /// A stamped copy of `template` (padded to 8 bytes when shorter).
    @inlinable
    public static func stampedCopy(of template: UnsafeRawBufferPointer, nanos: UInt64) -> [UInt8] {
        let count = Swift.max(size, template.count)
        return [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            let raw = UnsafeMutableRawPointer(buf.baseAddress!)
            if template.count > 0 { raw.copyMemory(from: template.baseAddress!, byteCount: template.count) }
            if template.count < size { (raw + template.count).initializeMemory(as: UInt8.self, repeating: 0, count: size - template.count) }
            write(nanos, into: raw)
            initialized = count
        }
    }
}
