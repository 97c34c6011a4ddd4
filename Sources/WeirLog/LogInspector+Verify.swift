#if canImport(Glibc)
import Glibc
#endif

extension LogInspector {
    /// Checks every partition folder of a log directory: each batch's framing and CRC-32C,
    /// offsets increasing within and across segments, missing offsets (an empty closed segment,
    /// a gap between segments, segments gone before the first one — see `LogHole`), and each
    /// `.index` / `.timeindex` entry against the batches (sorted, inside the file, pointing at a
    /// batch boundary whose last offset is the entry's offset). Read-only.
    ///
    /// On a live directory (another process holds its lock) the files change while they are
    /// read: a batch still being copied at the end of the active segment, a rolled segment not
    /// trimmed yet, a segment that retention just deleted. A partition that shows a problem is
    /// then checked again (up to `liveRetries` times, `liveRetryMillis` apart) and only a problem
    /// that persists is reported; index entries past the batches read are not checked (they
    /// describe data written after the snapshot). A file another process truncates while it is
    /// mapped reads as zeros (CWeirSupport's SIGBUS guard), never kills the process.
    public static func verify(logDirectory: String, liveRetries: Int = 5, liveRetryMillis: Int = 100) throws(LogError) -> VerifyReport {
        var report = VerifyReport()
        let live = _isLive(logDirectory)
        let clean = _Sys.exists(logDirectory + "/" + LogDirectory.cleanShutdownFileName)
        let startsPath = logDirectory + "/" + LogDirectory.logStartOffsetCheckpointFileName
        let starts = (try? _Sys.readSmallFile(startsPath))?.flatMap { try? _Checkpoint.decode($0, path: startsPath) } ?? [:]
        let flushedPath = logDirectory + "/" + LogDirectory.recoveryPointCheckpointFileName
        let flushed = (try? _Sys.readSmallFile(flushedPath))?.flatMap { try? _Checkpoint.decode($0, path: flushedPath) } ?? [:]
        for name in try _Sys.listDirectory(logDirectory).sorted() where !name.hasPrefix(".") && _Sys.isDirectory(logDirectory + "/" + name) {
            guard let dash = name.lastIndex(of: "-"), let partition = Int32(name[name.index(after: dash)...]) else { continue }
            let topic = String(name[..<dash])
            let tp = TopicPartition(topic, partition)
            let compacted = _isCompacted(logDirectory, topic)
            var attempt = 0
            var part: VerifyReport
            while true {
                part = _verifyPartition(logDirectory + "/" + name, live: live, compacted: compacted,
                                        checkpointedStart: starts[tp], trustStart: clean && !live, flushedEnd: flushed[tp])
                if part.problems.isEmpty || !live || attempt >= liveRetries { break }
                attempt += 1
                usleep(UInt32(liveRetryMillis * 1000))
            }
            report.partitionsChecked += 1
            report.segmentsChecked += part.segmentsChecked
            report.batchesChecked += part.batchesChecked
            report.problems += part.problems
            report.notes += part.notes
        }
        if !live { report.notes += _halfMadeTopics(logDirectory) }
        if live { report.notes.append("\(logDirectory) is in use by another process: checked a snapshot; problems are those that persisted over \(liveRetries) re-checks") }
        return report
    }

