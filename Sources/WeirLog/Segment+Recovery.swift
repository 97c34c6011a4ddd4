#if canImport(Glibc)
import Glibc
#endif

/// What scanning one segment's `.log` found.
struct _SegmentScan {
    var baseOffset: Int64
    var fileBytes = 0
    var validBytes = 0
    /// Bytes from the first invalid byte to the last non-zero byte: the damage (a zeroed,
    /// preallocated tail is not counted).
    var invalidBytes = 0
    var reason: String?
    var nextOffset: Int64
    var maxTimestamp: Int64 = -1
    var offsetOfMaxTimestamp: Int64
    var batches = 0
    var offsetEntries: [UInt8] = []
    var timeEntries: [UInt8] = []
    var lastTimeEntry: Int64 = .min

    init(baseOffset: Int64) {
        self.baseOffset = baseOffset
        self.nextOffset = baseOffset
        self.offsetOfMaxTimestamp = baseOffset
    }
}

extension _Segment {
    /// Scans the `.log` of the segment at `baseOffset` from its start: sizes, magic, offsets
    /// (at or above the base, increasing) and CRC-32C of every batch, up to the first invalid
    /// byte; recomputes the sparse index entries on the way (the rule `append` uses).
    ///
    /// `checkZeroTail` also reads a zero-prefixed tail to tell a preallocated (all-zero) tail
    /// from damage; the last segment skips it (a zeroed tail is what a crash leaves there).
    static func scan(directory: String, baseOffset: Int64, indexIntervalBytes: Int, checkZeroTail: Bool) throws(LogError) -> _SegmentScan {
        let path = paths(directory, baseOffset).log
        let file = try _MappedFile(path: path, create: false, writable: false)
        var r = _SegmentScan(baseOffset: baseOffset)
        r.fileBytes = file.mappedLength
        guard let base = file.base else { return r }
        _Sys.madvise(base, offset: 0, length: file.mappedLength, MADV_SEQUENTIAL)
        let p0 = UnsafeRawPointer(base)
        var position = 0
        var bytesSinceIndexEntry = 0
        var lastBatch: (position: Int, lastOffset: Int64)?
        var lastIndexed = -1
        var expected = baseOffset
        scanning: while true {
            let outcome = _BatchScan.check(p0 + position, available: r.fileBytes - position, verifyCRC: true)
            switch outcome {
            case .end, .invalid:
                r.reason = _BatchScan.stopReason(outcome, p0 + position, available: r.fileBytes - position, at: position, checkZeroTail: checkZeroTail)
                break scanning
            case .valid(let b):
                if b.baseOffset < expected {
                    r.reason = "batch base offset \(b.baseOffset) at position \(position) is below the expected \(expected)"
                    break scanning
                }
                if b.lastOffset - baseOffset > Int64(Int32.max) {
                    r.reason = "offset \(b.lastOffset) at position \(position) does not fit the segment's relative offsets"
                    break scanning
                }
                if b.maxTimestamp > r.maxTimestamp { r.maxTimestamp = b.maxTimestamp; r.offsetOfMaxTimestamp = b.lastOffset }
                if bytesSinceIndexEntry > indexIntervalBytes {
                    r._appendEntries(offset: b.lastOffset, position: position)
                    lastIndexed = position
                    bytesSinceIndexEntry = 0
                }
                lastBatch = (position, b.lastOffset)
                bytesSinceIndexEntry += b.totalSize
                expected = b.lastOffset + 1
                r.nextOffset = expected
                r.batches += 1
                position += b.totalSize
            }
        }
        r.validBytes = position
        // The last batch is always indexed, as `seal()` does.
        if let lastBatch, lastBatch.position != lastIndexed {
            r._appendOffsetEntry(offset: lastBatch.lastOffset, position: lastBatch.position)
        }
        if r.reason != nil {
            // Count the damaged bytes, not the zeroed preallocated tail behind them.
            var last = r.fileBytes
            while last - 8 >= position && p0.loadUnaligned(fromByteOffset: last - 8, as: UInt64.self) == 0 { last -= 8 }
            while last > position && p0.load(fromByteOffset: last - 1, as: UInt8.self) == 0 { last -= 1 }
            r.invalidBytes = max(last - position, 1)
        }
        return r
    }

