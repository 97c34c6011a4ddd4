public import WeirFormat
public import WeirLog

/// One record handed to a consumer handler, without copying: key, value and headers are views
/// into the log's mapping (or, for a compressed batch, into the batch's decompressed buffer).
///
/// Valid only during the handler call that received it (`eachMessage`, `eachBatch`,
/// `ConsumerBatch.forEach`). Call `copy()` for a `ConsumerRecord` that outlives it.
public struct ConsumerMessage {
    /// The record itself (offset, timestamp, key, value, headers as views).
    public let record: UnsafeRecordView
    /// The batch's timestamp type (`CreateTime` or `LogAppendTime`).
    public let timestampType: TimestampType
    /// The batch the message belongs to, not retained: a message never outlives its batch's
    /// handler call, and this keeps reference counting off the per-record path.
    @usableFromInline let _batch: Unmanaged<ConsumerBatch>

    @inlinable @inline(__always)
    init(batch: Unmanaged<ConsumerBatch>, record: UnsafeRecordView, timestampType: TimestampType) {
        self._batch = batch
        self.record = record
        self.timestampType = timestampType
    }

    /// The record's topic and partition.
    public var topicPartition: TopicPartition { _batch._withUnsafeGuaranteedRef { $0.topicPartition } }
    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
    @inlinable public var offset: Int64 { record.offset }
    @inlinable public var timestamp: Int64 { record.timestamp }
    /// The key, nil for a null key. Valid only during the handler call.
    @inlinable public var key: UnsafeRawBufferPointer? { record.key }
    /// The value, nil for a null value (a tombstone). Valid only during the handler call.
    @inlinable public var value: UnsafeRawBufferPointer? { record.value }
    /// The headers, as views. Valid only during the handler call.
    @inlinable public var headers: UnsafeRecordHeaders { record.headers }

    /// An owned copy that may outlive the handler call.
    public func copy() -> ConsumerRecord {
        ConsumerRecord(topicPartition: topicPartition, timestampType: timestampType, Record(record))
    }
}

/// A committed offset: the next offset to consume (last processed + 1), with its metadata.
public struct OffsetAndMetadata: Sendable, Hashable {
    /// The next offset to consume.
    public var offset: Int64
    /// Free-form metadata stored with the commit.
    public var metadata: String
    /// When the commit was made (ms since the epoch).
    public var commitTimestamp: Int64
    /// The leader epoch (-1: unknown; the embedded log has one epoch).
    public var leaderEpoch: Int32

    public init(offset: Int64, metadata: String = "", commitTimestamp: Int64 = 0, leaderEpoch: Int32 = -1) {
        self.offset = offset
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
        self.leaderEpoch = leaderEpoch
    }
}
