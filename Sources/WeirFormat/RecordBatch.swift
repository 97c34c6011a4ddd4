/// Operations on encoded RecordBatch v2 bytes that do not decode records: CRC checks, scans of
/// back-to-back batches, and in-place updates of the fields the log owns.
///
/// Decoding records is `RecordBatchDecoder`'s job; encoding is `RecordBatchBuilder`'s.
public enum RecordBatch {
    /// The CRC-32C of the batch at the start of `batch` (bytes 21..<totalSize). The caller
    /// guarantees `batch` holds the whole batch (for instance after `RecordBatchHeader(parsing:)`).
    @inlinable
    public static func computeCRC(_ batch: UnsafeRawBufferPointer, totalSize: Int) -> UInt32 {
        let start = RecordBatchLayout.crcCoverageStart
        guard let base = batch.baseAddress, totalSize > start, totalSize <= batch.count else { return 0 }
        return CRC32C.update(0, UnsafeRawBufferPointer(start: base + start, count: totalSize &- start))
    }

    /// Checks framing, magic and CRC of the batch at the start of `batch` and returns its header.
    ///
    /// Throws `.truncatedBatch`, `.badBatchLength`, `.badMagic` or `.crcMismatch`.
    @inlinable @discardableResult
    public static func verify(_ batch: UnsafeRawBufferPointer) throws(RecordBatchError) -> RecordBatchHeader {
        let header = try RecordBatchHeader(parsing: batch)
        let computed = computeCRC(batch, totalSize: header.totalSize)
        guard computed == header.crc else { throw _Errors.crcMismatch(stored: header.crc, computed: computed) }
        return header
    }

    // MARK: In-place updates

    /// Sets `baseOffset` (bytes 0..<8) of the batch at the start of `batch`.
    ///
    /// `baseOffset` is not covered by the CRC, so the log assigns offsets at append without
    /// recomputing it. Throws `.truncatedBatch` if `batch` has fewer than 8 bytes.
    @inlinable
    public static func setBaseOffset(_ baseOffset: Int64, in batch: UnsafeMutableRawBufferPointer) throws(RecordBatchError) {
        guard let base = batch.baseAddress, batch.count >= 8 else {
            throw _Errors.truncated(have: batch.count, need: 8, what: "baseOffset")
        }
        unsafeSetBaseOffset(baseOffset, at: base)
    }

    /// Sets `baseOffset` with no bounds check: the caller guarantees 8 writable bytes.
    @inlinable @inline(__always)
    public static func unsafeSetBaseOffset(_ baseOffset: Int64, at batchStart: UnsafeMutableRawPointer) {
        batchStart._storeBigEndian(baseOffset, at: RecordBatchLayout.baseOffset)
    }

    /// Sets `partitionLeaderEpoch` (bytes 12..<16), which the CRC does not cover either.
    @inlinable
    public static func setPartitionLeaderEpoch(_ epoch: Int32, in batch: UnsafeMutableRawBufferPointer) throws(RecordBatchError) {
        guard let base = batch.baseAddress, batch.count >= 16 else {
            throw _Errors.truncated(have: batch.count, need: 16, what: "partitionLeaderEpoch")
        }
        base._storeBigEndian(epoch, at: RecordBatchLayout.partitionLeaderEpoch)
    }

    /// Turns the batch into a `LogAppendTime` batch with `maxTimestamp = time` and recomputes the
    /// CRC, as a broker does for a topic with `message.timestamp.type=LogAppendTime`.
    ///
    /// Checks framing and magic first (not the old CRC); throws like `RecordBatchHeader(parsing:)`.
    public static func setLogAppendTime(_ time: Int64, in batch: UnsafeMutableRawBufferPointer) throws(RecordBatchError) {
        var header = try RecordBatchHeader(parsing: UnsafeRawBufferPointer(batch))
        let base = batch.baseAddress!
        header.attributes.timestampType = .logAppendTime
        base._storeBigEndian(header.attributes.rawValue, at: RecordBatchLayout.attributes)
        base._storeBigEndian(time, at: RecordBatchLayout.maxTimestamp)
        let crc = computeCRC(UnsafeRawBufferPointer(batch), totalSize: header.totalSize)
        base._storeBigEndian(crc, at: RecordBatchLayout.crc)
    }

    // MARK: Scanning

