import WeirCompression

/// Iterates the records of one batch, validating each record as it goes and yielding
/// zero-copy `UnsafeRecordView`s.
///
/// For an uncompressed batch the views point into the batch bytes; for a compressed batch into
/// the scratch buffer of the `RecordBatchDecoder` that produced the iterator. Either way the
/// iterator and its views are valid only inside the closure that handed them out.
///
/// `next()` throws `RecordBatchError` for malformed records (and, for an iterator whose batch
/// could not be prepared, the preparation error on the first call). Once the declared
/// `recordsCount` records are read, it checks that no bytes are left over.
public struct UnsafeRecordIterator {
    /// The batch's header.
    public let header: RecordBatchHeader
    @usableFromInline let _base: UnsafeRawPointer?
    @usableFromInline var _position: Int
    @usableFromInline let _end: Int
    @usableFromInline var _remaining: Int
    @usableFromInline let _logAppendTime: Bool
    @usableFromInline var _error: RecordBatchError?

    /// An iterator over `base[start..<end]` holding `header.recordCount` records.
    @inlinable
    init(header: RecordBatchHeader, base: UnsafeRawPointer?, start: Int, end: Int) {
        self.header = header
        self._base = base
        self._position = start
        self._end = end
        self._remaining = Int(header.recordCount)
        self._logAppendTime = header.attributes.timestampType == .logAppendTime
        self._error = header.recordCount < 0 ? _RecordErrors.negativeCount(header.recordCount) : nil
    }

    /// An iterator that throws `error` on its first `next()`.
    @inlinable
    init(header: RecordBatchHeader, failing error: RecordBatchError) {
        self.header = header
        self._base = nil
        self._position = 0
        self._end = 0
        self._remaining = 0
        self._logAppendTime = false
        self._error = error
    }

    /// Calls `body` with an iterator over the records of the **uncompressed** batch at the start
    /// of `batch`, with views pointing into `batch`.
    ///
    /// Checks framing and magic, and the CRC when `verifyingCRC` is true; any failure (and a
    /// compressed batch, which needs a `RecordBatchDecoder`) is thrown by the first `next()`.
    @inlinable
    public static func withRecords<R, E: Error>(
        in batch: UnsafeRawBufferPointer, verifyingCRC: Bool = true,
        _ body: (inout UnsafeRecordIterator) throws(E) -> R
    ) throws(E) -> R {
        var iterator = _make(batch, verifyingCRC: verifyingCRC)
        return try body(&iterator)
    }

    @inlinable
    static func _make(_ batch: UnsafeRawBufferPointer, verifyingCRC: Bool) -> UnsafeRecordIterator {
        let header: RecordBatchHeader
        do {
            header = try verifyingCRC ? RecordBatch.verify(batch) : RecordBatchHeader(parsing: batch)
        } catch {
            return UnsafeRecordIterator(header: RecordBatchHeader(), failing: error)
        }
        guard header.attributes.rawValue & RecordBatchAttributes.codecMask == 0 else {
            return UnsafeRecordIterator(header: header, failing: _RecordErrors.needsDecoder(header))
        }
        return UnsafeRecordIterator(
            header: header, base: batch.baseAddress, start: RecordBatchLayout.headerSize, end: header.totalSize)
    }

    /// The number of records not yet returned.
    @inlinable
    public var remainingCount: Int { _remaining }

    /// The next record, or nil after the last one.
    @inlinable @inline(__always)
    public mutating func next() throws(RecordBatchError) -> UnsafeRecordView? {
        if let error = _error { throw error }
        guard _remaining > 0 else {
            if _position != _end {
                let error = _RecordErrors.leftover(header.recordCount, _end &- _position, at: _position)
                _error = error
                throw error
            }
            return nil
        }
        do {
            let record = try _decodeRecord()
            _remaining &-= 1
            return record
        } catch {
            _error = error
            throw error
        }
    }

    /// Skips the remaining records and checks the batch's framing (the same checks as `next()`).
    @inlinable
    public mutating func validateRemaining() throws(RecordBatchError) {
        while try next() != nil {}
    }

    /// Skips a nullable length-prefixed field of a record (a key, a value, a header value; the
    /// length -1 is null) at `p`, and gives where its bytes start and its length.
    @inlinable @inline(__always)
    static func _skipBytes(
        _ base: UnsafeRawPointer, _ p: inout Int, end: Int, _ name: StaticString, lengthField: StaticString
    ) throws(RecordBatchError) -> (start: Int, length: Int) {
        let length = Int(try _Varint.readVarint(base, &p, end: end, field: lengthField))
        let start = p
        if length >= 0 {
            guard length <= end &- p else { throw _RecordErrors.field(name, length, end &- p, at: p) }
            p &+= length
        } else if length != -1 {
            throw _RecordErrors.field(name, length, end &- p, at: p)
        }
        return (start, length)
    }

