public import WeirFormat

/// A topic and a partition number: the unit the log stores (`<topic>-<partition>/`).
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// The partition's directory name, `<topic>-<partition>`.
    public var directoryName: String { "\(topic)-\(partition)" }
    public var description: String { directoryName }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}

/// The producer's `acks`: when an append is acknowledged.
public enum Acks: Sendable, Hashable, CustomStringConvertible {
    /// `acks=0`: fire and forget.
    case none
    /// `acks=1`: once the batch is in the mapping (survives a process crash, not a power loss).
    case leader
    /// `acks=all` (or `-1`): once the batch is on disk (`fdatasync`), group-committed across the
    /// appenders waiting at the same time.
    case all

    /// Parses Kafka's spellings: `0`, `1`, `all`, `-1`.
    public init?(kafkaValue: String) {
        switch kafkaValue {
        case "0": self = .none
        case "1": self = .leader
        case "all", "-1": self = .all
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .none: "0"
        case .leader: "1"
        case .all: "all"
        }
    }
}

/// Where an append landed.
public struct AppendResult: Sendable, Hashable {
    /// The offset assigned to the first record.
    public var baseOffset: Int64
    /// The offset of the last record.
    public var lastOffset: Int64
    /// The partition's log-start offset at the time of the append.
    public var logStartOffset: Int64
    /// The number of batches appended.
    public var batchCount: Int
    /// The number of records appended (sum of the batches' `recordsCount`).
    public var recordCount: Int
    /// The batch was a retry of one already written (same producer id, epoch and sequence
    /// range); nothing was written and the offsets are the original ones.
    public var isDuplicate: Bool = false
}

/// A record batch inside a segment's mapping, read without copying.
///
/// The view keeps its segment mapped: even if retention or compaction deletes the segment, the
/// bytes stay valid for as long as a view exists. Access the bytes inside a closure
/// (`withUnsafeBytes` or `withBytes`); do not let the pointer escape the closure.
public struct RecordBatchView: Sendable {
    let _segment: _Segment
    /// The batch's byte position in its segment's `.log`.
    public let position: Int
    /// The batch's size in bytes (12-byte prefix included).
    public let size: Int

    init(segment: _Segment, position: Int, size: Int) {
        self._segment = segment
        self.position = position
        self.size = size
    }

    @inline(__always) var _base: UnsafeRawPointer { UnsafeRawPointer(_segment.log.base!) + position }

    /// The batch's header, parsed from the mapping.
    public var header: RecordBatchHeader { RecordBatchHeader(unsafeUncheckedBytes: _base) }
    /// The base offset of the segment holding this batch.
    public var segmentBaseOffset: Int64 { _segment.baseOffset }
    public var baseOffset: Int64 { _base._loadBE(RecordBatchLayout.baseOffset, as: Int64.self) }
    public var lastOffset: Int64 { baseOffset + Int64(_base._loadBE(RecordBatchLayout.lastOffsetDelta, as: Int32.self)) }
    public var recordsCount: Int32 { _base._loadBE(RecordBatchLayout.recordsCount, as: Int32.self) }
    public var baseTimestamp: Int64 { _base._loadBE(RecordBatchLayout.baseTimestamp, as: Int64.self) }
    public var maxTimestamp: Int64 { _base._loadBE(RecordBatchLayout.maxTimestamp, as: Int64.self) }
    public var attributes: Int16 { _base._loadBE(RecordBatchLayout.attributes, as: Int16.self) }
    public var producerId: Int64 { _base._loadBE(RecordBatchLayout.producerId, as: Int64.self) }
    public var producerEpoch: Int16 { _base._loadBE(RecordBatchLayout.producerEpoch, as: Int16.self) }
    public var baseSequence: Int32 { _base._loadBE(RecordBatchLayout.baseSequence, as: Int32.self) }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    /// The CRC-32C stored in the header.
    public var storedChecksum: UInt32 { _base._loadBE(RecordBatchLayout.crc, as: UInt32.self) }
    /// Recomputes the CRC-32C over bytes 21..<end and compares it with the stored one.
    public var isChecksumValid: Bool {
        withUnsafeBytes { RecordBatch.computeCRC($0, totalSize: size) } == storedChecksum
    }

    /// Calls `body` with the batch's bytes in the mapping. The pointer is valid only inside `body`.
    @inline(__always)
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(_segment) { () throws(E) -> R in
            try body(UnsafeRawBufferPointer(start: _base, count: size))
        }
    }

    /// Calls `body` with the batch's bytes as a `RawSpan` over the mapping.
    @inline(__always)
    public func withBytes<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { (raw) throws(E) -> R in try body(raw.bytes) }
    }

    /// Copies the batch out of the mapping (for a batch that must outlive the views).
    public func copyBytes() -> [UInt8] { withUnsafeBytes { Array($0) } }
}

/// The answer to `PartitionLog.read(from:maxBytes:)`.
public struct LogReadResult: Sendable {
    /// Whole batches, in offset order, starting with the batch that contains the requested offset.
    public var batches: [RecordBatchView]
    /// The offset to read from next (one past the last offset returned, or the requested offset).
    public var nextOffset: Int64
    /// The high-water mark when the read started.
    public var highWatermark: Int64
    /// The last stable offset when the read started.
    public var lastStableOffset: Int64
    /// The log-start offset when the read started.
    public var logStartOffset: Int64
    /// Total bytes of `batches`.
    public var byteCount: Int
}