    /// One partition folder; never throws (an unreadable file is a problem).
    /// `flushedEnd` is the partition's recovery-point checkpoint: offsets below it were synced,
    /// so a log that ends before it lost them (an emptied or cut active segment).
    static func _verifyPartition(_ dir: String, live: Bool, compacted: Bool, checkpointedStart: Int64?, trustStart: Bool,
                                 flushedEnd: Int64? = nil) -> VerifyReport {
        var report = VerifyReport()
        let bases: [Int64]
        do { bases = try _Sys.listDirectory(dir).compactMap(PartitionLog._baseOffset(ofLogFile:)).sorted() } catch {
            report.problems.append("\(dir): \(error.message)")
            return report
        }
        if let start = checkpointedStart, let first = bases.first, start < first {
            let line = "\(dir): offsets \(start)..<\(first) are missing: the segments before \(_Segment.fileName(first, ".log")) are gone (the log-start checkpoint says \(start))"
            // After a crash (or while live) retention may have deleted them before its checkpoint.
            if trustStart { report.problems.append(line) } else { report.notes.append(line + "; not a problem if retention deleted them just before a crash") }
        }
        var missing: [Range<Int64>] = []
        var expected: Int64 = bases.first ?? 0
        var previousCut = false
        for (i, base) in bases.enumerated() {
            report.segmentsChecked += 1
            let isLast = i == bases.count - 1
            let p = _Segment.paths(dir, base)
            // A compacted topic's closed segment may end before the next base, unless its index
            // shows that its end was cut (`_Segment.lostEnd`).
            if i > 0 && expected < base && (!compacted || previousCut) {
                report.problems.append("\(p.log): offsets \(expected)..<\(base) are missing before this segment (the previous one ends at \(expected))")
                missing.append(expected..<base)
            }
            expected = max(expected, base)
            previousCut = false
            if !isLast, let lost = _Segment.lostEnd(directory: dir, baseOffset: base) {
                report.problems.append("\(p.log): \(lost)")
                previousCut = true
            }
            var boundaries: [Int: Int64] = [:]
            var maxTimestamp: Int64 = -1
            var lastOffset = base - 1
            var offsetProblem: String?
            let scan: LogFileScan
            do {
                scan = try scanLogFile(p.log) { (b, _) throws(LogError) in
                    if !b.isChecksumValid { report.problems.append("\(p.log): CRC-32C mismatch in the batch at position \(b.position) (offsets \(b.header.baseOffset)...\(b.header.lastOffset))") }
                    if b.header.baseOffset < expected && offsetProblem == nil {
                        offsetProblem = "\(p.log): batch at position \(b.position) has base offset \(b.header.baseOffset), expected at least \(expected)"
                    }
                    boundaries[b.position] = b.header.lastOffset
                    maxTimestamp = max(maxTimestamp, b.header.maxTimestamp)
                    lastOffset = b.header.lastOffset
                    expected = b.header.nextOffset
                }
            } catch {
                report.problems.append("\(p.log): \(error.message)")
                continue
            }
            if let offsetProblem { report.problems.append(offsetProblem) }
            report.batchesChecked += scan.batchCount
            if let problem = scan.problem { report.problems.append("\(p.log): \(problem)") }
            // Compaction never empties a segment (it keeps the last batch's header): for a
            // compacted topic too, an empty closed segment is damage.
            if scan.batchCount == 0 && !isLast && scan.problem == nil {
                report.problems.append("\(p.log): a closed segment with no batches (emptied): its offsets \(base)..<\(bases[i + 1]) are missing")
                missing.append(base..<bases[i + 1])
            }
            if scan.zeroTailBytes > 0 {
                let note = "\(p.log): \(scan.zeroTailBytes) zero bytes after the last batch (preallocated tail; the directory was not closed cleanly)"
                if isLast { report.notes.append(note) } else { report.problems.append(note) }
            }
            // Index entries past the batches read describe data written after the snapshot.
            let snapshotEnd = live && isLast ? scan.validBytes : Int.max
            _verifyOffsetIndex(p.index, base: base, boundaries: boundaries, snapshotEnd: snapshotEnd, &report)
            _verifyTimeIndex(p.timeIndex, base: base, maxTimestamp: maxTimestamp, lastOffset: lastOffset, live: live && isLast, &report)
        }
        if let flushedEnd, let last = bases.last, expected < flushedEnd {
            let line = "\(_Segment.paths(dir, last).log): offsets \(expected)..<\(flushedEnd) are missing at the end of the log: the recovery-point checkpoint says they were flushed"
            if live { report.notes.append(line + " (the directory is in use; re-check after it closes)") } else { report.problems.append(line) }
            missing.append(expected..<flushedEnd)
        }
        // Holes an open found earlier, whose other evidence may be gone (a compacted topic's).
        var ignored: [String] = []
        for h in _DamageFile.read(dir, &ignored) where h.offsets.upperBound > max(checkpointedStart ?? 0, 0)
            && !missing.contains(where: { $0.overlaps(h.offsets) }) {
            report.problems.append("\(dir): \(h) (recorded in \(_DamageFile.fileName) by the open that found it)")
        }
        report.notes += ignored
        return report
    }

