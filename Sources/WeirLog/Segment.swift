#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import WeirFormat

/// One segment of a partition: `<base>.log` plus its `.index` and `.timeindex`, all mapped.
///
/// The active segment is preallocated to `segment.bytes` and mapped writable; an append is one
/// `memcpy` into the mapping followed by a release store of the new end. Readers load the end
/// (acquire) and never take the writer's lock. Closed segments are trimmed to their real size and
/// mapped read-only. The mappings live as long as the object, so a deleted segment stays readable
/// for every `RecordBatchView` that still holds it.
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
    /// Bytes known to be on disk (msync'd).
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
    /// Bytes the background pre-toucher has populated.
    let _pretouched: Atomic<Int>

    // Writer-only state, touched under the partition's writer lock.
    var _bytesSinceIndexEntry = 0
    var _offsetOfMaxTimestamp: Int64
    var _pretouchRequested = 0
    /// How far ahead the pre-toucher works: grows while the writer is fast, shrinks when it is
    /// slow, so that an idle partition holds little populated memory.
    var _pretouchWindow = _Segment.minPretouchWindow
    var _lastPretouchNanos: UInt64 = 0

    var end: Int { _end.load(ordering: .acquiring) }
    var nextOffset: Int64 { _nextOffset.load(ordering: .acquiring) }
    var maxTimestamp: Int64 { _maxTimestamp.load(ordering: .acquiring) }
    var isActive: Bool { _active.load(ordering: .acquiring) }
    var isEmpty: Bool { end == 0 }

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    static func paths(_ directory: String, _ baseOffset: Int64) -> (log: String, index: String, timeIndex: String) {
        (directory + "/" + fileName(baseOffset, ".log"),
         directory + "/" + fileName(baseOffset, ".index"),
         directory + "/" + fileName(baseOffset, ".timeindex"))
    }

    private init(baseOffset: Int64, directory: String, log: _MappedFile, offsetIndex: _IndexFile, timeIndex: _IndexFile,
                 active: Bool, end: Int, nextOffset: Int64, maxTimestamp: Int64, offsetOfMaxTimestamp: Int64) {
        self.baseOffset = baseOffset
        self.directory = directory
        self.log = log
        self.offsetIndex = _OffsetIndex(file: offsetIndex, baseOffset: baseOffset)
        self.timeIndex = _TimeIndex(file: timeIndex, baseOffset: baseOffset)
        self.capacity = active ? log.mappedLength : end
        self.createdAtMillis = _Sys.currentTimeMillis()
        self._end = Atomic(end)
        self._nextOffset = Atomic(nextOffset)
        self._maxTimestamp = Atomic(maxTimestamp)
        self._flushedEnd = Atomic(end)
        self._active = Atomic(active)
        self._deleted = Atomic(false)
        self._pretouched = Atomic(end)
        self._offsetOfMaxTimestamp = offsetOfMaxTimestamp
        self._pretouchRequested = end
    }

    /// Creates a new, empty active segment: the `.log` is preallocated to `segment.bytes` and the
    /// indexes to `segment.index.bytes` before they are mapped.
    static func create(directory: String, baseOffset: Int64, config: LogConfig) throws(LogError) -> _Segment {
        let p = paths(directory, baseOffset)
        for path in [p.log, p.index, p.timeIndex] { try _Sys.unlink(path) }
        let log: _MappedFile, oi: _IndexFile, ti: _IndexFile
        do throws(LogError) {
            log = try _MappedFile(path: p.log, create: true, writable: true, preallocate: config.segmentBytes)
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
        s._setReadahead(false)
        s._pretouch(upTo: 0)
        return s
    }

    /// Opens an existing segment whose `.log` holds exactly its valid batches and whose indexes
    /// are correct (recovery has run if it had to). `active` reopens it for appends.
    static func open(directory: String, baseOffset: Int64, active: Bool, config: LogConfig) throws(LogError) -> _Segment {
        let p = paths(directory, baseOffset)
        let log = try _MappedFile(path: p.log, create: false, writable: active, preallocate: active ? config.segmentBytes : 0)
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
        if let base = log.base {
            while position < end {
                let h = _BatchScan.header(UnsafeRawPointer(base) + position)
                if h.maxTimestamp > maxTs { maxTs = h.maxTimestamp; offsetOfMaxTs = h.lastOffset }
                next = h.nextOffset
                position += h.totalSize
            }
        }
        let s = _Segment(baseOffset: baseOffset, directory: directory, log: log, offsetIndex: oi, timeIndex: ti,
                         active: active, end: end, nextOffset: next, maxTimestamp: maxTs, offsetOfMaxTimestamp: offsetOfMaxTs)
        // A closed segment on disk has its real size (recovery truncated any zeroed tail).
        if active {
            s._setReadahead(false)
            s._pretouch(upTo: end)
        } else {
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

    /// Copies `bytes` (one or more batches) to the end with one `memcpy`, rewrites each batch's
    /// base offset in place starting at `firstOffset`, adds sparse index entries and publishes
    /// the new end. Returns the last offset written.
    func append(_ bytes: UnsafeRawBufferPointer, firstOffset: Int64, indexIntervalBytes: Int) -> Int64 {
        let position = _end.load(ordering: .relaxed)
        let newEnd = position + bytes.count
        if newEnd > _pretouchRequested - _pretouchWindow / 2 { _pretouch(upTo: newEnd) }
        let dst = log.base! + position
        dst.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        var next = firstOffset
        var maxTs = _maxTimestamp.load(ordering: .relaxed)
        var p = position
        while p < newEnd {
            let b = log.base! + p
            RecordBatch.unsafeSetBaseOffset(next, at: b)
            let h = _BatchScan.header(UnsafeRawPointer(b))
            if h.maxTimestamp > maxTs { maxTs = h.maxTimestamp; _offsetOfMaxTimestamp = h.lastOffset }
            if _bytesSinceIndexEntry > indexIntervalBytes {
                offsetIndex.append(offset: h.lastOffset, position: p)
                timeIndex.maybeAppend(timestamp: maxTs, offset: _offsetOfMaxTimestamp)
                _indexesDirty.store(true, ordering: .releasing)
                _bytesSinceIndexEntry = 0
            }
            _bytesSinceIndexEntry += h.totalSize
            next = h.nextOffset
            p += h.totalSize
        }
        _maxTimestamp.store(maxTs, ordering: .relaxed)
        _nextOffset.store(next, ordering: .releasing)
        _end.store(newEnd, ordering: .releasing)
        return next - 1
    }

    // MARK: - Pre-touching

    /// How far ahead of the writer pages are populated.
    static let maxPretouchWindow = 32 << 20
    static let minPretouchWindow = 2 << 20
    /// Turns the kernel's readahead off (`MADV_RANDOM`) while the segment is active, and on
    /// again when it is sealed. A fault in the active segment's unwritten tail would otherwise
    /// read ahead — zero — `read_ahead_kb` of pages in one go (8 MiB, about 13 ms, on this
    /// kind of VM), without a preemption point: the pre-toucher's populate steps and a writer
    /// that outran it both stalled other threads that long. Its pages are in the page cache
    /// anyway, having just been written; closed segments read sequentially get it back.
    func _setReadahead(_ on: Bool) {
        guard let base = log.base else { return }
        _ = _Sys.madvise(base, offset: 0, length: capacity, on ? MADV_NORMAL : MADV_RANDOM)
    }

    /// Asks the background pre-toucher to populate (`madvise(MADV_POPULATE_WRITE)`) the pages
    /// from the last request up to `position + window` (2–32 MiB, adapted to the append rate), so
    /// that the writer's `memcpy` finds them mapped. First-touch page faults on a shared file
    /// mapping, not the copy, bound append bandwidth.
    func _pretouch(upTo position: Int) {
        let now = _Sys.monotonicNanos()
        // A writer that used up half a window within 200 ms gets a bigger one.
        _pretouchWindow = now &- _lastPretouchNanos < 200_000_000
            ? min(_pretouchWindow * 2, _Segment.maxPretouchWindow)
            : max(_pretouchWindow / 2, _Segment.minPretouchWindow)
        _lastPretouchNanos = now
        let from = max(_pretouchRequested, position)
        let to = min(capacity, max(position, _pretouchRequested) + _pretouchWindow)
        guard to > from, log.base != nil else { return }
        _pretouchRequested = to
        _Pretoucher.shared.submit(self, from: from, to: to)
    }

    // MARK: - Closing, flushing, deleting

    /// Turns the active segment into a closed one: a last time-index entry (as Kafka writes on
    /// roll), then, unless `trim` is false, the files trimmed to their real size
    /// (`trimFiles()`). The mappings stay as they are.
    ///
    /// A roll passes `trim: false` and leaves the trim to the background flush (`_flushAll`):
    /// on a file system mounted with `discard`, truncating away the preallocated tail waits for
    /// the device to discard it, which held the appending thread for about 30 ms here.
    func seal(trim: Bool = true) throws(LogError) {
        guard _active.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _setReadahead(true)
        let maxTs = maxTimestamp
        if maxTs >= 0 { timeIndex.maybeAppend(timestamp: maxTs, offset: _offsetOfMaxTimestamp) }
        _indexesDirty.store(true, ordering: .releasing)
        _sealed.store(true, ordering: .releasing)
        if trim { try trimFiles() }
    }

    /// Truncates a sealed segment's files to their real size (the log to its end, the indexes to
    /// their entries), once, after unmapping its pages from the process. Until then a crash
    /// leaves a zeroed tail that recovery recognises. Concurrent callers trim once: the second
    /// waits for the first and finds nothing left to do.
    func trimFiles() throws(LogError) {
        try _trimLock._withLock { (_: inout Void) throws(LogError) in try _trimFilesLocked() }
    }

    private func _trimFilesLocked() throws(LogError) {
        guard needsTrim else { return }
        // Unmapped from this process first (the page cache keeps every page, dirty ones too;
        // a reader faults them back), so that the flush that follows finds no mapping to
        // write-protect. Otherwise cleaning each of a rolled segment's 32 768 pages (128 MiB)
        // write-protects it in the writer's mapping, and every batch of those is a TLB
        // shoot-down that interrupts each core the process runs on: about 200 ms of the
        // flushing thread's CPU a second, for over a second, with producers and consumers
        // stalled 10–40 ms at a time. One unmap costs one shoot-down.
        if let base = log.base { _ = _Sys.madvise(base, offset: 0, length: capacity, MADV_DONTNEED) }
        try log.truncate(to: end)
        try offsetIndex.file.trim()
        try timeIndex.file.trim()
        _trimmed.store(true, ordering: .releasing)
    }

    /// Whether `trimFiles()` still has work: a segment whose `seal()` has finished, not trimmed
    /// yet, not deleted.
    var needsTrim: Bool { _sealed.load(ordering: .acquiring) && !_trimmed.load(ordering: .acquiring) && !_deleted.load(ordering: .acquiring) }

    /// Writes the log up to `upTo` bytes to disk and, when asked, the indexes.
    ///
    /// The group commit of an active segment skips the indexes: recovery rebuilds the indexes of
    /// every segment from the recovery point on, and an index entry only ever points at data
    /// written before it, so the indexes of a segment wholly below the recovery point are synced
    /// when it closes (roll, close) and are correct from then on.
    func flush(upTo: Int, syncIndexes: Bool) throws(LogError) {
        let from = _flushedEnd.load(ordering: .acquiring)
        if upTo > from {
            try log.sync(offset: from, length: upTo - from)
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

#if canImport(Glibc)
let _madvPopulateWrite: Int32 = 23  // MADV_POPULATE_WRITE, Linux 5.14+
#endif

/// The process's pre-touch thread: it populates the pages of active segments ahead of their
/// writers (`_Segment._pretouch`).
///
/// It works in 64 KiB steps, one `madvise` each, with the segment's readahead off
/// (`_setReadahead`): the kernel zeroes every page it populates (about 3–4 ms per MiB on this
/// kind of VM) without a preemption point inside the call, so a step must be short for a
/// writer, or a reader woken for new data, to get the core back quickly. With 4 MiB steps and
/// an 8 MiB readahead, one step kept a consumer thread off its core for 14 ms; back-to-back
/// 64 KiB steps still did for 1–4.5 ms, hence the pauses (`pacedAhead`).
///
/// It stays in the normal scheduling class. In the idle class (`SCHED_IDLE`) a woken reader
/// preempted it at once, but it was then preempted while holding a page it was populating, or
/// the process's mmap lock, and the writer faulting on that page, or growing its heap, waited
/// 10–15 ms for it to be scheduled again.
final class _Pretoucher: Sendable {
    static let shared = _Pretoucher()
    static let step = 64 << 10

    /// A segment's range to populate. The segment is held weakly: a segment that retention
    /// deleted meanwhile is unmapped (its disk space freed) without waiting for this thread.
    struct _Job: Sendable {
        weak var segment: _Segment?
        let from: Int
        let to: Int
    }

    let jobs = Mutex<[_Job]>([])
    let pending = DispatchSemaphore(value: 0)

    private init() {
        _startDetachedThread { [self] in _Pretoucher._run(self) }
    }

    func submit(_ segment: _Segment, from: Int, to: Int) {
        jobs._withLock { $0.append(_Job(segment: segment, from: from, to: to)) }
        pending.signal()
    }

    static func _run(_ p: _Pretoucher) {
        while true {
            p.pending.wait()
            while let job = p.jobs._withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                var position = job.from
                while position < job.to {
                    guard let segment = job.segment, segment.isActive, !segment._deleted.load(ordering: .relaxed),
                          let base = segment.log.base else { break }
                    let n = min(step, job.to - position)
                    _ = _Sys.madvise(base, offset: position, length: n, _madvPopulateWrite)
                    position += n
                    segment._pretouched.store(position, ordering: .releasing)
                    // Paced while well ahead of the writer: a short sleep after each step gives
                    // the core back, so that a reader woken for new data (or any other thread)
                    // waits at most one step for it, not a whole window of steps. Close behind
                    // the writer it runs flat out.
                    if position - segment.end > pacedAhead {
                        var pause = timespec(tv_sec: 0, tv_nsec: pauseNanos)
                        nanosleep(&pause, nil)
                    }
                }
            }
        }
    }

    /// Further ahead of the writer than this, the thread pauses `pauseNanos` after each step.
    static let pacedAhead = 1 << 20
    static let pauseNanos = 100_000
}
