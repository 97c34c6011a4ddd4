#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import WeirFormat

/// One segment of a partition: `<base>.log` plus its `.index` and `.timeindex`, all mapped.
///
/// The active segment's `.log` is mapped **read-only** over `segment.bytes` of address space
/// (its disk blocks preallocated only with `preallocate`). An append is one `pwritev` of the
/// batches into the page cache at the end of the file (each batch's base offset supplied from
/// a small vector of its own, so the caller's bytes are never modified), followed by a release
/// store of the new end. Readers load the end (acquire) and read whole batches below it through
/// the mapping, zero-copy, without the writer's lock; the page cache makes the written bytes
/// visible there. A read-only mapping needs no page zeroing before a copy and no
/// write-protect or TLB shoot-down when the kernel writes the pages back.
///
/// Closed segments are trimmed to their real size. The mappings live as long as the object, so
/// a deleted segment stays readable for every `RecordBatchView` that still holds it.
final class _Segment: @unchecked Sendable {
    let baseOffset: Int64
    let directory: String
    let log: _MappedFile
    let offsetIndex: _OffsetIndex
    let timeIndex: _TimeIndex
    /// Bytes this segment may hold (its mapped length when it became active).
    let capacity: Int
    /// When this segment object was created or opened (for `segment.ms`).
    let createdAtMillis: Int64

    /// Bytes of complete batches, published by the writer (release) after each append.
    private let _end: Atomic<Int>
    /// One past the last offset in this segment (the base offset when empty).
    private let _nextOffset: Atomic<Int64>
    /// The largest batch `maxTimestamp` in this segment, -1 when empty.
    private let _maxTimestamp: Atomic<Int64>
    /// Bytes known to be on disk (fdatasync'd).
    let _flushedEnd: Atomic<Int>
    let _active: Atomic<Bool>
    let _deleted: Atomic<Bool>
    /// Whether index entries were added since the indexes were last synced.
    let _indexesDirty = Atomic<Bool>(false)
    /// Whether the directory entry of this segment's files is known to be on disk.
    let _dirSynced = Atomic<Bool>(true)
    /// `seal()` has finished: no more appends and the last time-index entry is written, so the
    /// files may be trimmed. `_active` turns false first, while that last entry is still being
    /// written; trimming the time index then would leave the write past the file's end (SIGBUS).
    let _sealed = Atomic<Bool>(false)
    /// The files of a sealed segment have been trimmed (`trimFiles()`); segments opened closed
    /// are trimmed already.
    let _trimmed = Atomic<Bool>(false)
    /// Serialises `trimFiles()`: the background flush and `seal()` on close may both trim.
    let _trimLock = Mutex<Void>(())

    // Writer-only state, touched under the partition's writer lock.
    var _bytesSinceIndexEntry = 0
    /// The position and last offset of the segment's last batch, which `seal()` indexes.
    var _lastBatch: (position: Int, lastOffset: Int64)?
    var _offsetOfMaxTimestamp: Int64
    /// The end up to which write-back has been requested (`_Writeback`).
    var _writebackRequested = 0
    /// The append's scratch: the I/O vectors and the big-endian base offsets they point at.
    var _vectors: UnsafeMutablePointer<iovec>
    var _offsets: UnsafeMutablePointer<Int64>
    var _scratchBatches = 0

