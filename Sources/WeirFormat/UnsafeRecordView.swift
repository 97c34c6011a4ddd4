/// One record of a batch, with its key, value and headers as views into the batch's bytes (or
/// into a decoder's scratch buffer for a compressed batch).
///
/// No byte is copied. The views are valid only inside the closure that produced the record
/// (`RecordBatchDecoder.withRecords`, `UnsafeRecordIterator.withRecords`); copy what must
/// outlive it, for instance with `Record(_:)`.
public struct UnsafeRecordView {
    /// The record's offset (`baseOffset + offsetDelta`).
    public let offset: Int64
    /// The record's timestamp: `baseTimestamp + timestampDelta`, or the batch's `maxTimestamp`
    /// for a `LogAppendTime` batch.
    public let timestamp: Int64
    /// `timestampDelta` (varlong).
    public let timestampDelta: Int64
    /// The record's first byte (its length prefix); the other positions are relative to it.
    @usableFromInline let _record: UnsafeRawPointer
    /// `offsetDelta` (varint).
    public let offsetDelta: Int32
    @usableFromInline let _keyOffset: Int32
    @usableFromInline let _keyCount: Int32
    @usableFromInline let _valueOffset: Int32
    @usableFromInline let _valueCount: Int32
    @usableFromInline let _headersOffset: Int32
    @usableFromInline let _headerCount: Int32
    @usableFromInline let _headersByteCount: Int32
    @usableFromInline let _encodedSize: Int32
    /// `attributes` (int8), unused by Kafka and normally 0.
    public let attributes: Int8

    @inlinable @inline(__always)
    init(
        offset: Int64, timestamp: Int64, timestampDelta: Int64, record: UnsafeRawPointer, offsetDelta: Int32,
        keyOffset: Int, keyCount: Int, valueOffset: Int, valueCount: Int, headersOffset: Int, headerCount: Int,
        headersByteCount: Int, encodedSize: Int, attributes: Int8
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.timestampDelta = timestampDelta
        self._record = record
        self.offsetDelta = offsetDelta
        self._keyOffset = Int32(truncatingIfNeeded: keyOffset)
        self._keyCount = Int32(truncatingIfNeeded: keyCount)
        self._valueOffset = Int32(truncatingIfNeeded: valueOffset)
        self._valueCount = Int32(truncatingIfNeeded: valueCount)
        self._headersOffset = Int32(truncatingIfNeeded: headersOffset)
        self._headerCount = Int32(truncatingIfNeeded: headerCount)
        self._headersByteCount = Int32(truncatingIfNeeded: headersByteCount)
        self._encodedSize = Int32(truncatingIfNeeded: encodedSize)
        self.attributes = attributes
    }

    /// The key bytes, or nil for a null key (length −1).
    @inlinable
    public var key: UnsafeRawBufferPointer? {
        _keyCount < 0 ? nil : UnsafeRawBufferPointer(start: _record + Int(_keyOffset), count: Int(_keyCount))
    }

    /// The value bytes, or nil for a null value (a tombstone in a compacted topic).
    @inlinable
    public var value: UnsafeRawBufferPointer? {
        _valueCount < 0 ? nil : UnsafeRawBufferPointer(start: _record + Int(_valueOffset), count: Int(_valueCount))
    }

    /// The key's length, −1 for a null key.
    @inlinable
    public var keyCount: Int { Int(_keyCount) }

    /// The value's length, −1 for a null value.
    @inlinable
    public var valueCount: Int { Int(_valueCount) }

    /// The headers, already validated.
    @inlinable
    public var headers: UnsafeRecordHeaders {
        UnsafeRecordHeaders(
            base: _record, start: Int(_headersOffset), count: Int(_headerCount), byteCount: Int(_headersByteCount))
    }

    /// The encoded size of the record, its length prefix included.
    @inlinable
    public var encodedSize: Int { Int(_encodedSize) }

    /// Calls `body` with the key as a `RawSpan` (nil for a null key).
    @inlinable
    public func withKeySpan<R: ~Copyable, E: Error>(_ body: (RawSpan?) throws(E) -> R) throws(E) -> R {
        if let key { return try body(key.bytes) }
        return try body(nil)
    }

    /// Calls `body` with the value as a `RawSpan` (nil for a null value).
    @inlinable
    public func withValueSpan<R: ~Copyable, E: Error>(_ body: (RawSpan?) throws(E) -> R) throws(E) -> R {
        if let value { return try body(value.bytes) }
        return try body(nil)
    }
}

@available(*, unavailable)
extension UnsafeRecordView: Sendable {}

/// The headers of an `UnsafeRecordView`: a sequence of key/value views over the record bytes.
public struct UnsafeRecordHeaders: Sequence {
    @usableFromInline let _base: UnsafeRawPointer?
    @usableFromInline let _start: Int
    /// The number of headers.
    public let count: Int
    /// The encoded size of the headers, without the header count.
    public let byteCount: Int

    @inlinable
    init(base: UnsafeRawPointer?, start: Int, count: Int, byteCount: Int) {
        self._base = base
        self._start = start
        self.count = count
        self.byteCount = byteCount
    }

    /// Whether there are no headers.
    @inlinable
    public var isEmpty: Bool { count == 0 }

    @inlinable
    public var underestimatedCount: Int { count }

    @inlinable
    public func makeIterator() -> Iterator { Iterator(base: _base, position: _start, remaining: count) }

    /// Iterates the headers, decoding the varints that the record's validation already checked.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let _base: UnsafeRawPointer?
        @usableFromInline var _position: Int
        @usableFromInline var _remaining: Int

        @inlinable
        init(base: UnsafeRawPointer?, position: Int, remaining: Int) {
            self._base = base
            self._position = position
            self._remaining = remaining
        }

        @inlinable
        public mutating func next() -> UnsafeRecordHeader? {
            guard _remaining > 0, let base = _base else { return nil }
            _remaining &-= 1
            let keyLength = Int(_Varint.readValidatedVarint(base, &_position))
            let key = UnsafeRawBufferPointer(start: base + _position, count: keyLength)
            _position &+= keyLength
            let valueLength = Int(_Varint.readValidatedVarint(base, &_position))
            var value: UnsafeRawBufferPointer? = nil
            if valueLength >= 0 {
                value = UnsafeRawBufferPointer(start: base + _position, count: valueLength)
                _position &+= valueLength
            }
            return UnsafeRecordHeader(key: key, value: value)
        }
    }

    /// The value of the first header whose key equals `key`, if any (nil also for a null value).
    @inlinable
    public func first(named key: String) -> UnsafeRecordHeader? {
        var key = key
        return key.withUTF8 { wanted in
            for header in self where header.key.elementsEqual(UnsafeRawBufferPointer(wanted)) { return header }
            return nil
        }
    }
}

@available(*, unavailable)
extension UnsafeRecordHeaders: Sendable {}

/// One record header as views: the key's UTF-8 bytes and the value bytes (nil for null).
public struct UnsafeRecordHeader {
    /// The header key's UTF-8 bytes.
    public let key: UnsafeRawBufferPointer
    /// The header value, or nil for a null value (length −1).
    public let value: UnsafeRawBufferPointer?

    @inlinable
    init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        self.key = key
        self.value = value
    }

    /// The key as a `String` (a copy; invalid UTF-8 is repaired).
    @inlinable
    public var keyString: String { String(decoding: key, as: UTF8.self) }
}

@available(*, unavailable)
extension UnsafeRecordHeader: Sendable {}