    static func _verifyOffsetIndex(_ path: String, base: Int64, boundaries: [Int: Int64], snapshotEnd: Int, _ report: inout VerifyReport) {
        guard _Sys.fileSize(path: path) != nil else { report.problems.append("\(path): missing"); return }
        do {
            var last: Int64 = -1
            for e in try offsetIndexEntries(path, baseOffset: base) {
                if e.offset == base && e.position == 0 && last >= 0 { report.notes.append("\(path): zero entries after \(last) (preallocated)"); break }
                if e.position >= snapshotEnd { break }
                if e.offset <= last || boundaries[e.position] != e.offset {
                    report.problems.append("\(path): entry (offset \(e.offset), position \(e.position)) does not match a batch")
                    break
                }
                last = e.offset
            }
        } catch {
            report.problems.append("\(path): \(error.message)")
        }
    }

    static func _verifyTimeIndex(_ path: String, base: Int64, maxTimestamp: Int64, lastOffset: Int64, live: Bool, _ report: inout VerifyReport) {
        guard _Sys.fileSize(path: path) != nil else { report.problems.append("\(path): missing"); return }
        do {
            var lastTs = Int64.min
            for e in try timeIndexEntries(path, baseOffset: base) {
                if e.timestamp == 0 && e.offset == base && lastTs != .min { break }
                if live && e.offset > lastOffset { break }
                if e.timestamp < lastTs || e.timestamp > maxTimestamp || e.offset > lastOffset || e.offset < base {
                    report.problems.append("\(path): entry (timestamp \(e.timestamp), offset \(e.offset)) is out of order or past the segment")
                    break
                }
                lastTs = e.timestamp
            }
        } catch {
            report.problems.append("\(path): \(error.message)")
        }
    }

    /// Topics whose creation a crash interrupted (`.topics/<topic>.creating` without its
    /// properties file, in a directory no process holds): the next open removes them (`LogDirectory._removeHalfMadeTopics`).
    static func _halfMadeTopics(_ directory: String) -> [String] {
        let folder = directory + "/" + LogDirectory.topicsFolder
        return ((try? _Sys.listDirectory(folder)) ?? []).sorted().compactMap { name in
            guard name.hasSuffix(".creating") else { return nil }
            let topic = String(name.dropLast(".creating".count))
            if _Sys.exists(folder + "/" + topic + ".properties") { return nil }
            return "topic '\(topic)' is half-made (a crash interrupted its creation before any record was written): the next open of \(directory) removes it"
        }
    }

    /// Whether another live process holds the directory's lock: the pid in `.lock` exists and is
    /// not this process. (Taking the lock to find out would make that process's next open fail.)
    static func _isLive(_ directory: String) -> Bool {
        guard let bytes = try? _Sys.readSmallFile(directory + "/" + _DirectoryLock.fileName),
              let pid = Int32(String(decoding: bytes, as: UTF8.self).trimmingWhitespace), pid > 0, pid != getpid()
        else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Whether the topic's `cleanup.policy` includes `compact` (compaction leaves offset gaps).
    static func _isCompacted(_ directory: String, _ topic: String) -> Bool {
        let path = directory + "/" + LogDirectory.topicsFolder + "/" + topic + ".properties"
        guard let bytes = try? _Sys.readSmallFile(path) else { return false }
        return _Properties.decode(bytes)["cleanup.policy"]?.contains("compact") ?? false
    }
}
