#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one record sent with `Producer.produce`, published on
/// `Producer.deliveryReports` when `deliveryReportsEnabled` is set.
public struct DeliveryReport: Sendable {
    /// The id `produce` returned for the record.
    public var id: UInt64
    public var topic: String
    public var partition: Int32
    public var result: Result<RecordMetadata, ClientError>
}

@inline(__always)
func _wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

@inline(__always)
func _monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
