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
    /// The size limit in bytes (Kafka's producer `batch.size`, default 16384), checked against the
    /// uncompressed size (header + records). The first record is always accepted, like Kafka.
    public var batchSizeLimit: Int
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

    @usableFromInline var _isControl = false
    @usableFromInline var _storage: UnsafeMutableRawPointer
    @usableFromInline var _capacity: Int
    /// Bytes used in `_storage`, the reserved header included.
    @usableFromInline var _size: Int
    @usableFromInline var _count: Int = 0
    @usableFromInline var _firstTimestamp: Int64 = -1
    @usableFromInline var _maxTimestamp: Int64 = -1
    @usableFromInline var _isSealed = false
    @usableFromInline var _compressed: [UInt8] = []
    let _compressor: Compressor?

    /// A builder for `codec` at `compressionLevel` (Kafka's `compression.<codec>.level`; nil for
    /// the codec's default). Throws `.compression` for an invalid level.
    public init(
        codec: CompressionCodec = .none, compressionLevel: Int? = nil, batchSizeLimit: Int = 16_384,
        initialCapacity: Int? = nil
    ) throws(RecordBatchError) {
        self.codec = codec
        self.batchSizeLimit = batchSizeLimit
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
        _capacity = capacity
        _storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        _size = RecordBatchLayout.headerSize
    }

    deinit {
        _storage.deallocate()
    }

    // MARK: State

    /// The number of records appended since the last reset.
    @inlinable
    public var recordCount: Int { _count }

    /// Whether no record has been appended since the last reset.
    @inlinable
    public var isEmpty: Bool { _count == 0 }

    /// The uncompressed size of the batch so far (header + records), which `batchSizeLimit`
    /// bounds.
    @inlinable
    public var estimatedSize: Int { _size }

    /// Whether `seal()` has run since the last change.
    @inlinable
    public var isSealed: Bool { _isSealed }

    /// Discards the records and the sealed batch; keeps the buffers and the settings.
    @inlinable
    public func reset() {
        _size = RecordBatchLayout.headerSize
        _count = 0
        _firstTimestamp = -1
        _maxTimestamp = -1
        _isSealed = false
    }

    // MARK: Appending

    /// The encoded size of a record with these parts, its length prefix included.
    @inlinable
    public func encodedRecordSize(timestamp: Int64, keyCount: Int?, valueCount: Int?, headersSize: Int = 1) -> Int {
        let timestampDelta = _count == 0 ? 0 : timestamp &- _firstTimestamp
        let body = _bodySize(
            timestampDelta: timestampDelta, offsetDelta: Int32(truncatingIfNeeded: _count),
            keyCount: keyCount ?? -1, valueCount: valueCount ?? -1, headersSize: headersSize)
        return _Varint.size(Int32(truncatingIfNeeded: body)) &+ body
    }

    @inlinable @inline(__always)
    func _bodySize(timestampDelta: Int64, offsetDelta: Int32, keyCount: Int, valueCount: Int, headersSize: Int) -> Int {
        1 &+ _Varint.size(timestampDelta) &+ _Varint.size(offsetDelta)
            &+ _Varint.size(Int32(truncatingIfNeeded: keyCount)) &+ max(keyCount, 0)
            &+ _Varint.size(Int32(truncatingIfNeeded: valueCount)) &+ max(valueCount, 0)
            &+ headersSize
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
        _append(timestamp: timestamp, key: key, value: value, headersSize: 1) { pointer in
            pointer.storeBytes(of: 0, as: UInt8.self)
            return 1
        }
    }

    /// Appends a record with headers. Returns false, appending nothing, when the record would
    /// take the batch past `batchSizeLimit` (never for the first record).
    @inlinable @discardableResult
    public func append<Headers: Collection<RecordHeader>>(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: Headers
    ) -> Bool {
        var headersSize = _Varint.size(Int32(truncatingIfNeeded: headers.count))
        for header in headers {
            let keyCount = header.key.utf8.count
            let valueCount = header.value?.count ?? -1
            headersSize &+= _Varint.size(Int32(truncatingIfNeeded: keyCount)) &+ keyCount
                &+ _Varint.size(Int32(truncatingIfNeeded: valueCount)) &+ max(valueCount, 0)
        }
        return _append(timestamp: timestamp, key: key, value: value, headersSize: headersSize) { pointer in
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

    /// Appends a copy of `record` (its offset and timestamp are ignored in favour of the
    /// builder's next offset delta and `record.timestamp`).
    @inlinable @discardableResult
    public func append(_ record: Record) -> Bool {
        append(timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
    }

    @inlinable @inline(__always)
    func _append(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headersSize: Int,
        writeHeaders: (UnsafeMutableRawPointer) -> Int
    ) -> Bool {
        let timestampDelta = _count == 0 ? 0 : timestamp &- _firstTimestamp
        let offsetDelta = Int32(truncatingIfNeeded: _count)
        let keyCount = key?.count ?? -1
        let valueCount = value?.count ?? -1
        let body = _bodySize(
            timestampDelta: timestampDelta, offsetDelta: offsetDelta, keyCount: keyCount, valueCount: valueCount,
            headersSize: headersSize)
        let total = _Varint.size(Int32(truncatingIfNeeded: body)) &+ body
        if _count > 0 && _size &+ total > batchSizeLimit { return false }
        if _size &+ total > _capacity { _grow(to: _size &+ total) }

        let start = _storage + _size
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

        if _count == 0 {
            _firstTimestamp = timestamp
            _maxTimestamp = timestamp
        } else if timestamp > _maxTimestamp {
            _maxTimestamp = timestamp
        }
        _count &+= 1
        _size &+= total
        _isSealed = false
        return true
    }

    @usableFromInline
    func _grow(to needed: Int) {
        var capacity = _capacity
        while capacity < needed { capacity = capacity &* 2 }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        storage.copyMemory(from: _storage, byteCount: _size)
        _storage.deallocate()
        _storage = storage
        _capacity = capacity
    }

    // MARK: Sealing

    /// The header that `seal()` writes, from the settings and the records appended (CRC 0).
    public var header: RecordBatchHeader {
        let maxTimestamp = timestampType == .logAppendTime ? (logAppendTime ?? _maxTimestamp) : _maxTimestamp
        return RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: RecordBatchAttributes(
                codec: codec, timestampType: timestampType, isTransactional: isTransactional, isControl: _isControl),
            lastOffsetDelta: Int32(truncatingIfNeeded: _count &- 1),
            baseTimestamp: _firstTimestamp, maxTimestamp: maxTimestamp, producerId: producerId,
            producerEpoch: producerEpoch, baseSequence: baseSequence, recordCount: Int32(truncatingIfNeeded: _count))
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
                start: _storage + RecordBatchLayout.headerSize, count: _size - RecordBatchLayout.headerSize)
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
            _isSealed = true
            return _compressed.count
        }
        header.batchLength = Int32(truncatingIfNeeded: _size - RecordBatchLayout.logOverhead)
        RecordBatchBuilder._finish(header, _storage, count: _size)
        _isSealed = true
        return _size
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
        precondition(_isSealed, "RecordBatchBuilder: call seal() before reading the batch")
        if codec == .none {
            return try body(UnsafeRawBufferPointer(start: _storage, count: _size))
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
