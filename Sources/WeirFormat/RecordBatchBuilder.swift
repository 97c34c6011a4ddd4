public import WeirCompression

/// Builds a RecordBatch v2: appends records up to a size limit, then seals the batch
/// (compresses the records section, writes the header and the CRC-32C).
///
/// A builder is reusable: `reset()` keeps its buffers, so a producer that keeps one builder per
/// partition allocates nothing per batch in steady state. The producer fields (`producerId`,
/// `producerEpoch`, `baseSequence`, `isTransactional`) and `baseOffset` may change between
/// batches. Not thread-safe.
///
/// ```swift
/// let builder = try RecordBatchBuilder(codec: .lz4, batchSizeLimit: 16_384)
/// while builder.append(timestamp: now, key: key, value: value) { … }
/// try builder.seal()
/// builder.withUnsafeSealedBytes { bytes in log.append(bytes) }
/// builder.reset()
/// ```
public final class RecordBatchBuilder {
    /// The codec of the records section (Kafka's `compression.type`).
    public let codec: CompressionCodec
    /// `CreateTime` (default) or `LogAppendTime`.
    public var timestampType: TimestampType = .createTime
    /// For a `LogAppendTime` batch, the `maxTimestamp` to write; nil writes the largest record
    /// timestamp.
    public var logAppendTime: Int64? = nil
    /// Writes the transactional attribute (0x10); needs a `producerId`.
    public var isTransactional: Bool = false
    /// `producerId`, −1 when the producer is not idempotent (`enable.idempotence=false`).
    public var producerId: Int64 = -1
    /// `producerEpoch`, −1 when not idempotent.
    public var producerEpoch: Int16 = -1
    /// `baseSequence`: the sequence number of the first record, −1 when not idempotent.
    public var baseSequence: Int32 = -1
    /// `partitionLeaderEpoch`; −1 (unknown) as a producer writes it.
    public var partitionLeaderEpoch: Int32 = -1
    /// `baseOffset`; producers write 0 and the log assigns the real one.
    public var baseOffset: Int64 = 0
    /// The `lastOffsetDelta` to write instead of the last record's offset delta. Compaction
    /// keeps the original batch's value so that producer sequence numbers stay continuous.
    public var lastOffsetDeltaOverride: Int32? = nil

    /// The size limit in bytes (Kafka's producer `batch.size`, default 16384), checked against the
    /// uncompressed size (header + records). The first record is always accepted, like Kafka.
    @inlinable
    public var batchSizeLimit: Int {
        get { _buffer.limit }
        set { _buffer.limit = newValue }
    }

    /// The delete horizon set by compaction (attribute 0x40): when set before the first append,
    /// `baseTimestamp` holds it and record timestamps are written relative to it.
    @inlinable
    public var deleteHorizon: Int64? {
        get { _buffer.deleteHorizon }
        set { _buffer.deleteHorizon = newValue }
    }

    @usableFromInline var _isControl = false
    /// All state touched per record, in one struct behind a pointer: appends then need no
    /// dynamic exclusivity checks on the class's properties.
    @usableFromInline let _state: UnsafeMutablePointer<_RecordBatchBuffer>

    @inlinable
    var _buffer: _RecordBatchBuffer {
        _read { yield _state.pointee }
        _modify { yield &_state.pointee }
    }
    @usableFromInline var _compressed: [UInt8] = []
    let _compressor: Compressor?

    /// A builder for `codec` at `compressionLevel` (Kafka's `compression.<codec>.level`; nil for
    /// the codec's default). Throws `.compression` for an invalid level.
    public init(
        codec: CompressionCodec = .none, compressionLevel: Int? = nil, batchSizeLimit: Int = 16_384,
        initialCapacity: Int? = nil
    ) throws(RecordBatchError) {
        self.codec = codec
        if codec == .none {
            _compressor = nil
        } else {
            do {
                _compressor = try Compressor(codec: codec, level: compressionLevel)
            } catch {
                throw RecordBatchError(error)
            }
        }
        let capacity = max(RecordBatchLayout.headerSize + 64, initialCapacity ?? min(max(batchSizeLimit, 0), 1 << 20) + 1024)
        _state = UnsafeMutablePointer<_RecordBatchBuffer>.allocate(capacity: 1)
        _state.initialize(to: _RecordBatchBuffer(capacity: capacity, limit: batchSizeLimit))
    }

    deinit {
        _state.pointee.storage.deallocate()
        _state.deinitialize(count: 1)
        _state.deallocate()
    }

    // MARK: State

    /// The number of records appended since the last reset.
    @inlinable
    public var recordCount: Int { _buffer.count }

