/// A record with owned copies of its key, value and headers.
///
/// For convenience and tests; the zero-copy path is `UnsafeRecordView`.
public struct Record: Sendable, Hashable {
    /// The record's offset.
    public var offset: Int64
    /// The record's timestamp (milliseconds since the epoch, by Kafka's convention).
    public var timestamp: Int64
    /// The key, or nil for a null key.
    public var key: [UInt8]?
    /// The value, or nil for a null value (a tombstone).
    public var value: [UInt8]?
    /// The headers, in order; keys may repeat.
    public var headers: [RecordHeader]

    public init(offset: Int64 = 0, timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Copies a record view.
    @inlinable
    public init(_ view: UnsafeRecordView) {
        self.offset = view.offset
        self.timestamp = view.timestamp
        self.key = view.key.map { Array($0) }
        self.value = view.value.map { Array($0) }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(view.headers.count)
        for header in view.headers {
            headers.append(RecordHeader(key: header.keyString, value: header.value.map { Array($0) }))
        }
        self.headers = headers
    }
}

/// A record header: a UTF-8 string key and a byte value that may be null.
public struct RecordHeader: Sendable, Hashable {
    /// The header key.
    public var key: String
    /// The header value, or nil for null.
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}
