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

    /// Why a walk over a `.log`'s batches stops at `position` with `outcome` (`.end` or
    /// `.invalid`), as recovery and `weir log verify` report it; nil at a clean end: no bytes
    /// left, or a tail that is all zero (read only when `checkZeroTail`).
    static func stopReason(_ outcome: Outcome, _ p: UnsafeRawPointer, available: Int, at position: Int, checkZeroTail: Bool) -> String? {
        switch outcome {
        case .valid: return nil
        case .invalid(let why): return "\(why) at position \(position)"
        case .end:
            guard checkZeroTail, !_Segment._isZero(p, available) else { return nil }
            return "a zero batch prefix at position \(position) is followed by non-zero bytes"
        }
    }

    /// The read path's cheap check of a batch header it did not validate itself (a closed
    /// segment trusted after a clean shutdown, reached through an index entry): magic 2, a size
    /// from the header size up to the bytes left before `end`, a non-negative `lastOffsetDelta`.
    /// A damaged segment or index fails it instead of sending a reader astray.
    @inline(__always)
    static func isPlausible(_ h: RecordBatchHeader, at position: Int, end: Int) -> Bool {
        h.magic == RecordBatchLayout.currentMagic && h.totalSize >= RecordBatchLayout.headerSize
            && h.totalSize <= end - position && h.lastOffsetDelta >= 0
    }

    /// The header of a batch already known to be valid (the read path).
    @inline(__always)
    static func header(_ p: UnsafeRawPointer) -> RecordBatchHeader {
        RecordBatchHeader(unsafeUncheckedBytes: p)
    }
}
