import Foundation
import WeirFormat

/// Checks a log directory without changing it: every segment's batches (size, magic, CRC-32C,
/// increasing offsets), offsets across segments, and every `.index` / `.timeindex` entry
/// against the batches it points at. `weir log verify` runs it.
///
/// Unlike opening a `LogDirectory`, verification never truncates, rebuilds or takes the lock,
/// so it is safe on a directory another process is writing (the unwritten, preallocated tail
/// of an active segment reads as zeros and is not an error).
public enum LogVerifier {
    /// One problem found.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The file the problem is in.
        public var file: String
        /// The byte position in that file, when there is one.
        public var position: Int?
        public var message: String
        public var description: String { "\(file)\(position.map { " at byte \($0)" } ?? ""): \(message)" }
    }

    /// What verification found.
    public struct Report: Sendable, CustomStringConvertible {
        public var partitions = 0
        public var segments = 0
        public var batches = 0
        public var records: Int64 = 0
        public var bytes: Int64 = 0
        public var indexEntries = 0
        public var timeIndexEntries = 0
        public var problems: [Problem] = []
        /// Whether the directory was closed cleanly (the clean-shutdown marker is present).
        public var cleanShutdownMarker = false
        public var isValid: Bool { problems.isEmpty }

        public var description: String {
            var s = "\(partitions) partitions, \(segments) segments, \(batches) batches, \(records) records, \(bytes) bytes; "
            s += "\(indexEntries) offset-index and \(timeIndexEntries) time-index entries checked; "
            s += cleanShutdownMarker ? "clean shutdown marker present" : "no clean shutdown marker (recovery will run on open)"
            if problems.isEmpty { return s + "\nvalid" }
            return s + "\n" + problems.map { "INVALID \($0)" }.joined(separator: "\n")
        }
    }

    /// Verifies the log directory at `path`. Throws only when `path` is not a readable directory.
    public static func verify(directory path: String) throws(LogError) -> Report {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw LogError(.io, "\(path) is not a log directory; give the --log-dir of a Weir log")
        }
        var report = Report()
        report.cleanShutdownMarker = fm.fileExists(atPath: path + "/" + LogDirectory.cleanShutdownFileName)
        let entries = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
        for name in entries where !name.hasPrefix(".") {
            var sub: ObjCBool = false
            let dir = path + "/" + name
            guard fm.fileExists(atPath: dir, isDirectory: &sub), sub.boolValue,
                let dash = name.lastIndex(of: "-"), Int32(name[name.index(after: dash)...]) != nil
            else { continue }
            report.partitions += 1
            verifyPartition(dir, &report)
        }
        return report
    }

    static func verifyPartition(_ dir: String, _ report: inout Report) {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let bases = files.compactMap { name -> Int64? in
            guard name.hasSuffix(".log"), name.count == 24 else { return nil }
            return Int64(name.prefix(20))
        }.sorted()
        var expected: Int64 = -1
        for (i, base) in bases.enumerated() {
            report.segments += 1
            let stem = dir + "/" + String(repeating: "0", count: max(0, 20 - String(base).count)) + String(base)
            let isLast = i == bases.count - 1
            if base < expected {
                report.problems.append(Problem(file: stem + ".log", position: nil, message: "segment base offset \(base) overlaps the previous segment, which ends at \(expected - 1)"))
            }
            var boundaries: [Int: (base: Int64, last: Int64, maxTs: Int64)] = [:]
            let next = verifySegment(stem + ".log", base: base, isLast: isLast, &boundaries, &report)
            if let next { expected = max(expected, next) }
            verifyIndex(stem + ".index", base: base, boundaries, &report)
            verifyTimeIndex(stem + ".timeindex", base: base, next: next ?? base, &report)
        }
    }

    /// Returns the segment's next offset (or nil when it holds no batch).
    static func verifySegment(
        _ file: String, base: Int64, isLast: Bool,
        _ boundaries: inout [Int: (base: Int64, last: Int64, maxTs: Int64)], _ report: inout Report
    ) -> Int64? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped) else {
            report.problems.append(Problem(file: file, position: nil, message: "cannot read the segment"))
            return nil
        }
        report.bytes += Int64(data.count)
        var next: Int64? = nil
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var expected = base
            let result = RecordBatch.scan(bytes, verifyingCRC: true) { (position, header) throws(Never) in
                if header.baseOffset < expected && report.problems.last?.position != position {
                    report.problems.append(Problem(file: file, position: position, message: "batch base offset \(header.baseOffset) is below \(expected): offsets must increase"))
                }
                boundaries[position] = (header.baseOffset, header.lastOffset, header.maxTimestamp)
                expected = header.lastOffset + 1
                next = expected
                report.batches += 1
                report.records += Int64(header.recordCount)
            }
            if let error = result.error {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[result.validByteCount...])
                let zeroTail = rest.allSatisfy { $0 == 0 }
                if !zeroTail {
                    report.problems.append(Problem(file: file, position: result.validByteCount, message: error.message))
                } else if !isLast {
                    // Closed segments are trimmed to their size on roll and on close.
                    report.problems.append(Problem(file: file, position: result.validByteCount, message: "\(rest.count) zero bytes after the last batch of a closed segment"))
                }
            }
        }
        return next
    }

    static func readEntries(_ file: String, size: Int, _ report: inout Report) -> Data? {
        guard FileManager.default.fileExists(atPath: file) else {
            report.problems.append(Problem(file: file, position: nil, message: "missing; opening the log rebuilds it"))
            return nil
        }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: file)) else {
            report.problems.append(Problem(file: file, position: nil, message: "cannot read the index"))
            return nil
        }
        if data.count % size != 0 {
            report.problems.append(Problem(file: file, position: nil, message: "size \(data.count) is not a multiple of \(size)"))
        }
        return data
    }

    static func verifyIndex(
        _ file: String, base: Int64, _ boundaries: [Int: (base: Int64, last: Int64, maxTs: Int64)], _ report: inout Report
    ) {
        guard let data = readEntries(file, size: 8, &report) else { return }
        data.withUnsafeBytes { raw in
            var previous: Int64 = -1
            var i = 0
            while i + 8 <= raw.count {
                let rel = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: Int32.self))
                let pos = Int(Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i + 4, as: Int32.self)))
                if rel == 0 && pos == 0 && i > 0 { break }  // preallocated, unused
                let offset = base + Int64(rel)
                report.indexEntries += 1
                if offset <= previous {
                    report.problems.append(Problem(file: file, position: i, message: "entry offset \(offset) does not increase (previous \(previous))"))
                    return
                }
                guard let batch = boundaries[pos] else {
                    report.problems.append(Problem(file: file, position: i, message: "entry (offset \(offset), position \(pos)) does not point at a batch"))
                    return
                }
                if offset < batch.base || offset > batch.last {
                    report.problems.append(Problem(file: file, position: i, message: "entry offset \(offset) is not in the batch at position \(pos) (offsets \(batch.base)...\(batch.last))"))
                    return
                }
                previous = offset
                i += 8
            }
        }
    }

    static func verifyTimeIndex(_ file: String, base: Int64, next: Int64, _ report: inout Report) {
        guard let data = readEntries(file, size: 12, &report) else { return }
        data.withUnsafeBytes { raw in
            var previousTs = Int64.min
            var previousOffset: Int64 = -1
            var i = 0
            while i + 12 <= raw.count {
                let ts = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: Int64.self))
                let rel = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: Int32.self))
                if ts == 0 && rel == 0 && i > 0 { break }
                let offset = base + Int64(rel)
                report.timeIndexEntries += 1
                if ts < previousTs || offset < previousOffset || offset < base || offset >= max(next, base + 1) {
                    report.problems.append(Problem(file: file, position: i, message: "entry (timestamp \(ts), offset \(offset)) is out of order or outside the segment's offsets \(base)..<\(next)"))
                    return
                }
                previousTs = ts
                previousOffset = offset
                i += 12
            }
        }
    }
}
