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
    /// `offsetDelta` (varint).
    public let offsetDelta: Int32
    /// `timestampDelta` (varlong).
    public let timestampDelta: Int64
    /// `attributes` (int8), unused by Kafka and normally 0.
    public let attributes: Int8
    /// The key bytes, or nil for a null key (length −1).
    public let key: UnsafeRawBufferPointer?
    /// The value bytes, or nil for a null value (a tombstone in a compacted topic).
    public let value: UnsafeRawBufferPointer?
    /// The headers, already validated.
    public let headers: UnsafeRecordHeaders
    /// The encoded size of the record, its length prefix included.
    public let encodedSize: Int

    @inlinable
    init(
        offset: Int64, timestamp: Int64, offsetDelta: Int32, timestampDelta: Int64, attributes: Int8,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: UnsafeRecordHeaders, encodedSize: Int
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.offsetDelta = offsetDelta
        self.timestampDelta = timestampDelta
        self.attributes = attributes
        self.key = key
        self.value = value
        self.headers = headers
        self.encodedSize = encodedSize
    }

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

    @inlinable
    init(base: UnsafeRawPointer?, start: Int, count: Int) {
        self._base = base
        self._start = start
        self.count = count
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
