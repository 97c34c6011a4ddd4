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
        let file = try _MappedFile(path: path, create: false, writable: false)
        var scan = LogFileScan(path: path, fileSize: file.mappedLength, batchCount: 0, validBytes: 0, zeroTailBytes: 0, problem: nil)
        guard let base = file.base.map({ UnsafeRawPointer($0) }) else { return scan }
        var p = 0
        walk: while p < scan.fileSize {
            switch _BatchScan.check(base + p, available: scan.fileSize - p, verifyCRC: false) {
            case .end:
                if _Segment._isZero(base + p, scan.fileSize - p) {
                    scan.zeroTailBytes = scan.fileSize - p
                } else {
                    scan.problem = "a zero batch prefix at position \(p) is followed by non-zero bytes"
                }
                break walk
            case .invalid(let why):
                scan.problem = "\(why) at position \(p)"
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
        return scan
    }

    /// The entries of a `.index` file: absolute offset and file position.
    public static func offsetIndexEntries(_ path: String, baseOffset: Int64? = nil) throws(LogError) -> [(offset: Int64, position: Int)] {
        let base = baseOffset ?? Self.baseOffset(ofSegmentFile: path) ?? 0
        let file = try _IndexFile(path: path, entrySize: _OffsetIndex.entrySize, maxBytes: 0)
        let index = _OffsetIndex(file: file, baseOffset: base)
        return (0..<file.count).map { (base + index.relativeOffset($0), index.position($0)) }
    }

    /// The entries of a `.timeindex` file: timestamp and absolute offset.
    public static func timeIndexEntries(_ path: String, baseOffset: Int64? = nil) throws(LogError) -> [(timestamp: Int64, offset: Int64)] {
        let base = baseOffset ?? Self.baseOffset(ofSegmentFile: path) ?? 0
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

    /// Checks every partition folder of a log directory: each batch's framing and CRC-32C,
    /// offsets increasing within and across segments, and each `.index` / `.timeindex` entry
    /// against the batches (sorted, inside the file, pointing at a batch boundary whose last
    /// offset is the entry's offset). Read-only; run it on a closed directory for a stable answer.
    public static func verify(logDirectory: String) throws(LogError) -> VerifyReport {
        var report = VerifyReport()
        for name in try _Sys.listDirectory(logDirectory) where !name.hasPrefix(".") && _Sys.isDirectory(logDirectory + "/" + name) {
            guard let dash = name.lastIndex(of: "-"), Int32(name[name.index(after: dash)...]) != nil else { continue }
            report.partitionsChecked += 1
            let dir = logDirectory + "/" + name
            let bases = try _Sys.listDirectory(dir).compactMap(PartitionLog._baseOffset(ofLogFile:)).sorted()
            var expected: Int64 = bases.first ?? 0
            for (i, base) in bases.enumerated() {
                report.segmentsChecked += 1
                let p = _Segment.paths(dir, base)
                var boundaries: [Int: Int64] = [:]
                var maxTimestamp: Int64 = -1
                var lastOffset = base - 1
                var offsetProblem: String?
                let scan = try scanLogFile(p.log) { (b, _) throws(LogError) in
                    if !b.isChecksumValid { report.problems.append("\(p.log): CRC-32C mismatch in the batch at position \(b.position) (offsets \(b.header.baseOffset)...\(b.header.lastOffset))") }
                    if b.header.baseOffset < expected && offsetProblem == nil {
                        offsetProblem = "\(p.log): batch at position \(b.position) has base offset \(b.header.baseOffset), expected at least \(expected)"
                    }
                    boundaries[b.position] = b.header.lastOffset
                    maxTimestamp = max(maxTimestamp, b.header.maxTimestamp)
                    lastOffset = b.header.lastOffset
                    expected = b.header.nextOffset
                }
                if let offsetProblem { report.problems.append(offsetProblem) }
                report.batchesChecked += scan.batchCount
                if let problem = scan.problem { report.problems.append("\(p.log): \(problem)") }
                if scan.zeroTailBytes > 0 {
                    let note = "\(p.log): \(scan.zeroTailBytes) zero bytes after the last batch (preallocated tail; the directory was not closed cleanly)"
                    if i == bases.count - 1 { report.notes.append(note) } else { report.problems.append(note) }
                }
                if _Sys.fileSize(path: p.index) == nil {
                    report.problems.append("\(p.index): missing")
                } else {
                    var last: Int64 = -1
                    for e in try offsetIndexEntries(p.index, baseOffset: base) {
                        if e.offset == base && e.position == 0 && last >= 0 { report.notes.append("\(p.index): zero entries after \(last) (preallocated)"); break }
                        if e.offset <= last || boundaries[e.position] != e.offset {
                            report.problems.append("\(p.index): entry (offset \(e.offset), position \(e.position)) does not match a batch")
                            break
                        }
                        last = e.offset
                    }
                }
                if _Sys.fileSize(path: p.timeIndex) == nil {
                    report.problems.append("\(p.timeIndex): missing")
                } else {
                    var lastTs = Int64.min
                    for e in try timeIndexEntries(p.timeIndex, baseOffset: base) {
                        if e.timestamp == 0 && e.offset == base && lastTs != .min { break }
                        if e.timestamp < lastTs || e.timestamp > maxTimestamp || e.offset > lastOffset || e.offset < base {
                            report.problems.append("\(p.timeIndex): entry (timestamp \(e.timestamp), offset \(e.offset)) is out of order or past the segment")
                            break
                        }
                        lastTs = e.timestamp
                    }
                }
            }
        }
        return report
    }
}
