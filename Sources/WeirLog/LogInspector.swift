#if canImport(Glibc)
import Glibc
#endif
public import WeirFormat

/// Read-only access to segment files for tools (`weir log dump`, `weir log verify`): works on
/// any `.log`, `.index` or `.timeindex` path, takes no lock and changes nothing.
public enum LogInspector {
    /// One batch found in a `.log` file.
    public struct Batch: Sendable, Hashable {
        /// Byte position in the file.
        public var position: Int
        public var header: RecordBatchHeader
        /// Whether the stored CRC-32C matches the bytes (always true when CRCs were not checked).
        public var isChecksumValid: Bool
    }

    /// The result of walking a `.log` file.
    public struct LogFileScan: Sendable {
        public var path: String
        public var fileSize: Int
        public var batchCount: Int
        /// Bytes of well-formed batches from the start of the file.
        public var validBytes: Int
        /// Zero bytes after the batches (a preallocated tail: an active segment, or one left by a
        /// crash); not damage.
        public var zeroTailBytes: Int
        /// Why the walk stopped before the end of the file, if it did for a reason other than a
        /// zero tail (torn batch, bad length or magic, CRC mismatch with `stopAtInvalidChecksum`).
        public var problem: String?
    }

    /// Throws unless `path` is a regular file: opening a FIFO for reading would block until a
    /// writer comes, and a device or directory is no segment.
    static func _requireRegularFile(_ path: String) throws(LogError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw _Sys.error("stat", path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw LogError(.io, "\(path) is not a regular file (a FIFO, device or directory); give the path of a segment's .log, .index or .timeindex file.")
        }
    }

    /// The base offset encoded in a segment file name (`00000000000000001234.log` → 1234).
    public static func baseOffset(ofSegmentFile path: String) -> Int64? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.firstIndex(of: "."), name[..<dot].utf8.count == 20 else { return nil }
        return Int64(name[..<dot])
    }

    /// Walks the batches of a `.log` file, calling `body` with each batch and its bytes (valid
    /// only inside `body`). Framing errors always stop the walk; a CRC mismatch stops it only
    /// when `stopAtInvalidChecksum` (recovery would truncate there).
    public static func scanLogFile(
        _ path: String, stopAtInvalidChecksum: Bool = false,
        _ body: (Batch, UnsafeRawBufferPointer) throws(LogError) -> Void = { (_, _) throws(LogError) in }
    ) throws(LogError) -> LogFileScan {
        try _requireRegularFile(path)
        let file = try _MappedFile(path: path, create: false, writable: false)
        var scan = LogFileScan(path: path, fileSize: file.mappedLength, batchCount: 0, validBytes: 0, zeroTailBytes: 0, problem: nil)
        guard let base = file.base.map({ UnsafeRawPointer($0) }) else { return scan }
        var p = 0
        walk: while p < scan.fileSize {
            let outcome = _BatchScan.check(base + p, available: scan.fileSize - p, verifyCRC: false)
            switch outcome {
            case .end, .invalid:
                scan.problem = _BatchScan.stopReason(outcome, base + p, available: scan.fileSize - p, at: p, checkZeroTail: true)
                if scan.problem == nil { scan.zeroTailBytes = scan.fileSize - p }
                break walk
            case .valid(let h):
                let bytes = UnsafeRawBufferPointer(start: base + p, count: h.totalSize)
                let valid = RecordBatch.computeCRC(bytes, totalSize: h.totalSize) == h.crc
                if !valid && stopAtInvalidChecksum {
                    scan.problem = "CRC-32C mismatch at position \(p)"
                    break walk
                }
                try body(Batch(position: p, header: h, isChecksumValid: valid), bytes)
                scan.batchCount += 1
                p += h.totalSize
            }
        }
        scan.validBytes = p
        if file.isDamaged {
            scan.problem = "the file was truncated (by another process) while it was read; read it again"
        }
        return scan
    }

    /// The entries of a `.index` file: absolute offset and file position.
    public static func offsetIndexEntries(_ path: String, baseOffset: Int64? = nil) throws(LogError) -> [(offset: Int64, position: Int)] {
        let base = baseOffset ?? Self.baseOffset(ofSegmentFile: path) ?? 0
        try _requireRegularFile(path)
        let file = try _IndexFile(path: path, entrySize: _OffsetIndex.entrySize, maxBytes: 0)
        let index = _OffsetIndex(file: file, baseOffset: base)
        return (0..<file.count).map { (base + index.relativeOffset($0), index.position($0)) }
    }

    /// The entries of a `.timeindex` file: timestamp and absolute offset.
    public static func timeIndexEntries(_ path: String, baseOffset: Int64? = nil) throws(LogError) -> [(timestamp: Int64, offset: Int64)] {
        let base = baseOffset ?? Self.baseOffset(ofSegmentFile: path) ?? 0
        try _requireRegularFile(path)
        let file = try _IndexFile(path: path, entrySize: _TimeIndex.entrySize, maxBytes: 0)
        let index = _TimeIndex(file: file, baseOffset: base)
        return (0..<file.count).map { (index.timestamp($0), base + index.relativeOffset($0)) }
    }

    /// What `verify` found.
    public struct VerifyReport: Sendable {
        public var partitionsChecked = 0
        public var segmentsChecked = 0
        public var batchesChecked = 0
        /// One line per problem, naming the file; empty when the directory is valid.
        public var problems: [String] = []
        /// Notes that are not problems (a preallocated tail after an unclean shutdown).
        public var notes: [String] = []
        public var isValid: Bool { problems.isEmpty }
    }
}
