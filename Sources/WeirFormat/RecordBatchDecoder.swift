public import WeirCompression

/// Decodes record batches, compressed or not, into zero-copy record views.
///
/// Uncompressed batches are iterated in place. Compressed batches are decompressed into a
/// scratch buffer that the decoder owns and reuses, with one cached `Decompressor` per codec,
/// so steady-state decoding allocates nothing. Not thread-safe: one decoder per thread or task.
///
/// ```swift
/// let decoder = RecordBatchDecoder()
/// try decoder.withRecords(in: batchBytes) { (records) throws(RecordBatchError) in
///     while let record = try records.next() {
///         consume(record.key, record.value)
///     }
/// }
/// ```
public final class RecordBatchDecoder {
    /// Verify each batch's CRC-32C before decoding (Kafka's consumer property `check.crcs`,
    /// default true).
    public var checksCRCs: Bool
    /// The largest decompressed records section accepted, as a guard against decompression bombs.
    public var maxDecompressedBytes: Int

    @usableFromInline var _scratch: [UInt8] = []
    @usableFromInline var _decompressors: [Decompressor?] = Array(repeating: nil, count: 8)

    /// A decoder; `checkCRCs` is Kafka's `check.crcs`.
    public init(checkCRCs: Bool = true, maxDecompressedBytes: Int = Decompressor.defaultMaxOutputBytes) {
        self.checksCRCs = checkCRCs
        self.maxDecompressedBytes = maxDecompressedBytes
    }

    /// Calls `body` with an iterator over the records of the batch at the start of `batch`.
    ///
    /// The iterator and every view it returns are valid only inside `body`. Framing, CRC and
    /// codec failures are thrown by the iterator's first `next()`, so `body`'s own error type
    /// is the only one this method throws. Only the batch's own bytes (`batchLength + 12`) are
    /// read; `batch` may extend past them.
    @inlinable
    public func withRecords<R, E: Error>(
        in batch: UnsafeRawBufferPointer, _ body: (inout UnsafeRecordIterator) throws(E) -> R
    ) throws(E) -> R {
        let header: RecordBatchHeader
        do {
            header = try checksCRCs ? RecordBatch.verify(batch) : RecordBatchHeader(parsing: batch)
        } catch {
            var failing = UnsafeRecordIterator(header: RecordBatchHeader(), failing: error)
            return try body(&failing)
        }
        if header.attributes.rawValue & RecordBatchAttributes.codecMask == 0 {
            var iterator = UnsafeRecordIterator(
                header: header, base: batch.baseAddress, start: RecordBatchLayout.headerSize, end: header.totalSize)
            return try body(&iterator)
        }
        return try _withDecompressedRecords(batch, header, body)
    }

    @inlinable
    func _withDecompressedRecords<R, E: Error>(
        _ batch: UnsafeRawBufferPointer, _ header: RecordBatchHeader,
        _ body: (inout UnsafeRecordIterator) throws(E) -> R
    ) throws(E) -> R {
        do {
            try _decompress(batch, header)
        } catch {
            var failing = UnsafeRecordIterator(header: header, failing: error)
            return try body(&failing)
        }
        // A local reference keeps the bytes alive and unchanged even if `body` reenters the decoder.
        let scratch = _scratch
        let result: Result<R, E> = scratch.withUnsafeBytes { bytes in
            var iterator = UnsafeRecordIterator(header: header, base: bytes.baseAddress, start: 0, end: bytes.count)
            do throws(E) {
                return .success(try body(&iterator))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decompresses the records section of `batch` into the scratch buffer.
    @usableFromInline
    func _decompress(_ batch: UnsafeRawBufferPointer, _ header: RecordBatchHeader) throws(RecordBatchError) {
        guard let codec = header.codec else { throw _RecordErrors.unknownCodec(header.attributes) }
        let index = Int(codec.rawValue)
        let decompressor: Decompressor
        if let cached = _decompressors[index] {
            decompressor = cached
        } else {
            do {
                decompressor = try Decompressor(codec: codec)
            } catch {
                throw RecordBatchError(error, at: RecordBatchLayout.attributes)
            }
            _decompressors[index] = decompressor
        }
        let section = UnsafeRawBufferPointer(
            rebasing: batch[RecordBatchLayout.headerSize ..< header.totalSize])
        _scratch.removeAll(keepingCapacity: true)
        do {
            try decompressor.decompress(section, appendingTo: &_scratch, maxOutputBytes: maxDecompressedBytes)
        } catch {
            throw RecordBatchError(error, at: RecordBatchLayout.headerSize)
        }
    }

    /// Calls `body` with each record of the batch at the start of `batch`.
    @inlinable
    public func forEachRecord(
        in batch: UnsafeRawBufferPointer, _ body: (UnsafeRecordView) throws(RecordBatchError) -> Void
    ) throws(RecordBatchError) {
        try withRecords(in: batch) { (records) throws(RecordBatchError) in
            while let record = try records.next() { try body(record) }
        }
    }

    /// The header and owned copies of the records of the batch at the start of `batch`.
    public func decode(_ batch: UnsafeRawBufferPointer) throws(RecordBatchError) -> (header: RecordBatchHeader, records: [Record]) {
        try withRecords(in: batch) { (records) throws(RecordBatchError) in
            var result: [Record] = []
            result.reserveCapacity(max(0, min(records.remainingCount, 1 << 16)))
            while let record = try records.next() { result.append(Record(record)) }
            return (records.header, result)
        }
    }

    /// The header and owned copies of the records of the batch at the start of `batch`.
    public func decode(_ batch: [UInt8]) throws(RecordBatchError) -> (header: RecordBatchHeader, records: [Record]) {
        let result: Result<(header: RecordBatchHeader, records: [Record]), RecordBatchError> = batch.withUnsafeBytes { bytes in
            do throws(RecordBatchError) { return .success(try decode(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