    /// Whether no record has been appended since the last reset.
    @inlinable
    public var isEmpty: Bool { _buffer.count == 0 }

    /// The uncompressed size of the batch so far (header + records), which `batchSizeLimit`
    /// bounds.
    @inlinable
    public var estimatedSize: Int { _buffer.size }

    /// Whether `seal()` has run since the last change.
    @inlinable
    public var isSealed: Bool { _buffer.isSealed }

    /// Discards the records and the sealed batch; keeps the buffers and the settings.
    @inlinable
    public func reset() {
        _buffer.reset()
    }

    // MARK: Appending

    /// The encoded size of the next record with these parts, its length prefix included.
    @inlinable
    public func encodedRecordSize(timestamp: Int64, keyCount: Int?, valueCount: Int?, headersSize: Int = 1) -> Int {
        _buffer.recordSize(
            offsetDelta: _buffer.nextOffsetDelta, timestamp: timestamp, keyCount: keyCount ?? -1,
            valueCount: valueCount ?? -1, headersSize: headersSize)
    }

    /// Appends a record without headers. Returns false, appending nothing, when the record
    /// would take the batch past `batchSizeLimit` (never for the first record).
    ///
    /// - Parameters:
    ///   - timestamp: milliseconds since the epoch (`CreateTime`).
    ///   - key: the key bytes, or nil for a null key.
    ///   - value: the value bytes, or nil for a null value.
    @inlinable @discardableResult
    public func append(timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) -> Bool {
        _buffer.append(offsetDelta: nil, timestamp: timestamp, key: key, value: value, headersSize: 1) { pointer in
            pointer.storeBytes(of: 0, as: UInt8.self)
            return 1
        }
    }

    /// Appends a record with headers. Returns false, appending nothing, when the record would
    /// take the batch past `batchSizeLimit` (never for the first record).
    ///
    /// - Parameter offsetDelta: the record's `offsetDelta`; nil (the default) for the next one
    ///   (the previous plus 1). Compaction passes the original deltas, which must increase.
    @inlinable @discardableResult
    public func append<Headers: Collection<RecordHeader>>(
        offsetDelta: Int32? = nil, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: Headers
    ) -> Bool {
        var headersSize = _Varint.size(Int32(truncatingIfNeeded: headers.count))
        for header in headers {
            let keyCount = header.key.utf8.count
            let valueCount = header.value?.count ?? -1
            headersSize &+= _Varint.size(Int32(truncatingIfNeeded: keyCount)) &+ keyCount
                &+ _Varint.size(Int32(truncatingIfNeeded: valueCount)) &+ max(valueCount, 0)
        }
        return _buffer.append(offsetDelta: offsetDelta, timestamp: timestamp, key: key, value: value, headersSize: headersSize) { pointer in
            var p = _Varint.write(Int32(truncatingIfNeeded: headers.count), to: pointer)
            for header in headers {
                var key = header.key
                key.withUTF8 { utf8 in
                    p &+= _Varint.write(Int32(truncatingIfNeeded: utf8.count), to: pointer + p)
                    if let source = utf8.baseAddress, utf8.count > 0 {
                        (pointer + p).copyMemory(from: source, byteCount: utf8.count)
                    }
                    p &+= utf8.count
                }
                if let value = header.value {
                    p &+= _Varint.write(Int32(truncatingIfNeeded: value.count), to: pointer + p)
                    value.withUnsafeBytes { bytes in
                        if let source = bytes.baseAddress, bytes.count > 0 {
                            (pointer + p).copyMemory(from: source, byteCount: bytes.count)
                        }
                    }
                    p &+= value.count
                } else {
                    p &+= _Varint.write(Int32(-1), to: pointer + p)
                }
            }
            return p
        }
    }

    /// Appends a copy of a decoded record, keeping its `offsetDelta`, its timestamp and its
    /// header bytes as they are (what compaction does with the records it retains). Returns false
    /// when the record does not fit.
    @inlinable @discardableResult
    public func append(copying record: UnsafeRecordView) -> Bool {
        let headers = record.headers
        let headersSize = _Varint.size(Int32(truncatingIfNeeded: headers.count)) &+ headers.byteCount
        return _buffer.append(
            offsetDelta: record.offsetDelta, timestamp: record.timestamp, key: record.key, value: record.value,
            headersSize: headersSize
        ) { pointer in
            let p = _Varint.write(Int32(truncatingIfNeeded: headers.count), to: pointer)
            if let source = headers._base, headers.byteCount > 0 {
                (pointer + p).copyMemory(from: source + headers._start, byteCount: headers.byteCount)
            }
            return p &+ headers.byteCount
        }
    }

