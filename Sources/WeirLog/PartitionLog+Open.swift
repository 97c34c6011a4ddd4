#if canImport(Glibc)
import Glibc
#endif

/// What opening one partition found and repaired.
public struct PartitionRecovery: Sendable, Hashable, CustomStringConvertible {
    public var topicPartition: TopicPartition
    /// Segments scanned batch by batch (CRCs checked) because they were at or after the
    /// recovery point of an unclean shutdown.
    public var segmentsRecovered: Int = 0
    /// Bytes cut at the first invalid byte (torn or corrupt batches; a zeroed preallocated tail
    /// is not counted).
    public var bytesTruncated: Int = 0
    /// Index pairs (`.index` + `.timeindex`) rewritten, because their segment was recovered or
    /// because they were missing or corrupt.
    public var indexesRebuilt: Int = 0
    /// Base offsets of segments deleted on open. Always empty now: when a segment is cut short
    /// the later ones are kept, and the offsets lost become a hole (`holes`).
    public var segmentsDeleted: [Int64] = []
    /// One line per repair, naming the file and the reason.
    public var messages: [String] = []
    /// Offsets lost on disk (see `LogHole`), found on open.
    public var holes: [LogHole] = []

    public init(topicPartition: TopicPartition) { self.topicPartition = topicPartition }

    /// Whether anything was repaired (beyond the routine recovery scan).
    public var repairedDamage: Bool { bytesTruncated > 0 || !segmentsDeleted.isEmpty || !holes.isEmpty }

    public var description: String {
        "\(topicPartition): \(segmentsRecovered) segments recovered, \(bytesTruncated) bytes truncated, \(indexesRebuilt) indexes rebuilt, \(segmentsDeleted.count) segments deleted"
            + (messages.isEmpty ? "" : "\n  " + messages.joined(separator: "\n  "))
    }
}

extension _Segment {
    /// Kafka's index sanity check, on the files as they are: both present, whole entries, offsets
    /// strictly increasing inside the segment, positions inside the log.
    static func indexesAreSane(directory: String, baseOffset: Int64) -> Bool {
        let p = paths(directory, baseOffset)
        guard let logSize = _Sys.fileSize(path: p.log),
              let oiSize = _Sys.fileSize(path: p.index), oiSize % _OffsetIndex.entrySize == 0,
              let tiSize = _Sys.fileSize(path: p.timeIndex), tiSize % _TimeIndex.entrySize == 0
        else { return false }
        do {
            let oi = _OffsetIndex(file: try _IndexFile(path: p.index, entrySize: _OffsetIndex.entrySize, maxBytes: 0), baseOffset: baseOffset)
            let ti = _TimeIndex(file: try _IndexFile(path: p.timeIndex, entrySize: _TimeIndex.entrySize, maxBytes: 0), baseOffset: baseOffset)
            guard oi.isSane(logSize: logSize) else { return false }
            // Time-index offsets must not pass the last batch; the offset index bounds it cheaply.
            let bound = (oi.lastOffset ?? baseOffset) + Int64(max(logSize, 1))
            return ti.isSane(lastOffset: bound)
        } catch {
            return false
        }
    }
}

extension PartitionLog {
    static func _baseOffset(ofLogFile name: String) -> Int64? {
        guard name.hasSuffix(".log"), name.utf8.count == 24 else { return nil }
        let digits = name.prefix(20)
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }

    /// Opens (or creates) a partition directory.
    ///
    /// After a clean shutdown the indexes and the end of each segment are checked (a segment that
    /// fails is recovered as below, a missing or corrupt index rebuilt). After an unclean one, every segment from the one
    /// holding `recoveryPoint` on is scanned: sizes, offsets and CRCs are checked, the log is
    /// truncated at the first invalid byte, and the indexes are rebuilt. Later segments are kept
    /// when an earlier one is cut short; the missing offsets become a hole (`damage`).
    static func _open(topicPartition: TopicPartition, directory: String, config: LogConfig, clean: Bool,
                      recoveryPoint: Int64?, logStartOffset: Int64?, creating: Bool = false) throws(LogError) -> (PartitionLog, PartitionRecovery) {
        var report = PartitionRecovery(topicPartition: topicPartition)
        try _Sys.mkdir(directory)
        let names = try _Sys.listDirectory(directory)
        for n in names where n.hasSuffix(".cleaned") || n.hasSuffix(".tmp") || n.hasSuffix(".deleted") || n.hasSuffix(".swap") {
            try _Sys.unlink(directory + "/" + n)
            report.messages.append("removed leftover \(n)")
        }
        let bases = names.compactMap(_baseOffset(ofLogFile:)).sorted()
        for n in names where n.hasSuffix(".index") || n.hasSuffix(".timeindex") {
            if let b = Int64(n.prefix(while: { $0 != "." })), !bases.contains(b) {
                try _Sys.unlink(directory + "/" + n)
                report.messages.append("removed \(n), which had no .log")
            }
        }
        if bases.isEmpty {
            let base = max(logStartOffset ?? 0, 0)
            let s: _Segment
            do throws(LogError) {
                s = try _Segment.create(directory: directory, baseOffset: base, config: config)
            } catch where error.code == .noSpace && !creating {
                // A full disk: an empty, read-only segment keeps the partition readable; the
                // first append rolls, which fails with noSpace until space is freed.
                _Segment.createEmptyFiles(directory: directory, baseOffset: base)
                s = try _Segment.open(directory: directory, baseOffset: base, active: false, config: config)
                report.messages.append("\(_Segment.fileName(base, ".log")): created empty and read-only, the disk is full (\(error.message))")
            }
            let log = PartitionLog(topicPartition: topicPartition, directory: directory, config: config, segments: [s],
                                   logStartOffset: s.baseOffset, recoveryPoint: s.baseOffset)
            return (log, report)
        }
        // The first segment to scan: the one holding the recovery point (all of them if unknown).
        var firstToRecover = bases.count
        if !clean {
            let rp = recoveryPoint ?? Int64.min
            firstToRecover = 0
            for (i, b) in bases.enumerated() where b <= rp { firstToRecover = i }
        }
        var cutClosed: Set<Int64> = []
        var i = 0
        while i < bases.count {
            let base = bases[i]
            let isLast = i == bases.count - 1
            let recovering = i >= firstToRecover
            let saneIndexes = recovering ? false : _Segment.indexesAreSane(directory: directory, baseOffset: base)
            // Even after a clean shutdown, the end of every segment is checked before it is
            // trusted (Kafka checks the active segment's): the batches after the last index entry
            // must be whole, CRCs included, and end exactly at the file's end.
            let tailProblem = recovering || !saneIndexes ? nil : _Segment.tailProblem(directory: directory, baseOffset: base)
            if recovering || !saneIndexes || tailProblem != nil {
                if !isLast, let lost = _Segment.lostEnd(directory: directory, baseOffset: base) {
                    cutClosed.insert(base)
                    report.messages.append("\(_Segment.fileName(base, ".log")): \(lost)")
                }
                let scan = try _Segment.scan(directory: directory, baseOffset: base,
                                             indexIntervalBytes: config.indexIntervalBytes, checkZeroTail: !isLast)
                if recovering { report.segmentsRecovered += 1 }
                if let tailProblem {
                    report.segmentsRecovered += 1
                    report.messages.append("\(_Segment.fileName(base, ".log")): \(tailProblem) although the shutdown was clean; recovered")
                } else if !recovering {
                    report.messages.append("\(_Segment.fileName(base, ".index")): missing or corrupt, rebuilt")
                }
                if let reason = scan.reason {
                    // The later segments are kept: their records are intact, and the offsets cut
                    // here become a hole that readers and `weir log verify` report.
                    report.bytesTruncated += scan.invalidBytes
                    if !isLast { cutClosed.insert(base) }
                    report.messages.append("\(_Segment.fileName(base, ".log")): truncated \(scan.invalidBytes) bytes at position \(scan.validBytes): \(reason)")
                }
                try _Segment.applyRecovery(scan, directory: directory)
                report.indexesRebuilt += 1
            }
            i += 1
        }
        var segments: [_Segment] = []
        for (i, base) in bases.enumerated() {
            let isLast = i == bases.count - 1
            if isLast {
                segments.append(try _openActive(directory: directory, baseOffset: base, config: config, &report))
            } else {
                segments.append(try _Segment.open(directory: directory, baseOffset: base, active: false, config: config))
            }
        }
        // The end of the log lost offsets that the recovery-point checkpoint says were flushed
        // (the active segment emptied or cut short): a hole. New appends start after it, in a
        // new segment, so that no lost offset is given out again and the gap stays on disk.
        var recorded = _DamageFile.read(directory, &report.messages)
        var tailHole: LogHole? = nil
        if let flushed = recoveryPoint, flushed > segments.last!.nextOffset {
            let last = segments.last!
            let hole = LogHole(offsets: last.nextOffset..<flushed,
                               reason: "the log ends at \(last.nextOffset) in \(_Segment.fileName(last.baseOffset, ".log")), but the recovery-point checkpoint says offsets up to \(flushed) were flushed")
            tailHole = hole
            // Recorded before the new segment hides the evidence (a compacted topic's gap).
            if (try? _DamageFile.write(directory, _DamageFile.merge([hole], recorded))) != nil {
                recorded = _DamageFile.merge([hole], recorded)
            }
            try last.seal()
            do throws(LogError) {
                segments.append(try _Segment.create(directory: directory, baseOffset: flushed, config: config))
            } catch where error.code == .noSpace {
                // As for a new partition on a full disk: empty, read-only; the first append rolls.
                _Segment.createEmptyFiles(directory: directory, baseOffset: flushed)
                segments.append(try _Segment.open(directory: directory, baseOffset: flushed, active: false, config: config))
            }
        }
        // A closed segment that is full cannot take appends; `append` rolls past it.
        let leo = segments.last!.nextOffset
        let start = min(max(logStartOffset ?? bases[0], bases[0]), leo)
        let rp = clean ? leo : min(max(recoveryPoint ?? start, start), leo)
        if !report.segmentsDeleted.isEmpty || report.bytesTruncated > 0 { try _Sys.syncDirectory(directory) }
        let log = PartitionLog(topicPartition: topicPartition, directory: directory, config: config, segments: segments,
                               logStartOffset: start, recoveryPoint: rp)
        let holes = _findHoles(segments, config: config, clean: clean, checkpointedStart: logStartOffset,
                               tailHole: tailHole, cutClosed: cutClosed, recorded: recorded)
        log._holes.set(holes)
        if holes.map(\.offsets) != recorded.map(\.offsets) {
            // On a full disk the directory still opens: this open reports the holes anyway.
            do throws(LogError) { try log._writeDamageFile() } catch {
                report.messages.append("could not record the damage in \(_DamageFile.fileName): \(error.message)")
            }
        }
        for h in holes { report.messages.append("damage: \(h)") }
        report.holes = holes
        return (log, report)
    }

