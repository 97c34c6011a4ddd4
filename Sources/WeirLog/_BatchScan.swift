import WeirFormat

/// What the log needs from a RecordBatch header at a position in a segment.
struct _BatchInfo {
    var baseOffset: Int64
    var lastOffset: Int64
    /// Total bytes, including the 12-byte offset/length prefix.
    var size: Int
    var maxTimestamp: Int64
    var recordsCount: Int32
}

enum _BatchScan {
    enum Outcome {
        case valid(_BatchInfo)
        /// Fewer than 12 bytes left, or a zero length (the zeroed, preallocated tail).
        case end
        case invalid(String)
    }

    /// Checks the batch at `p` (sizes, magic, offsets and, when asked, the CRC-32C) without
    /// reading past `available` bytes.
    @inline(__always)
    static func check(_ p: UnsafeRawPointer, available: Int, maxBatchSize: Int = Int(Int32.max), verifyCRC: Bool) -> Outcome {
        typealias L = RecordBatchLayout
        if available < L.logOverhead { return available == 0 ? .end : .invalid("\(available) bytes left, fewer than a batch's 12-byte prefix") }
        let batchLength = Int(p._loadBE(L.batchLength, as: Int32.self))
        if batchLength == 0 && p._loadBE(L.baseOffset, as: Int64.self) == 0 { return .end }
        let size = batchLength + L.logOverhead
        if size < L.headerSize || size > maxBatchSize { return .invalid("batch length \(batchLength) is out of range") }
        if size > available { return .invalid("batch of \(size) bytes extends past the end of the data (\(available) bytes left)") }
        let magic = p.load(fromByteOffset: L.magic, as: Int8.self)
        if magic != L.currentMagic { return .invalid("magic \(magic), expected \(L.currentMagic)") }
        let lastDelta = p._loadBE(L.lastOffsetDelta, as: Int32.self)
        if lastDelta < 0 { return .invalid("negative lastOffsetDelta \(lastDelta)") }
        if verifyCRC {
            let stored = p._loadBE(L.crc, as: UInt32.self)
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: p + L.crcCoverageStart, count: size - L.crcCoverageStart))
            if stored != computed { return .invalid("CRC-32C mismatch (stored \(stored), computed \(computed))") }
        }
        let base = p._loadBE(L.baseOffset, as: Int64.self)
        return .valid(_BatchInfo(
            baseOffset: base,
            lastOffset: base + Int64(lastDelta),
            size: size,
            maxTimestamp: p._loadBE(L.maxTimestamp, as: Int64.self),
            recordsCount: p._loadBE(L.recordsCount, as: Int32.self)
        ))
    }

    /// The header fields of a batch already known to be valid (the read path).
    @inline(__always)
    static func header(_ p: UnsafeRawPointer) -> (baseOffset: Int64, lastOffset: Int64, size: Int) {
        typealias L = RecordBatchLayout
        let base = p._loadBE(L.baseOffset, as: Int64.self)
        return (base, base + Int64(p._loadBE(L.lastOffsetDelta, as: Int32.self)),
                Int(p._loadBE(L.batchLength, as: Int32.self)) + L.logOverhead)
    }
}
