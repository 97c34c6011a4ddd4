public import WeirCompression

/// The 61-byte header of a RecordBatch v2, all fields parsed.
///
/// Parsing validates what can be validated without reading the records: the length bounds and
/// the magic. The CRC is checked separately (`RecordBatch.verifyCRC`, or `RecordBatch.scan`).
public struct RecordBatchHeader: Sendable, Hashable {
    /// `baseOffset` (int64): the offset of the first record. The log assigns it at append; it is
    /// not covered by the CRC.
    public var baseOffset: Int64
    /// `batchLength` (int32): the bytes after this field (the batch's total size minus 12).
    public var batchLength: Int32
    /// `partitionLeaderEpoch` (int32), set by the log; not covered by the CRC. −1 when unknown.
    public var partitionLeaderEpoch: Int32
    /// `magic` (int8), always 2.
    public var magic: Int8
    /// `crc` (uint32): the stored CRC-32C of bytes 21..<end.
    public var crc: UInt32
    /// `attributes` (int16): codec, timestamp type, transactional, control, delete horizon.
    public var attributes: RecordBatchAttributes
    /// `lastOffsetDelta` (int32): the last record's offset minus `baseOffset`.
    public var lastOffsetDelta: Int32
    /// `baseTimestamp` (int64): the first record's timestamp (the delete horizon when
    /// `attributes.hasDeleteHorizon`).
    public var baseTimestamp: Int64
    /// `maxTimestamp` (int64): the largest record timestamp, or the log append time.
    public var maxTimestamp: Int64
    /// `producerId` (int64), −1 when the producer is not idempotent.
    public var producerId: Int64
    /// `producerEpoch` (int16), −1 when the producer is not idempotent.
    public var producerEpoch: Int16
    /// `baseSequence` (int32): the first record's sequence number, −1 when not idempotent.
    public var baseSequence: Int32
    /// `recordsCount` (int32): the number of records.
    public var recordCount: Int32

    /// A header from its fields.
    public init(
        baseOffset: Int64 = 0, batchLength: Int32 = Int32(RecordBatchLayout.headerSize - RecordBatchLayout.logOverhead),
        partitionLeaderEpoch: Int32 = -1, magic: Int8 = RecordBatchLayout.currentMagic, crc: UInt32 = 0,
        attributes: RecordBatchAttributes = RecordBatchAttributes(), lastOffsetDelta: Int32 = -1,
        baseTimestamp: Int64 = -1, maxTimestamp: Int64 = -1, producerId: Int64 = -1,
        producerEpoch: Int16 = -1, baseSequence: Int32 = -1, recordCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Parses the header at the start of `bytes`, which must hold the whole batch.
    ///
    /// Throws `.truncatedBatch` when `bytes` is shorter than the header or than `batchLength`
    /// says, `.badBatchLength` when `batchLength` cannot hold a header, `.badMagic` when magic is
    /// not 2. Does not check the CRC.
    @inlinable
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RecordBatchError) {
        try RecordBatchHeader._validateFraming(bytes)
        self.init(unsafeUncheckedBytes: bytes.baseAddress!)
    }

    /// Parses the header at `pointer` with no checks at all: the caller guarantees 61 readable
    /// bytes (for instance after `RecordBatch.scan` accepted the batch).
    @inlinable
    public init(unsafeUncheckedBytes pointer: UnsafeRawPointer) {
        typealias L = RecordBatchLayout
        self.baseOffset = pointer._loadBigEndian(at: L.baseOffset, as: Int64.self)
        self.batchLength = pointer._loadBigEndian(at: L.batchLength, as: Int32.self)
        self.partitionLeaderEpoch = pointer._loadBigEndian(at: L.partitionLeaderEpoch, as: Int32.self)
        self.magic = pointer.load(fromByteOffset: L.magic, as: Int8.self)
        self.crc = pointer._loadBigEndian(at: L.crc, as: UInt32.self)
        self.attributes = RecordBatchAttributes(rawValue: pointer._loadBigEndian(at: L.attributes, as: Int16.self))
        self.lastOffsetDelta = pointer._loadBigEndian(at: L.lastOffsetDelta, as: Int32.self)
        self.baseTimestamp = pointer._loadBigEndian(at: L.baseTimestamp, as: Int64.self)
        self.maxTimestamp = pointer._loadBigEndian(at: L.maxTimestamp, as: Int64.self)
        self.producerId = pointer._loadBigEndian(at: L.producerId, as: Int64.self)
        self.producerEpoch = pointer._loadBigEndian(at: L.producerEpoch, as: Int16.self)
        self.baseSequence = pointer._loadBigEndian(at: L.baseSequence, as: Int32.self)
        self.recordCount = pointer._loadBigEndian(at: L.recordsCount, as: Int32.self)
    }