    /// Appends a record from byte arrays (a convenience over the buffer-pointer version).
    @inlinable @discardableResult
    public func append(timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) -> Bool {
        _withOptionalBytes(key) { key in
            _withOptionalBytes(value) { value in
                headers.isEmpty
                    ? append(timestamp: timestamp, key: key, value: value)
                    : append(timestamp: timestamp, key: key, value: value, headers: headers)
            }
        }
    }

    /// Appends a copy of `record` (its offset is ignored in favour of the builder's next offset
    /// delta).
    @inlinable @discardableResult
    public func append(_ record: Record) -> Bool {
        append(timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
    }

    // MARK: Sealing

    /// The header that `seal()` writes, from the settings and the records appended (CRC 0).
    public var header: RecordBatchHeader {
        let buffer = _buffer
        let maxTimestamp = timestampType == .logAppendTime ? (logAppendTime ?? buffer.maxTimestamp) : buffer.maxTimestamp
        return RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: RecordBatchAttributes(
                codec: codec, timestampType: timestampType, isTransactional: isTransactional, isControl: _isControl,
                hasDeleteHorizon: buffer.deleteHorizon != nil),
            lastOffsetDelta: lastOffsetDeltaOverride ?? buffer.lastOffsetDelta,
            baseTimestamp: buffer.count == 0 ? (buffer.deleteHorizon ?? -1) : buffer.baseTimestamp,
            maxTimestamp: maxTimestamp, producerId: producerId, producerEpoch: producerEpoch,
            baseSequence: baseSequence, recordCount: Int32(truncatingIfNeeded: buffer.count))
    }

    /// Seals the batch: compresses the records section with the builder's `Compressor` (when
    /// the codec is not `none`), writes the header and the CRC-32C. Returns the batch size.
    ///
    /// Read the batch with `withUnsafeSealedBytes` or `sealedBytes()`. Appending after sealing
    /// extends the batch and needs another `seal()`. Throws `.compression` if the codec fails.
    @discardableResult
    public func seal() throws(RecordBatchError) -> Int {
        var header = self.header
        if let compressor = _compressor {
            let section = UnsafeRawBufferPointer(
                start: _buffer.storage + RecordBatchLayout.headerSize, count: _buffer.size - RecordBatchLayout.headerSize)
            _compressed.removeAll(keepingCapacity: true)
            _compressed.append(contentsOf: repeatElement(0, count: RecordBatchLayout.headerSize))
            do {
                try compressor.compress(section, appendingTo: &_compressed)
            } catch {
                throw RecordBatchError(error)
            }
            header.batchLength = Int32(truncatingIfNeeded: _compressed.count - RecordBatchLayout.logOverhead)
            _compressed.withUnsafeMutableBytes { bytes in
                RecordBatchBuilder._finish(header, bytes.baseAddress!, count: bytes.count)
            }
            _buffer.isSealed = true
            return _compressed.count
        }
        let size = _buffer.size
        header.batchLength = Int32(truncatingIfNeeded: size - RecordBatchLayout.logOverhead)
        RecordBatchBuilder._finish(header, _buffer.storage, count: size)
        _buffer.isSealed = true
        return size
    }

    @usableFromInline
    static func _finish(_ header: RecordBatchHeader, _ pointer: UnsafeMutableRawPointer, count: Int) {
        header.write(to: pointer)
        let start = RecordBatchLayout.crcCoverageStart
        let crc = CRC32C.update(0, UnsafeRawBufferPointer(start: pointer + start, count: count - start))
        pointer._storeBigEndian(crc, at: RecordBatchLayout.crc)
    }

    /// Calls `body` with the sealed batch. The bytes are valid only inside `body` and until the
    /// builder changes. Traps if the batch is not sealed (call `seal()` first).
    @inlinable
    public func withUnsafeSealedBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        precondition(_buffer.isSealed, "RecordBatchBuilder: call seal() before reading the batch")
        if codec == .none {
            return try body(UnsafeRawBufferPointer(start: _buffer.storage, count: _buffer.size))
        }
        let compressed = _compressed
        let result: Result<R, E> = compressed.withUnsafeBytes { bytes in
            do throws(E) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// A copy of the sealed batch. Traps if the batch is not sealed.
    public func sealedBytes() -> [UInt8] {
        withUnsafeSealedBytes { Array($0) }
    }

    /// Seals the batch and returns a copy of it.
    public func build() throws(RecordBatchError) -> [UInt8] {
        try seal()
        return sealedBytes()
    }
}

@inlinable @inline(__always)
func _withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}

