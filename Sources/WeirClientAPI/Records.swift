public import WeirFormat
public import WeirLog

// The records that cross the seam: what a producer sends, where it landed, what a consumer
// reads (owned or borrowed) and what a producer reports.

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
    package var estimatedSize: Int {
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

/// A consumed record that owns its bytes (Sendable): what the `AsyncSequence` delivers and what
/// `ConsumerMessage.copy()` returns.
public struct ConsumerRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Int64
    public var timestampType: TimestampType
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, timestampType: TimestampType = .createTime,
                key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.key = key
        self.value = value
        self.headers = headers
    }

    package init(topicPartition: TopicPartition, timestampType: TimestampType, _ r: Record) {
        self.init(topic: topicPartition.topic, partition: topicPartition.partition, offset: r.offset, timestamp: r.timestamp,
                  timestampType: timestampType, key: r.key, value: r.value, headers: r.headers)
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    /// The value as UTF-8 text (nil for a null value).
    public var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }
    /// The key as UTF-8 text (nil for a null key).
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// A consumed record borrowed for the duration of one call of a `pollBlocking` body: key and
/// value are views into the client's buffers (the log's mapping on the embedded backend,
/// librdkafka's message on Kafka). Copy what must outlive the call.
public struct ConsumerRecordView {
    public let partition: Int32
    public let offset: Int64
    /// The key, nil for a null key. Valid only inside the body.
    public let key: UnsafeRawBufferPointer?
    /// The value, nil for a null value (a tombstone). Valid only inside the body.
    public let value: UnsafeRawBufferPointer?
    /// The record's timestamp (ms since the epoch), -1 when the backend does not lend it.
    public let timestamp: Int64
    /// The record's `SendStamp` header, nil when it has none.
    public let stamp: UInt64?

    @inlinable
    public init(partition: Int32, offset: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                timestamp: Int64 = -1, stamp: UInt64? = nil) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.stamp = stamp
    }
}

/// The outcome of records sent with `MessageProducer.produceNow(topic:key:value:opaque:)`, as the
/// producer's delivery handler receives it (librdkafka's `dr_msg_cb`): one call per batch on the
/// embedded log, one per record on Kafka. Record `i` got offset `baseOffset + i` (or the
/// batch's error), and `opaques[i]` is what it was sent with.
public struct DeliveryBatchReport: Sendable {
    public init(topicPartition: TopicPartition, result: Result<Int64, ClientError>, opaques: [UInt64]) {
        self.topicPartition = topicPartition
        self.result = result
        self.opaques = opaques
    }

    public var topicPartition: TopicPartition
    /// The offset of the batch's first record, or the error that failed every record in it.
    public var result: Result<Int64, ClientError>
    /// The records' opaques (`produceNow(opaque:)`, or the id for `send`/`produce`), in order.
    public var opaques: [UInt64]
}

/// The producer's counters.
public struct ProducerStatistics: Sendable, Hashable {
    public init(recordsSent: Int64 = 0, recordsFailed: Int64 = 0, batchesSent: Int64 = 0, bytesSent: Int64 = 0, retries: Int64 = 0, duplicatesSuppressed: Int64 = 0,
                uncompressedBytesSent: Int64 = 0) {
        self.uncompressedBytesSent = uncompressedBytesSent
        self.recordsSent = recordsSent
        self.recordsFailed = recordsFailed
        self.batchesSent = batchesSent
        self.bytesSent = bytesSent
        self.retries = retries
        self.duplicatesSuppressed = duplicatesSuppressed
    }

    /// Records acknowledged by the log.
    public var recordsSent: Int64
    /// Records that failed (their delivery result is an error).
    public var recordsFailed: Int64
    /// Batches appended to the log.
    public var batchesSent: Int64
    /// Bytes of batches appended (after compression).
    public var bytesSent: Int64
    /// The same batches' bytes before compression (header and records), 0 when the backend
    /// does not count them; `uncompressedBytesSent / bytesSent` is the inverse of Kafka's
    /// `compression-rate-avg`.
    public var uncompressedBytesSent: Int64
    /// Batches retried after a retriable failure.
    public var retries: Int64
    /// Retried batches the log recognised as duplicates (written once).
    public var duplicatesSuppressed: Int64
}