    /// Opens the last segment for appends, which preallocates it again. On a full disk it is
    /// opened read-only instead, with its files put back to their sizes: the partition stays
    /// readable, and the first append rolls, which fails with `noSpace` until space is freed.
    static func _openActive(directory: String, baseOffset: Int64, config: LogConfig,
                            _ report: inout PartitionRecovery) throws(LogError) -> _Segment {
        let p = _Segment.paths(directory, baseOffset)
        let sizes = [p.log, p.index, p.timeIndex].map { ($0, _Sys.fileSize(path: $0)) }
        do throws(LogError) {
            return try _Segment.open(directory: directory, baseOffset: baseOffset, active: true, config: config)
        } catch where error.code == .noSpace {
            for (path, size) in sizes {
                guard let size, (_Sys.fileSize(path: path) ?? size) != size else { continue }
                let fd = try _Sys.open(path, O_WRONLY)
                defer { _Sys.close(fd) }
                try _Sys.ftruncate(fd, size, path: path)
            }
            report.messages.append("\(_Segment.fileName(baseOffset, ".log")): opened read-only, the disk is full (\(error.message)); appends fail with noSpace until space is freed")
            return try _Segment.open(directory: directory, baseOffset: baseOffset, active: false, config: config)
        }
    }

    /// Flushes, trims the active segment and refuses further appends. Idempotent.
    func _close() throws(LogError) {
        let active = _writer._withLock { (w: inout _WriterState) -> _Segment? in
            if w.closed { return nil }
            w.closed = true
            return w.active
        }
        guard let active else { return }
        try active.seal()
        try _durability.flushNow(self)
        try active.offsetIndex.file.sync()
        try active.timeIndex.file.sync()
        try active.log.fdatasync()
        try active.offsetIndex.file.file.fdatasync()
        try active.timeIndex.file.file.fdatasync()
        _waiters.close()
    }
}