    @inlinable @inline(__always)
    mutating func _decodeRecord() throws(RecordBatchError) -> UnsafeRecordView {
        guard let base = _base else {
            throw _RecordErrors.missingRecords(header.recordCount, remaining: _remaining, at: _position)
        }
        let recordStart = _position
        var p = _position
        if p >= _end { throw _RecordErrors.missingRecords(header.recordCount, remaining: _remaining, at: p) }
        let length = Int(try _Varint.readVarint(base, &p, end: _end, field: "record length"))
        guard length > 0, length <= _end &- p else {
            throw _RecordErrors.badLength(length, available: _end &- p, at: recordStart)
        }
        let end = p &+ length
        let attributes = base.load(fromByteOffset: p, as: Int8.self)
        p &+= 1
        let timestampDelta = try _Varint.readVarlong(base, &p, end: end, field: "timestampDelta")
        let offsetDelta = try _Varint.readVarint(base, &p, end: end, field: "offsetDelta")

        let (keyStart, keyLength) = try Self._skipBytes(base, &p, end: end, "key", lengthField: "key length")
        let (valueStart, valueLength) = try Self._skipBytes(base, &p, end: end, "value", lengthField: "value length")

        let headerCount = Int(try _Varint.readVarint(base, &p, end: end, field: "header count"))
        let headersStart = p
        if headerCount != 0 {
            guard headerCount > 0 else { throw _RecordErrors.headerCount(headerCount, at: p) }
            for _ in 0 ..< headerCount {
                let keyLength = Int(try _Varint.readVarint(base, &p, end: end, field: "header key length"))
                guard keyLength >= 0, keyLength <= end &- p else {
                    throw _RecordErrors.field("header key", keyLength, end &- p, at: p)
                }
                p &+= keyLength
                _ = try Self._skipBytes(base, &p, end: end, "header value", lengthField: "header value length")
            }
        }
        guard p == end else { throw _RecordErrors.lengthMismatch(length, used: p &- (end &- length), at: recordStart) }
        _position = end
        let timestamp = _logAppendTime ? header.maxTimestamp : header.baseTimestamp &+ timestampDelta
        return UnsafeRecordView(
            offset: header.baseOffset &+ Int64(offsetDelta), timestamp: timestamp, timestampDelta: timestampDelta,
            record: base + recordStart, offsetDelta: offsetDelta,
            keyOffset: keyStart &- recordStart, keyCount: keyLength,
            valueOffset: valueStart &- recordStart, valueCount: valueLength,
            headersOffset: headersStart &- recordStart, headerCount: headerCount, headersByteCount: end &- headersStart,
            encodedSize: end &- recordStart, attributes: attributes)
    }
}

@available(*, unavailable)
extension UnsafeRecordIterator: Sendable {}

/// Record-level error constructors, out of line.
@usableFromInline
enum _RecordErrors {
    @usableFromInline @inline(never)
    static func negativeCount(_ count: Int32) -> RecordBatchError {
        RecordBatchError(.recordCountMismatch, at: RecordBatchLayout.recordsCount,
                         "recordsCount \(count) at byte \(RecordBatchLayout.recordsCount) is negative")
    }

    @usableFromInline @inline(never)
    static func needsDecoder(_ header: RecordBatchHeader) -> RecordBatchError {
        if let codec = header.codec {
            return RecordBatchError(.compression, at: RecordBatchLayout.attributes,
                                    "the batch is \(codec.name)-compressed; decode it with a RecordBatchDecoder")
        }
        return unknownCodec(header.attributes)
    }

    @usableFromInline @inline(never)
    static func unknownCodec(_ attributes: RecordBatchAttributes) -> RecordBatchError {
        RecordBatchError(.invalidAttributes, at: RecordBatchLayout.attributes,
                         "attributes 0x\(String(UInt16(bitPattern: attributes.rawValue), radix: 16)) at byte \(RecordBatchLayout.attributes) name unknown codec \(attributes.rawValue & 7)")
    }

    @usableFromInline @inline(never)
    static func leftover(_ count: Int32, _ bytes: Int, at position: Int) -> RecordBatchError {
        RecordBatchError(.recordCountMismatch, at: position,
                         "recordsCount is \(count) but \(bytes) bytes remain after the last record, at byte \(position)")
    }

    @usableFromInline @inline(never)
    static func missingRecords(_ count: Int32, remaining: Int, at position: Int) -> RecordBatchError {
        RecordBatchError(.recordCountMismatch, at: position,
                         "recordsCount is \(count) but the records end at byte \(position) with \(remaining) still expected")
    }

    @usableFromInline @inline(never)
    static func badLength(_ length: Int, available: Int, at position: Int) -> RecordBatchError {
        RecordBatchError(.recordLengthMismatch, at: position,
                         "record at byte \(position) declares length \(length) but \(available) bytes remain in the batch")
    }

    @usableFromInline @inline(never)
    static func lengthMismatch(_ length: Int, used: Int, at position: Int) -> RecordBatchError {
        RecordBatchError(.recordLengthMismatch, at: position,
                         "record at byte \(position) declares length \(length) but its fields take \(used) bytes")
    }

    @usableFromInline @inline(never)
    static func field(_ name: StaticString, _ length: Int, _ available: Int, at position: Int) -> RecordBatchError {
        RecordBatchError(.corruptRecord, at: position,
                         "\(name) length \(length) at byte \(position) is invalid (\(available) bytes left in the record)")
    }

    @usableFromInline @inline(never)
    static func headerCount(_ count: Int, at position: Int) -> RecordBatchError {
        RecordBatchError(.corruptRecord, at: position, "header count \(count) at byte \(position) is negative")
    }
}
