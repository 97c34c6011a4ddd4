public import WeirFormat

/// A load generator's send stamp: the record's intended send time in nanoseconds on
/// `monotonicNanos()`'s clock, carried in one record header (`weir.stamp`, 8 bytes big-endian)
/// so that the record's value is sent byte for byte as the caller gave it.
///
/// A header is exact on every backend: RecordBatch v2 keeps header bytes as written, on the
/// embedded log and through a Kafka broker alike, where the record timestamp (`CreateTime`) has
/// only millisecond resolution. The stamp is comparable only with `monotonicNanos()` on the same
/// host; across hosts compare the record timestamp (wall clock, ms) instead.
public enum SendStamp {
    /// The header key.
    public static let headerKey = "weir.stamp"
    /// The header key's UTF-8 bytes.
    public static let headerKeyBytes: [UInt8] = Array(headerKey.utf8)
    /// Bytes of the header value.
    public static let size = 8

    /// Writes `nanos` big-endian into `buffer` (at least 8 bytes).
    @inlinable
    public static func write(_ nanos: UInt64, into buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: nanos.bigEndian, as: UInt64.self)
    }

    /// The stamp in a header value, nil unless it is exactly 8 bytes.
    @inlinable
    public static func read(_ value: UnsafeRawBufferPointer?) -> UInt64? {
        guard let value, value.count == size else { return nil }
        return UInt64(bigEndian: value.loadUnaligned(as: UInt64.self))
    }

    /// The stamp header as an owned `RecordHeader` (for backends that copy headers anyway).
    public static func header(_ nanos: UInt64) -> RecordHeader {
        withUnsafeBytes(of: nanos.bigEndian) { RecordHeader(key: headerKey, value: Array($0)) }
    }
}

extension MessageProducer {
    /// A producer without a stamped thread path sends the record with `produceNow` alone: the
    /// value is unchanged, but the record carries no stamp and the producer's own timestamp, so
    /// a load generator measures no end-to-end latency through it (its report shows none).
    public func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                           timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) {
        try produceNow(topic: topic, key: key, value: value, opaque: opaque)
    }
}
