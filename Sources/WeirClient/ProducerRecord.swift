#if canImport(Glibc)
import Glibc
#endif
public import WeirFormat
public import WeirLog

/// A record to send: Kafka's `ProducerRecord`.
public struct ProducerRecord: Sendable {
    public var topic: String
    /// An explicit partition; nil lets the partitioner choose.
    public var partition: Int32?
    /// The key bytes, nil for a null key (spread by the sticky partitioner).
    public var key: [UInt8]?
    /// The value bytes, nil for a null value (a tombstone on a compacted topic).
    public var value: [UInt8]?
    public var headers: [RecordHeader]
    /// `CreateTime` in milliseconds since the epoch; nil uses the current time.
    public var timestamp: Int64?

    public init(topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]?,
                headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// A record with UTF-8 text key and value.
    public init(topic: String, partition: Int32? = nil, key: String? = nil, value: String?,
                headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) },
                  headers: headers, timestamp: timestamp)
    }

    /// The size the record takes in a batch, approximately (Kafka's `estimateSizeInBytesUpperBound`).
    var estimatedSize: Int {
        var n = 21 + (key?.count ?? 0) + (value?.count ?? 0)
        for h in headers { n += 10 + h.key.utf8.count + (h.value?.count ?? 0) }
        return n
    }
}

/// Where a record landed: Kafka's `RecordMetadata`.
public struct RecordMetadata: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The record's offset in its partition.
    public var offset: Int64
    /// The record's timestamp (`CreateTime`).
    public var timestamp: Int64

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }

    public var description: String { "\(topic)-\(partition)@\(offset)" }
}

/// The outcome of one record sent with `Producer.produce`, published on
/// `Producer.deliveryReports` when `deliveryReportsEnabled` is set.
public struct DeliveryReport: Sendable {
    /// The id `produce` returned for the record.
    public var id: UInt64
    public var topic: String
    public var partition: Int32
    public var result: Result<RecordMetadata, ClientError>
}

/// The outcome of one batch for `Producer.onDelivery`: record `i` of the batch got offset
/// `baseOffset + i` (or the batch's error), and `opaques[i]` is what it was sent with.
public struct DeliveryBatchReport: Sendable {
    public var topicPartition: TopicPartition
    /// The offset of the batch's first record, or the error that failed every record in it.
    public var result: Result<Int64, ClientError>
    /// The records' opaques (`produceNow(opaque:)`, or the id for `send`/`produce`), in order.
    public var opaques: [UInt64]
}

/// The producer's counters.
public struct ProducerStatistics: Sendable, Hashable {
    /// Records acknowledged by the log.
    public var recordsSent: Int64
    /// Records that failed (their delivery result is an error).
    public var recordsFailed: Int64
    /// Batches appended to the log.
    public var batchesSent: Int64
    /// Bytes of batches appended (after compression).
    public var bytesSent: Int64
    /// Batches retried after a retriable failure.
    public var retries: Int64
    /// Retried batches the log recognised as duplicates (written once).
    public var duplicatesSuppressed: Int64
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