/// The records section under construction and the per-record state of a `RecordBatchBuilder`.
@usableFromInline
struct _RecordBatchBuffer {
    /// Header space, then records.
    @usableFromInline var storage: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    /// Bytes used, the reserved header included.
    @usableFromInline var size: Int
    @usableFromInline var count: Int
    @usableFromInline var limit: Int
    @usableFromInline var nextOffsetDelta: Int32
    @usableFromInline var lastOffsetDelta: Int32
    /// The first record's timestamp, or the delete horizon.
    @usableFromInline var baseTimestamp: Int64
    @usableFromInline var maxTimestamp: Int64
    @usableFromInline var deleteHorizon: Int64?
    @usableFromInline var isSealed: Bool

    @usableFromInline
    init(capacity: Int, limit: Int) {
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        self.capacity = capacity
        self.size = RecordBatchLayout.headerSize
        self.count = 0
        self.limit = limit
        self.nextOffsetDelta = 0
        self.lastOffsetDelta = -1
        self.baseTimestamp = -1
        self.maxTimestamp = -1
        self.deleteHorizon = nil
        self.isSealed = false
    }

    @inlinable
    mutating func reset() {
        size = RecordBatchLayout.headerSize
        count = 0
        nextOffsetDelta = 0
        lastOffsetDelta = -1
        baseTimestamp = -1
        maxTimestamp = -1
        isSealed = false
    }

    @inlinable @inline(__always)
    func recordSize(offsetDelta: Int32, timestamp: Int64, keyCount: Int, valueCount: Int, headersSize: Int) -> Int {
        let base = count == 0 ? (deleteHorizon ?? timestamp) : baseTimestamp
        let body = 1 &+ _Varint.size(timestamp &- base) &+ _Varint.size(offsetDelta)
            &+ _Varint.size(Int32(truncatingIfNeeded: keyCount)) &+ max(keyCount, 0)
            &+ _Varint.size(Int32(truncatingIfNeeded: valueCount)) &+ max(valueCount, 0)
            &+ headersSize
        return _Varint.size(Int32(truncatingIfNeeded: body)) &+ body
    }

    @inlinable @inline(__always)
    mutating func append(
        offsetDelta: Int32?, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headersSize: Int, writeHeaders: (UnsafeMutableRawPointer) -> Int
    ) -> Bool {
        if count == 0 { baseTimestamp = deleteHorizon ?? timestamp }
        let timestampDelta = timestamp &- baseTimestamp
        let offsetDelta = offsetDelta ?? nextOffsetDelta
        let keyCount = key?.count ?? -1
        let valueCount = value?.count ?? -1
        let body = 1 &+ _Varint.size(timestampDelta) &+ _Varint.size(offsetDelta)
            &+ _Varint.size(Int32(truncatingIfNeeded: keyCount)) &+ max(keyCount, 0)
            &+ _Varint.size(Int32(truncatingIfNeeded: valueCount)) &+ max(valueCount, 0)
            &+ headersSize
        let total = _Varint.size(Int32(truncatingIfNeeded: body)) &+ body
        if count > 0 && size &+ total > limit { return false }
        if size &+ total > capacity { grow(to: size &+ total) }

        let start = storage + size
        var p = _Varint.write(Int32(truncatingIfNeeded: body), to: start)
        start.storeBytes(of: 0, toByteOffset: p, as: UInt8.self)
        p &+= 1
        p &+= _Varint.write(timestampDelta, to: start + p)
        p &+= _Varint.write(offsetDelta, to: start + p)
        p &+= _Varint.write(Int32(truncatingIfNeeded: keyCount), to: start + p)
        if let key, let source = key.baseAddress, keyCount > 0 {
            (start + p).copyMemory(from: source, byteCount: keyCount)
            p &+= keyCount
        }
        p &+= _Varint.write(Int32(truncatingIfNeeded: valueCount), to: start + p)
        if let value, let source = value.baseAddress, valueCount > 0 {
            (start + p).copyMemory(from: source, byteCount: valueCount)
            p &+= valueCount
        }
        p &+= writeHeaders(start + p)

        if count == 0 || timestamp > maxTimestamp { maxTimestamp = timestamp }
        count &+= 1
        size &+= total
        lastOffsetDelta = offsetDelta
        nextOffsetDelta = offsetDelta &+ 1
        isSealed = false
        return true
    }

    @usableFromInline
    mutating func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity = newCapacity &* 2 }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newStorage.copyMemory(from: storage, byteCount: size)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }
}