    /// Walks the back-to-back batches in `bytes` without decoding records, calling `body` with
    /// each valid batch's position and header, and stops at the first invalid byte.
    ///
    /// Each batch is checked for a plausible `batchLength`, magic 2, the bytes it announces and,
    /// when `verifyingCRC` is true, its CRC-32C. This is what log recovery needs: the result's
    /// `validByteCount` is where to truncate, and `error` says why the scan stopped early (nil
    /// when the buffer ends exactly at a batch boundary). A zeroed, preallocated tail shows up
    /// as `.badBatchLength` at the tail's position; a torn last batch as `.truncatedBatch`.
    ///
    /// - Parameters:
    ///   - bytes: batches back to back, as in a `.log` segment.
    ///   - verifyingCRC: check each batch's CRC (memory-bandwidth bound on SSE4.2).
    ///   - body: called with `position` (from the start of `bytes`) and the parsed header.
    @inlinable @discardableResult
    public static func scan<E: Error>(
        _ bytes: UnsafeRawBufferPointer, verifyingCRC: Bool = true,
        _ body: (_ position: Int, _ header: RecordBatchHeader) throws(E) -> Void
    ) throws(E) -> RecordBatchScanResult {
        var iterator = RecordBatchIterator(bytes, verifyingCRC: verifyingCRC)
        while true {
            let next: (position: Int, header: RecordBatchHeader)?
            do {
                next = try iterator.next()
            } catch {
                return RecordBatchScanResult(validByteCount: iterator.position, batchCount: iterator.batchCount, error: error)
            }
            guard let (position, header) = next else { break }
            try body(position, header)
        }
        return RecordBatchScanResult(validByteCount: iterator.position, batchCount: iterator.batchCount, error: nil)
    }

    /// Scans without a callback; see `scan(_:verifyingCRC:_:)`.
    @inlinable @discardableResult
    public static func scan(_ bytes: UnsafeRawBufferPointer, verifyingCRC: Bool = true) -> RecordBatchScanResult {
        scan(bytes, verifyingCRC: verifyingCRC) { (_, _) throws(Never) in }
    }
}

/// The outcome of `RecordBatch.scan`.
public struct RecordBatchScanResult: Sendable, Equatable {
    /// Bytes from the start of the buffer up to the end of the last valid batch: the position to
    /// truncate a log segment at.
    public var validByteCount: Int
    /// The number of valid batches.
    public var batchCount: Int
    /// Why the scan stopped before the end of the buffer, or nil when every byte belongs to a
    /// valid batch. Its `position` is relative to the start of the buffer.
    public var error: RecordBatchError?

    public init(validByteCount: Int, batchCount: Int, error: RecordBatchError?) {
        self.validByteCount = validByteCount
        self.batchCount = batchCount
        self.error = error
    }
}

/// Iterates the back-to-back batches of a buffer (a `.log` segment, a fetch response), yielding
/// each batch's position and header after checking its framing and, optionally, its CRC.
///
/// After a thrown error the iterator stays at the invalid batch: `position` is the end of the
/// last valid batch, and calling `next()` again throws the same error.
public struct RecordBatchIterator {
    @usableFromInline let _bytes: UnsafeRawBufferPointer
    @usableFromInline let _verifyingCRC: Bool
    @usableFromInline let _allowingPartialTail: Bool
    @usableFromInline var _position: Int
    @usableFromInline var _batchCount: Int

    /// The position of the next batch (the end of the last one returned).
    @inlinable
    public var position: Int { _position }

    /// The number of batches returned so far.
    @inlinable
    public var batchCount: Int { _batchCount }

    /// An iterator over `bytes` (which must outlive it).
    ///
    /// - Parameters:
    ///   - verifyingCRC: check each batch's CRC-32C (Kafka's consumer `check.crcs`).
    ///   - allowingPartialTail: end quietly, instead of throwing `.truncatedBatch`, at a batch
    ///     cut short by the end of `bytes`, as a consumer does with the partial batch that ends
    ///     a fetch of `max.partition.fetch.bytes`. `position` then points at that batch.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, verifyingCRC: Bool = true, allowingPartialTail: Bool = false) {
        self._bytes = bytes
        self._verifyingCRC = verifyingCRC
        self._allowingPartialTail = allowingPartialTail
        self._position = 0
        self._batchCount = 0
    }

    /// The next batch's position and header, or nil at the end of the buffer.
    @inlinable
    public mutating func next() throws(RecordBatchError) -> (position: Int, header: RecordBatchHeader)? {
        guard position < _bytes.count, let base = _bytes.baseAddress else { return nil }
        let batch = UnsafeRawBufferPointer(start: base + position, count: _bytes.count &- position)
        let header: RecordBatchHeader
        do {
            header = try _verifyingCRC ? RecordBatch.verify(batch) : RecordBatchHeader(parsing: batch)
        } catch {
            if _allowingPartialTail && error.code == .truncatedBatch { return nil }
            throw error.offsetBy(position)
        }
        let start = _position
        _position &+= header.totalSize
        _batchCount &+= 1
        return (start, header)
    }

    /// The bytes of the batch at `position` returned by `next()`.
    @inlinable
    public func bytes(at position: Int, header: RecordBatchHeader) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: _bytes[position ..< position + header.totalSize])
    }
}

@available(*, unavailable)
extension RecordBatchIterator: Sendable {}