    /// Checks that `bytes` starts with a whole batch of magic 2: at least a header, a plausible
    /// `batchLength`, and all the bytes it announces. Returns the batch's total size.
    @inlinable @discardableResult
    static func _validateFraming(_ bytes: UnsafeRawBufferPointer) throws(RecordBatchError) -> Int {
        typealias L = RecordBatchLayout
        guard let base = bytes.baseAddress, bytes.count >= L.logOverhead else {
            throw _Errors.truncated(have: bytes.count, need: L.logOverhead, what: "baseOffset and batchLength")
        }
        let length = Int(base._loadBigEndian(at: L.batchLength, as: Int32.self))
        guard length >= L.headerSize - L.logOverhead else { throw _Errors.badLength(length) }
        if bytes.count > L.magic {
            let magic = base.load(fromByteOffset: L.magic, as: Int8.self)
            guard magic == L.currentMagic else { throw _Errors.badMagic(magic) }
        }
        let total = length + L.logOverhead
        guard bytes.count >= total else {
            throw _Errors.truncated(have: bytes.count, need: total, what: "the batch")
        }
        return total
    }

    /// Writes the header at `pointer` (61 bytes), the stored `crc` included.
    @inlinable
    public func write(to pointer: UnsafeMutableRawPointer) {
        typealias L = RecordBatchLayout
        pointer._storeBigEndian(baseOffset, at: L.baseOffset)
        pointer._storeBigEndian(batchLength, at: L.batchLength)
        pointer._storeBigEndian(partitionLeaderEpoch, at: L.partitionLeaderEpoch)
        pointer.storeBytes(of: magic, toByteOffset: L.magic, as: Int8.self)
        pointer._storeBigEndian(crc, at: L.crc)
        pointer._storeBigEndian(attributes.rawValue, at: L.attributes)
        pointer._storeBigEndian(lastOffsetDelta, at: L.lastOffsetDelta)
        pointer._storeBigEndian(baseTimestamp, at: L.baseTimestamp)
        pointer._storeBigEndian(maxTimestamp, at: L.maxTimestamp)
        pointer._storeBigEndian(producerId, at: L.producerId)
        pointer._storeBigEndian(producerEpoch, at: L.producerEpoch)
        pointer._storeBigEndian(baseSequence, at: L.baseSequence)
        pointer._storeBigEndian(recordCount, at: L.recordsCount)
    }

    /// The batch's size in bytes, header included (`batchLength` + 12).
    @inlinable
    public var totalSize: Int { Int(batchLength) &+ RecordBatchLayout.logOverhead }

    /// The offset of the last record (`baseOffset + lastOffsetDelta`).
    @inlinable
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }

    /// The offset after the batch (`lastOffset + 1`).
    @inlinable
    public var nextOffset: Int64 { lastOffset &+ 1 }

    /// The codec (`compression.type`), or nil for an unknown codec value.
    @inlinable
    public var codec: CompressionCodec? { attributes.codec }

    /// `CreateTime` or `LogAppendTime`.
    @inlinable
    public var timestampType: TimestampType { attributes.timestampType }

    /// Part of a transaction.
    @inlinable
    public var isTransactional: Bool { attributes.isTransactional }

    /// A control batch (a transaction marker); consumers skip its records.
    @inlinable
    public var isControl: Bool { attributes.isControl }

    /// The producer is idempotent (`producerId` ≥ 0).
    @inlinable
    public var hasProducerId: Bool { producerId >= 0 }

    /// The sequence number of the last record (`baseSequence + lastOffsetDelta`, wrapping at
    /// Int32.max as Kafka does), or −1 when not idempotent.
    @inlinable
    public var lastSequence: Int32 {
        guard baseSequence >= 0 else { return -1 }
        let next = Int64(baseSequence) + Int64(lastOffsetDelta)
        return next > Int64(Int32.max) ? Int32(next - Int64(Int32.max) - 1) : Int32(next)
    }
}

/// Error constructors, kept out of line so that hot paths stay small.
@usableFromInline
enum _Errors {
    @usableFromInline @inline(never)
    static func truncated(have: Int, need: Int, what: String) -> RecordBatchError {
        RecordBatchError(.truncatedBatch, at: have, "truncated batch: \(what) needs \(need) bytes but only \(have) are present")
    }

    @usableFromInline @inline(never)
    static func badLength(_ length: Int) -> RecordBatchError {
        RecordBatchError(
            .badBatchLength, at: RecordBatchLayout.batchLength,
            "batchLength \(length) at byte \(RecordBatchLayout.batchLength) is below the minimum \(RecordBatchLayout.headerSize - RecordBatchLayout.logOverhead)")
    }

    @usableFromInline @inline(never)
    static func badMagic(_ magic: Int8) -> RecordBatchError {
        RecordBatchError(
            .badMagic, at: RecordBatchLayout.magic,
            "magic \(magic) at byte \(RecordBatchLayout.magic) is not 2; only RecordBatch v2 is supported")
    }

    @usableFromInline @inline(never)
    static func crcMismatch(stored: UInt32, computed: UInt32) -> RecordBatchError {
        RecordBatchError(
            .crcMismatch, at: RecordBatchLayout.crc,
            "CRC mismatch: stored 0x\(String(stored, radix: 16)) at byte \(RecordBatchLayout.crc), computed 0x\(String(computed, radix: 16)) over bytes \(RecordBatchLayout.crcCoverageStart)..<end")
    }
}
