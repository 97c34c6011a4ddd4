import WeirFormat

/// The log's use of WeirFormat's batch checks: one batch at a position in a segment or in an
/// append, told apart as valid, the end of the data (nothing left, or a zeroed preallocated
/// tail), or invalid (with the reason).
enum _BatchScan {
    enum Outcome {
        case valid(RecordBatchHeader)
        /// No bytes left, a zero `baseOffset` and `batchLength`, or fewer than 12 bytes, all zero
        /// (the zeroed, preallocated tail).
        case end
        case invalid(String)
    }

    /// Checks framing, magic and (when asked) the CRC-32C of the batch at `p`, reading at most
    /// `available` bytes, plus what the log needs on top: a non-negative `lastOffsetDelta`.
    @inline(__always)
    static func check(_ p: UnsafeRawPointer, available: Int, verifyCRC: Bool) -> Outcome {
        typealias L = RecordBatchLayout
        if available <= 0 { return .end }
        if available >= L.logOverhead && p.loadUnaligned(fromByteOffset: L.baseOffset, as: UInt64.self) == 0
            && p.loadUnaligned(fromByteOffset: L.batchLength, as: UInt32.self) == 0 {
            return .end
        }
        // A zeroed tail shorter than the 12-byte prefix: a closed segment that a crash left
        // untrimmed whose last batch ends within 11 bytes of segment.bytes. Also the end.
        if available < L.logOverhead && (0..<available).allSatisfy({ p.load(fromByteOffset: $0, as: UInt8.self) == 0 }) {
            return .end
        }
        let bytes = UnsafeRawBufferPointer(start: p, count: available)
        let header: RecordBatchHeader
        do {
            header = try verifyCRC ? RecordBatch.verify(bytes) : RecordBatchHeader(parsing: bytes)
        } catch {
            return .invalid(error.message)
        }
        if header.lastOffsetDelta < 0 { return .invalid("negative lastOffsetDelta \(header.lastOffsetDelta)") }
        return .valid(header)
    }

    /// The header of a batch already known to be valid (the read path).
    @inline(__always)
    static func header(_ p: UnsafeRawPointer) -> RecordBatchHeader {
        RecordBatchHeader(unsafeUncheckedBytes: p)
    }
}