    var end: Int { _end.load(ordering: .acquiring) }
    var nextOffset: Int64 { _nextOffset.load(ordering: .acquiring) }
    var maxTimestamp: Int64 { _maxTimestamp.load(ordering: .acquiring) }
    var isActive: Bool { _active.load(ordering: .acquiring) }
    var isEmpty: Bool { end == 0 }

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        _paddedOffset(baseOffset, prefix: "") + suffix
    }

    static func paths(_ directory: String, _ baseOffset: Int64) -> (log: String, index: String, timeIndex: String) {
        // Every open, check and recovery of a segment builds these: one formatted stem, three appends.
        let stem = _paddedOffset(baseOffset, prefix: directory + "/")
        return (stem + ".log", stem + ".index", stem + ".timeindex")
    }

    /// `prefix` followed by `offset` zero-padded to 20 digits (Kafka's segment file names), built
    /// in one buffer; a negative offset (never a file's) keeps its sign after the padding.
    static func _paddedOffset(_ offset: Int64, prefix: String) -> String {
        guard offset >= 0 else {
            let digits = String(offset)
            return prefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        }
        var prefix = prefix
        return prefix.withUTF8 { head in
            String(unsafeUninitializedCapacity: head.count + 20) { out in
                _ = out.initialize(fromContentsOf: head)
                var v = UInt64(offset)
                for i in stride(from: head.count + 19, through: head.count, by: -1) {
                    out[i] = UInt8(ascii: "0") &+ UInt8(v % 10)
                    v /= 10
                }
                return head.count + 20
            }
        }
    }

    private init(baseOffset: Int64, directory: String, log: _MappedFile, offsetIndex: _IndexFile, timeIndex: _IndexFile,
                 active: Bool, end: Int, nextOffset: Int64, maxTimestamp: Int64, offsetOfMaxTimestamp: Int64) {
        self.baseOffset = baseOffset
        self.directory = directory
        self.log = log
        self.offsetIndex = _OffsetIndex(file: offsetIndex, baseOffset: baseOffset)
        self.timeIndex = _TimeIndex(file: timeIndex, baseOffset: baseOffset)
        self.capacity = active ? log.mappedLength : end
        self.createdAtMillis = _wallMillis()
        self._end = Atomic(end)
        self._nextOffset = Atomic(nextOffset)
        self._maxTimestamp = Atomic(maxTimestamp)
        self._flushedEnd = Atomic(end)
        self._active = Atomic(active)
        self._deleted = Atomic(false)
        self._offsetOfMaxTimestamp = offsetOfMaxTimestamp
        self._writebackRequested = end
        self._vectors = .allocate(capacity: 0)
        self._offsets = .allocate(capacity: 0)
    }

    deinit {
        _vectors.deallocate()
        _offsets.deallocate()
    }

    /// Opens an active segment's `.log`: for `pwrite`, mapped read-only over `segment.bytes` (or
    /// the file, when larger), with disk blocks allocated up front only with `preallocate`.
    static func _openActiveLog(_ path: String, create: Bool, config: LogConfig) throws(LogError) -> _MappedFile {
        try _MappedFile(path: path, create: create, openForWriting: true, mapWritable: false,
                        reserve: config.segmentBytes, allocate: config.preallocate ? config.segmentBytes : 0,
                        sparse: false, keepDescriptor: true)
    }

    /// Creates a new, empty active segment: an empty `.log` (preallocated to `segment.bytes` only
    /// with `preallocate`) and sparse indexes of `segment.index.bytes`.
    static func create(directory: String, baseOffset: Int64, config: LogConfig) throws(LogError) -> _Segment {
        let p = paths(directory, baseOffset)
        for path in [p.log, p.index, p.timeIndex] { try _Sys.unlink(path) }
        let log: _MappedFile, oi: _IndexFile, ti: _IndexFile
        do throws(LogError) {
            log = try _openActiveLog(p.log, create: true, config: config)
            oi = try _IndexFile(path: p.index, entrySize: _OffsetIndex.entrySize, maxBytes: config.segmentIndexBytes, entries: 0)
            ti = try _IndexFile(path: p.timeIndex, entrySize: _TimeIndex.entrySize, maxBytes: config.segmentIndexBytes, entries: 0)
        } catch {
            // No half-made segment (a full disk at a preallocation): its space is freed at once.
            for path in [p.log, p.index, p.timeIndex] { try? _Sys.unlink(path) }
            throw error
        }
        let s = _Segment(baseOffset: baseOffset, directory: directory, log: log, offsetIndex: oi, timeIndex: ti,
                         active: true, end: 0, nextOffset: baseOffset, maxTimestamp: -1, offsetOfMaxTimestamp: baseOffset)
        s._flushedEnd.store(0, ordering: .relaxed)
        s._dirSynced.store(false, ordering: .relaxed)
        return s
    }

    /// Opens an existing segment whose `.log` holds exactly its valid batches and whose indexes
    /// are correct (recovery has run if it had to). `active` reopens it for appends.
    static func open(directory: String, baseOffset: Int64, active: Bool, config: LogConfig) throws(LogError) -> _Segment {
        let p = paths(directory, baseOffset)
        let log = active ? try _openActiveLog(p.log, create: false, config: config)
                         : try _MappedFile(path: p.log, create: false, writable: false)
        let end = log.initialFileSize
        let oi = try _openIndex(p.index, _OffsetIndex.entrySize, active: active, config: config)
        let ti = try _openIndex(p.timeIndex, _TimeIndex.entrySize, active: active, config: config)
        let offsets = _OffsetIndex(file: oi, baseOffset: baseOffset)
        let times = _TimeIndex(file: ti, baseOffset: baseOffset)
        // Find the last batch: scan from the last indexed position to the end.
        var position = oi.count > 0 ? offsets.position(oi.count - 1) : 0
        var next = baseOffset
        var maxTs = times.lastEntry?.timestamp ?? -1
        var offsetOfMaxTs = times.lastEntry?.offset ?? baseOffset
        var lastBatch: (position: Int, lastOffset: Int64)?
        if let base = log.base {
            while position < end {
                let h = _BatchScan.header(UnsafeRawPointer(base) + position)
                if h.maxTimestamp > maxTs { maxTs = h.maxTimestamp; offsetOfMaxTs = h.lastOffset }
                next = h.nextOffset
                lastBatch = (position, h.lastOffset)
                position += h.totalSize
            }
        }
        let s = _Segment(baseOffset: baseOffset, directory: directory, log: log, offsetIndex: oi, timeIndex: ti,
                         active: active, end: end, nextOffset: next, maxTimestamp: maxTs, offsetOfMaxTimestamp: offsetOfMaxTs)
        // A closed segment on disk has its real size (recovery truncated any zeroed tail).
        s._lastBatch = lastBatch
        if !active {
            s._sealed.store(true, ordering: .relaxed)
            s._trimmed.store(true, ordering: .relaxed)
        }
        return s
    }

    private static func _openIndex(_ path: String, _ entrySize: Int, active: Bool, config: LogConfig) throws(LogError) -> _IndexFile {
        if active {
            let existing = (_Sys.fileSize(path: path) ?? 0) / entrySize
            return try _IndexFile(path: path, entrySize: entrySize,
                                  maxBytes: max(config.segmentIndexBytes, (existing + 1) * entrySize), entries: existing)
        }
        return try _IndexFile(path: path, entrySize: entrySize, maxBytes: 0)
    }

    // MARK: - Appending (writer only)

    /// Whether `bytes` more, ending at `lastOffset`, fit in this segment and its indexes.
    func canAppend(bytes: Int, lastOffset: Int64) -> Bool {
        end + bytes <= capacity
            && lastOffset - baseOffset <= Int64(Int32.max)
            && !offsetIndex.file.isFull && !timeIndex.file.isFull
    }

    /// Writes `bytes` (one or more batches) at the end with one `pwritev`, each batch's base
    /// offset supplied from a vector of its own starting at `firstOffset` (the CRC-32C does not
    /// cover it, and the caller's bytes stay untouched), then adds sparse index entries and
    /// publishes the new end. Returns the last offset written.
    ///
    /// Disk blocks for the index entries are allocated first, so a full disk fails the append
    /// before anything is published. A failed or short write publishes nothing: the next append
    /// writes over whatever part of it reached the file, and a roll or close trims the file to
    /// the published end.
    func append(_ bytes: UnsafeRawBufferPointer, firstOffset: Int64, indexIntervalBytes: Int) throws(LogError) -> Int64 {
        let position = _end.load(ordering: .relaxed)
        let newEnd = position + bytes.count
        let src = bytes.baseAddress!
        var batches = 0
        var p = 0
        while p < bytes.count {
            p += _BatchScan.header(src + p).totalSize
            batches += 1
        }
        try offsetIndex.file.reserve(entries: batches)
        // One more time-index entry for the one `seal()` adds.
        try timeIndex.file.reserve(entries: batches + 1)
        _ensureScratch(batches)

        // The vectors: [base offset][the rest of the batch] per batch (the base offset is the
        // batch's first 8 bytes); a batch that already carries its offset joins the previous
        // vector when the two are contiguous.
        var count = 0
        var next = firstOffset
        p = 0
        for i in 0..<batches {
            let h = _BatchScan.header(src + p)
            let start = UnsafeMutableRawPointer(mutating: src + p)
            if h.baseOffset == next {
                if count > 0, let last = _vectors[count - 1].iov_base, last + _vectors[count - 1].iov_len == start {
                    _vectors[count - 1].iov_len += h.totalSize
                } else {
                    _vectors[count] = iovec(iov_base: start, iov_len: h.totalSize)
                    count += 1
                }
            } else {
                _offsets[i] = next.bigEndian
                _vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(_offsets + i), iov_len: 8)
                _vectors[count + 1] = iovec(iov_base: start + 8, iov_len: h.totalSize - 8)
                count += 2
            }
            next += h.lastOffset - h.baseOffset + 1
            p += h.totalSize
        }
        if count == 1 {
            try log.write(UnsafeRawBufferPointer(start: _vectors[0].iov_base, count: _vectors[0].iov_len), at: position)
        } else {
            try _Sys.pwritev(log.fd, UnsafeMutableBufferPointer(start: _vectors, count: count), at: position, path: log.path)
        }

        // Index entries and the max timestamp, from the caller's headers with the new offsets.
        next = firstOffset
        var maxTs = _maxTimestamp.load(ordering: .relaxed)
        p = 0
        while p < bytes.count {
            let h = _BatchScan.header(src + p)
            let last = next + h.lastOffset - h.baseOffset
            if h.maxTimestamp > maxTs { maxTs = h.maxTimestamp; _offsetOfMaxTimestamp = last }
            if _bytesSinceIndexEntry > indexIntervalBytes {
                offsetIndex.append(offset: last, position: position + p)
                timeIndex.maybeAppend(timestamp: maxTs, offset: _offsetOfMaxTimestamp)
                _indexesDirty.store(true, ordering: .releasing)
                _bytesSinceIndexEntry = 0
            }
            _bytesSinceIndexEntry += h.totalSize
            _lastBatch = (position + p, last)
            next = last + 1
            p += h.totalSize
        }
        _maxTimestamp.store(maxTs, ordering: .relaxed)
        _nextOffset.store(next, ordering: .releasing)
        _end.store(newEnd, ordering: .releasing)
        if newEnd - _writebackRequested >= _Writeback.step(capacity: capacity) {
            _Writeback.shared.submit(log, from: _writebackRequested, to: newEnd)
            _writebackRequested = newEnd
        }
        return next - 1
    }

    /// Grows the append's scratch to `batches` batches (writer only).
    func _ensureScratch(_ batches: Int) {
        guard batches > _scratchBatches else { return }
        let n = max(batches, 2 * _scratchBatches, 16)
        _vectors.deallocate()
        _offsets.deallocate()
        _vectors = .allocate(capacity: 2 * n)
        _offsets = .allocate(capacity: n)
        _scratchBatches = n
    }

    // MARK: - Closing, flushing, deleting

    /// Turns the active segment into a closed one: a last time-index entry (as Kafka writes on
    /// roll), then, unless `trim` is false, the files trimmed to their real size
    /// (`trimFiles()`). The mappings stay as they are.
    ///
    /// A roll passes `trim: false` and leaves the trim to the background flush (`_flushAll`):
    /// on a file system mounted with `discard`, truncating away a preallocated tail waits for
    /// the device to discard it, which held the appending thread for about 30 ms here.
    func seal(trim: Bool = true) throws(LogError) {
        guard _active.exchange(false, ordering: .acquiringAndReleasing) else { return }
        let maxTs = maxTimestamp
        // The entry is optional: without disk space for it (a full disk) the index ends earlier.
        if maxTs >= 0, (try? timeIndex.file.reserve(entries: 1)) != nil {
            timeIndex.maybeAppend(timestamp: maxTs, offset: _offsetOfMaxTimestamp)
        }
        // An offset-index entry for the last batch (optional as well): a later cut of the closed
        // segment's end, even exactly at a batch boundary, leaves it pointing past the end of the
        // `.log`, which the next open reports as lost offsets (`_Segment.lostEnd`).
        if let last = _lastBatch, last.lastOffset > (offsetIndex.lastOffset ?? .min), !offsetIndex.file.isFull,
           (try? offsetIndex.file.reserve(entries: 1)) != nil {
            offsetIndex.append(offset: last.lastOffset, position: last.position)
        }
        _indexesDirty.store(true, ordering: .releasing)
        _sealed.store(true, ordering: .releasing)
        if trim { try trimFiles() }
    }

    /// Truncates a sealed segment's files to their real size (the log to its end, the indexes to
    /// their entries), once. Until then a crash leaves a zeroed (preallocated) tail, or the torn
    /// rest of a failed write, that recovery recognises. Concurrent callers trim once: the
    /// second waits for the first and finds nothing left to do.
    func trimFiles() throws(LogError) {
        try _trimLock._withLock { (_: inout Void) throws(LogError) in try _trimFilesLocked() }
    }

    private func _trimFilesLocked() throws(LogError) {
        guard needsTrim else { return }
        // The log's mapping is read-only: unlike a writable one, it needs no unmapping before
        // the flush that follows (no page of it is write-protected at write-back).
        if try log.fileSize() != end { try log.truncate(to: end) }
        try offsetIndex.file.trim()
        try timeIndex.file.trim()
        _trimmed.store(true, ordering: .releasing)
    }

    /// Whether `trimFiles()` still has work: a segment whose `seal()` has finished, not trimmed
    /// yet, not deleted.
    var needsTrim: Bool { _sealed.load(ordering: .acquiring) && !_trimmed.load(ordering: .acquiring) && !_deleted.load(ordering: .acquiring) }

    /// Writes the log up to `upTo` bytes to disk (`fdatasync`) and, when asked, the indexes.
    ///
    /// The group commit of an active segment skips the indexes: recovery rebuilds the indexes of
    /// every segment from the recovery point on, and an index entry only ever points at data
    /// written before it, so the indexes of a segment wholly below the recovery point are synced
    /// when it closes (roll, close) and are correct from then on.
    func flush(upTo: Int, syncIndexes: Bool) throws(LogError) {
        let from = _flushedEnd.load(ordering: .acquiring)
        if upTo > from {
            // Shared with the other partitions flushing now (one `syncfs` for many of them).
            try _GroupSync.shared.fdatasync(log)
            _flushedEnd.store(upTo, ordering: .releasing)
        }
        if syncIndexes && _indexesDirty.exchange(false, ordering: .acquiringAndReleasing) {
            try offsetIndex.file.sync()
            try timeIndex.file.sync()
        }
    }

    /// Unlinks the segment's files. The mappings stay valid until the last reference goes.
    func deleteFiles() throws(LogError) {
        _deleted.store(true, ordering: .releasing)
        _active.store(false, ordering: .releasing)
        let p = _Segment.paths(directory, baseOffset)
        try _Sys.unlink(p.log)
        try _Sys.unlink(p.index)
        try _Sys.unlink(p.timeIndex)
    }

    // MARK: - Reading

    /// The position of the first batch whose last offset is ≥ `offset`, starting from the offset
    /// index, or `end` when there is none.
    func position(of offset: Int64, end: Int) -> Int {
        guard let base = log.base else { return end }
        var p = offsetIndex.lookup(offset)
        if p < 0 || p >= end { p = 0 }  // a damaged index entry: scan from the start
        while p < end {
            let h = _BatchScan.header(UnsafeRawPointer(base) + p)
            // A damaged batch: the caller's own check of the header at `p` reports it.
            if h.lastOffset >= offset || !_BatchScan.isPlausible(h, at: p, end: end) { return p }
            p += h.totalSize
        }
        return end
    }
}