    /// Why the end of a segment that a clean shutdown left cannot be trusted, or nil when it
    /// checks out: from the last `.index` entry (whose batch must end at the entry's offset) to
    /// the end of the file, every batch must be whole with a matching CRC-32C and offsets at or
    /// above the entry's, and the last one must end exactly at the file's end. Reads at most
    /// about `index.interval.bytes` plus one batch. Call after `indexesAreSane`.
    static func tailProblem(directory: String, baseOffset: Int64) -> String? {
        let p = paths(directory, baseOffset)
        let file: _MappedFile, index: _IndexFile
        do {
            file = try _MappedFile(path: p.log, create: false, writable: false)
            index = try _IndexFile(path: p.index, entrySize: _OffsetIndex.entrySize, maxBytes: 0)
        } catch {
            return "cannot be read (\(error.message))"
        }
        let size = file.mappedLength
        guard let base = file.base.map({ UnsafeRawPointer($0) }) else { return nil }
        let offsets = _OffsetIndex(file: index, baseOffset: baseOffset)
        var position = 0
        var expected = baseOffset
        var indexed: Int64?
        if index.count > 0 {
            position = offsets.position(index.count - 1)
            indexed = offsets.lastOffset
        }
        while position < size {
            let outcome = _BatchScan.check(base + position, available: size - position, verifyCRC: true)
            switch outcome {
            case .end:
                return "zero bytes at position \(position) of \(size)"
            case .invalid:
                return _BatchScan.stopReason(outcome, base + position, available: size - position, at: position, checkZeroTail: false)
            case .valid(let h):
                if let entry = indexed {
                    if h.lastOffset != entry { return "the last .index entry (offset \(entry)) points at a batch ending at \(h.lastOffset)" }
                    indexed = nil
                } else if h.baseOffset < expected {
                    return "batch base offset \(h.baseOffset) at position \(position) is below the expected \(expected)"
                }
                expected = h.nextOffset
                position += h.totalSize
            }
        }
        if file.isDamaged { return "the file shrank while it was checked" }
        return nil
    }

    /// Creates a segment's three files empty (no space needed), best effort: what a partition
    /// keeps on disk when a full disk stopped the creation of its only segment.
    static func createEmptyFiles(directory: String, baseOffset: Int64) {
        let p = paths(directory, baseOffset)
        for path in [p.log, p.index, p.timeIndex] {
            if let fd = try? _Sys.open(path, O_WRONLY | O_CREAT) { _Sys.close(fd) }
        }
    }

    static func _isZero(_ p: UnsafeRawPointer, _ count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < count {
            if p.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
            i += 1
        }
        return true
    }

    /// Why a closed segment's `.log` has lost its end, read from its `.index` before recovery
    /// rebuilds it, or nil. Evidence is an entry past the end of the `.log` in an index that is
    /// otherwise well formed (offsets and positions strictly increasing): every writer, Kafka
    /// included, indexes only batches it wrote, so such an entry means bytes were cut from the
    /// file. Weir indexes every closed segment's last batch (`seal()`, `scan`), so a cut exactly at
    /// a batch boundary is seen too; in a compacted topic, whose closed segments may end before
    /// the next one's base, this is the only sign of it. An index of garbage is no evidence.
    static func lostEnd(directory: String, baseOffset: Int64) -> String? {
        let p = paths(directory, baseOffset)
        guard let logSize = _Sys.fileSize(path: p.log), let indexSize = _Sys.fileSize(path: p.index),
              indexSize > 0, indexSize % _OffsetIndex.entrySize == 0,
              let file = try? _IndexFile(path: p.index, entrySize: _OffsetIndex.entrySize, maxBytes: 0)
        else { return nil }
        guard case .pastEnd(let r, let position)? = _OffsetIndex(file: file, baseOffset: baseOffset).firstProblem(logSize: logSize)
        else { return nil }
        return "its .index has an entry for offset \(baseOffset + r) at position \(position), past the end of the .log (\(logSize) bytes): the end of the segment was cut"
    }

    /// Makes the files match a scan: truncates the `.log` at the first invalid byte (and drops a
    /// preallocated tail), and rewrites `.index` and `.timeindex` from the scan's entries, with the
    /// final time-index entry Kafka writes when a segment closes.
    static func applyRecovery(_ scan: _SegmentScan, directory: String) throws(LogError) {
        let p = paths(directory, scan.baseOffset)
        if scan.validBytes < scan.fileBytes {
            let fd = try _Sys.open(p.log, O_WRONLY)
            defer { _Sys.close(fd) }
            try _Sys.ftruncate(fd, scan.validBytes, path: p.log)
        }
        var s = scan
        if s.maxTimestamp >= 0 && s.maxTimestamp > s.lastTimeEntry {
            s.timeEntries._appendBE(s.maxTimestamp)
            s.timeEntries._appendBE(Int32(truncatingIfNeeded: s.offsetOfMaxTimestamp - s.baseOffset))
        }
        try _writeWhole(p.index, s.offsetEntries)
        try _writeWhole(p.timeIndex, s.timeEntries)
    }

    static func _writeWhole(_ path: String, _ bytes: [UInt8]) throws(LogError) {
        let fd = try _Sys.open(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { _Sys.close(fd) }
        if !bytes.isEmpty {
            try bytes._withBytes { (b) throws(LogError) in try _Sys.pwrite(fd, b, at: 0, path: path) }
        }
    }
}

extension _SegmentScan {
    mutating func _appendEntries(offset: Int64, position: Int) {
        _appendOffsetEntry(offset: offset, position: position)
        if maxTimestamp > lastTimeEntry {
            timeEntries._appendBE(maxTimestamp)
            timeEntries._appendBE(Int32(truncatingIfNeeded: offsetOfMaxTimestamp - baseOffset))
            lastTimeEntry = maxTimestamp
        }
    }

    /// One `.index` entry: `offset` relative to the segment's base, and its batch's position.
    mutating func _appendOffsetEntry(offset: Int64, position: Int) {
        offsetEntries._appendBE(Int32(truncatingIfNeeded: offset - baseOffset))
        offsetEntries._appendBE(Int32(truncatingIfNeeded: position))
    }
}

extension Array where Element == UInt8 {
    mutating func _appendBE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
