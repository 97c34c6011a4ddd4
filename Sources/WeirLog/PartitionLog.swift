#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import WeirFormat

/// The log of one partition: its segments, offsets and durability state.
///
/// One writer at a time appends (`append` takes the writer's lock for the copy); any number of
/// readers call `read` concurrently without taking that lock. Offsets are assigned at append,
/// as a Kafka broker does: each batch's base offset is rewritten in place in the mapping.
public final class PartitionLog: Sendable {
    public let topicPartition: TopicPartition
    /// `<log-dir>/<topic>-<partition>`.
    public let directory: String

    struct _WriterState: ~Copyable {
        var active: _Segment
        var nextOffset: Int64
        var unflushedMessages: Int64 = 0
        var closed = false
        var config: LogConfig
    }

    let _writer: Mutex<_WriterState>
    /// Every live segment, oldest first. Readers copy the array under this short lock, never the
    /// writer's; lock order is writer, then segments.
    let _segments: Mutex<[_Segment]>
    let _highWatermark: Atomic<Int64>
    let _logStartOffset: Atomic<Int64>
    /// The first offset of the oldest open transaction, or -1 (issue 4 maintains it).
    let _firstUnstableOffset = Atomic<Int64>(-1)
    /// Idempotent and transactional producers' state (PartitionLog+ProducerState.swift).
    let _producers = _ProducerStateTable()
    /// Everything below this offset is on disk.
    let _recoveryPoint: Atomic<Int64>
    let _maxMessageBytes: Atomic<Int>
    let _waiters = _OffsetWaiters()
    let _durability: _Durability
    /// Serialises retention and compaction passes (never taken by the writer or readers).
    let _cleanerLock = Mutex<Void>(())
    /// Offsets lost on disk (PartitionLog+Damage.swift).
    let _holes = _HoleSet()

    init(topicPartition: TopicPartition, directory: String, config: LogConfig, segments: [_Segment],
         logStartOffset: Int64, recoveryPoint: Int64) {
        precondition(!segments.isEmpty)
        let active = segments.last!
        self.topicPartition = topicPartition
        self.directory = directory
        self._writer = Mutex(_WriterState(active: active, nextOffset: active.nextOffset, config: config))
        self._segments = Mutex(segments)
        self._highWatermark = Atomic(active.nextOffset)
        self._logStartOffset = Atomic(max(logStartOffset, segments.first!.baseOffset))
        self._recoveryPoint = Atomic(min(recoveryPoint, active.nextOffset))
        self._maxMessageBytes = Atomic(config.maxMessageBytes)
        self._durability = _Durability(label: "weir.log.flush.\(topicPartition)", durableOffset: min(recoveryPoint, active.nextOffset))
        _rebuildProducerState(segments)
    }

    // MARK: - Offsets

    /// The high-water mark: the offset after the last record readers can see. For the embedded
    /// single node it equals the log-end offset.
    public var highWatermark: Int64 { _highWatermark.load(ordering: .sequentiallyConsistent) }
    /// The log-end offset: the offset the next appended record gets.
    public var logEndOffset: Int64 { highWatermark }
    /// The first offset still in the log (retention and `deleteRecords` move it forward).
    public var logStartOffset: Int64 { _logStartOffset.load(ordering: .acquiring) }
    /// The last stable offset: the high-water mark, or the first offset of the oldest open
    /// transaction when there is one (`read_committed` readers stop here).
    public var lastStableOffset: Int64 {
        let hwm = highWatermark
        let fuo = _firstUnstableOffset.load(ordering: .acquiring)
        return fuo >= 0 ? min(fuo, hwm) : hwm
    }
    /// Everything below this offset has been written to disk.
    public var recoveryPoint: Int64 { _recoveryPoint.load(ordering: .acquiring) }

    /// Sets (or clears, with nil) the first offset of the oldest open transaction, which bounds
    /// the last stable offset. For the transaction coordinator.
    public func setFirstUnstableOffset(_ offset: Int64?) {
        _firstUnstableOffset.store(offset ?? -1, ordering: .releasing)
        _waiters.notify(highWatermark)
    }

    /// The topic configuration this log runs with.
    public var config: LogConfig { _writer._withLock { $0.config } }

    /// Replaces the configuration (takes effect for the next append, roll and retention pass).
    public func updateConfig(_ config: LogConfig) throws(LogError) {
        try config.validate()
        _writer._withLock { $0.config = config }
        _maxMessageBytes.store(config.maxMessageBytes, ordering: .relaxed)
    }

    /// Total bytes of the segments.
    public var sizeInBytes: Int64 { _segments._withLock { $0 }.reduce(0) { $0 + Int64($1.end) } }

    /// The segments, oldest first.
    public var segments: [SegmentInfo] {
        _segments._withLock { $0 }.map {
            SegmentInfo(baseOffset: $0.baseOffset, nextOffset: $0.nextOffset, sizeInBytes: $0.end,
                        maxTimestamp: $0.maxTimestamp, isActive: $0.isActive, logPath: $0.log.path,
                        offsetIndexEntries: $0.offsetIndex.file.count, timeIndexEntries: $0.timeIndex.file.count)
        }
    }

    // MARK: - Appending

    /// Appends one or more record batches (RecordBatch v2, back to back) and returns their
    /// offsets once they are in the page cache (`acks=1`).
    ///
    /// Each batch is checked (sizes, magic, `max.message.bytes` and, unless `verifyChecksums` is
    /// false, its CRC-32C), then all of them are written with one `pwritev` that gives each
    /// batch its base offset (the caller's bytes are not modified). Rolls the active segment first when the batches do not fit, when
    /// `segment.ms` has passed, or when an index is full.
    /// Producer state (idempotence, epochs, transactions) is checked under the writer's lock by
    /// the log itself (`PartitionLog+ProducerState`).
    @discardableResult
    public func append(_ records: UnsafeRawBufferPointer, verifyChecksums: Bool = true) throws(LogError) -> AppendResult {
        try _append(records, verifyChecksums: verifyChecksums).result
    }

    /// The append, also returning where the bytes went (for `acks=all` writeback); a nil segment
    /// for a duplicate the producer-state check acknowledged.
    func _append(_ records: UnsafeRawBufferPointer, verifyChecksums: Bool, wakeReaders: Bool = true) throws(LogError) -> (result: AppendResult, segment: _Segment?, position: Int) {
        let (span, recordCount, batchCount, hasProducerBatches) = try _validate(records, verifyChecksums: verifyChecksums)
        let now = _wallMillis()
        var duplicate: AppendResult?
        let (first, last, flushNow, segment, position) = try _writer._withLock { (w: inout _WriterState) throws(LogError) -> (Int64, Int64, Bool, _Segment?, Int) in
            if w.closed { throw LogError(.closed, "the log of \(topicPartition) is closed; reopen the log directory.") }
            if hasProducerBatches, let dup = try _checkProducerBatches(records, batchCount: batchCount) {
                duplicate = dup
                return (0, 0, false, nil, 0)
            }
            if records.count > w.config.segmentBytes {
                throw LogError(.recordBatchTooLarge, "\(records.count) bytes of batches exceed segment.bytes=\(w.config.segmentBytes) of \(topicPartition); raise segment.bytes or send smaller batches.")
            }
            let first = w.nextOffset
            let last = first + span - 1
            let active = w.active
            if !active.isActive || !active.canAppend(bytes: records.count, lastOffset: last)
                || (!active.isEmpty && now - active.createdAtMillis >= w.config.segmentMs) {
                try _roll(&w, needing: records.count)
            }
            guard w.active.canAppend(bytes: records.count, lastOffset: last) else {
                throw LogError(.recordBatchTooLarge, "\(records.count) bytes of batches do not fit a new segment of \(topicPartition) (segment.bytes=\(w.config.segmentBytes), segment.index.bytes=\(w.config.segmentIndexBytes)).")
            }
            let position = w.active.end
            let written = try w.active.append(records, firstOffset: first, indexIntervalBytes: w.config.indexIntervalBytes)
            if w.active.log.isDamaged { throw _shrunkError(w.active) }
            if hasProducerBatches { _recordProducerBatches(records, firstOffset: first) }
            w.nextOffset = written + 1
            w.unflushedMessages += Int64(recordCount)
            _highWatermark.store(written + 1, ordering: .sequentiallyConsistent)
            var flushNow = false
            if w.unflushedMessages >= w.config.flushMessages { w.unflushedMessages = 0; flushNow = true }
            return (first, written, flushNow, w.active, position)
        }
        if let duplicate { return (duplicate, nil, 0) }
        if wakeReaders { _waiters.notify(last + 1) }
        if flushNow { _durability.schedule(self) }
        return (AppendResult(baseOffset: first, lastOffset: last, logStartOffset: logStartOffset,
                             batchCount: batchCount, recordCount: recordCount), segment, position)
    }

    /// `append(_:verifyChecksums:)` that leaves waking the readers waiting for new data to a
    /// later `_wakeReaders()`: a thread that appends and then goes on with work of its own (the
    /// producer's inline drainer delivering its reports) wakes them when it is done, so that on
    /// a busy machine the woken reader does not preempt it halfway (it would then queue behind
    /// every other runnable thread, while a thread about to sleep loses nothing). The data is
    /// visible at once; only the wake-up is deferred.
    package func _appendDeferringWake(_ records: UnsafeRawBufferPointer) throws(LogError) -> AppendResult {
        try _append(records, verifyChecksums: false, wakeReaders: false).result
    }

    /// Wakes the readers waiting for data below the high-water mark (after
    /// `_appendDeferringWake`).
    package func _wakeReaders() {
        _waiters.notify(highWatermark)
    }

    /// Appends and acknowledges according to `acks`: `.none` and `.leader` return once the batches
    /// are in the page cache, `.all` once they are on disk (group commit: one `fdatasync` covers
    /// every appender waiting at that moment).
    @discardableResult
    public func append(_ records: UnsafeRawBufferPointer, acks: Acks, verifyChecksums: Bool = true) async throws(LogError) -> AppendResult {
        let (r, segment, position) = try _append(records, verifyChecksums: verifyChecksums)
        if acks == .all {
            // Start writing these pages now; the group commit's fdatasync then mostly waits for
            // I/O already in flight (as `dd` benefits from background writeback).
            if let segment { _Sys.startWriteback(segment.log.fd, offset: position, length: records.count) }
            try await waitUntilDurable(r.lastOffset + 1)
        }
        return r
    }

    /// `append(_:acks:)` for batches in an array.
    @discardableResult
    public func append(_ records: [UInt8], acks: Acks = .leader, verifyChecksums: Bool = true) async throws(LogError) -> AppendResult {
        let (r, segment, position) = try records._withBytes { (b) throws(LogError) in try _append(b, verifyChecksums: verifyChecksums) }
        if acks == .all {
            if let segment { _Sys.startWriteback(segment.log.fd, offset: position, length: records.count) }
            try await waitUntilDurable(r.lastOffset + 1)
        }
        return r
    }

    func _validate(_ records: UnsafeRawBufferPointer, verifyChecksums: Bool) throws(LogError) -> (span: Int64, records: Int, batches: Int, producers: Bool) {
        guard let base = records.baseAddress, !records.isEmpty else {
            throw LogError(.corruptRecord, "append of zero bytes to \(topicPartition): pass at least one record batch.")
        }
        let maxBytes = _maxMessageBytes.load(ordering: .relaxed)
        var p = 0, span: Int64 = 0, count = 0, batches = 0, producers = false
        while p < records.count {
            switch _BatchScan.check(base + p, available: records.count - p, verifyCRC: verifyChecksums) {
            case .valid(let b):
                if b.totalSize > maxBytes {
                    throw LogError(.recordBatchTooLarge, "a batch of \(b.totalSize) bytes exceeds max.message.bytes=\(maxBytes) of \(topicPartition); raise max.message.bytes or lower batch.size.")
                }
                span += b.lastOffset - b.baseOffset + 1
                count += Int(b.recordCount)
                batches += 1
                if b.producerId >= 0 { producers = true }
                p += b.totalSize
            case .end:
                throw LogError(.corruptRecord, "append to \(topicPartition): zero bytes where a batch should start at byte \(p).")
            case .invalid(let why):
                throw LogError(.corruptRecord, "append to \(topicPartition): invalid record batch at byte \(p): \(why).")
            }
        }
        return (span, count, batches, producers)
    }

    /// Closes the active segment (trimmed to its size) and starts a new one at the log-end
    /// offset. The new segment is created before the old one is trimmed, so a crash in between
    /// leaves only a zeroed tail that recovery recognises.
    func _roll(_ w: inout _WriterState, needing bytes: Int = 0) throws(LogError) {
        let old = w.active
        if old.isEmpty && old.baseOffset == w.nextOffset {
            // An empty segment at the log end: keep it if it can take the append, otherwise
            // replace it (same base offset) with one sized by the current config.
            if old.isActive && old.capacity >= bytes && !old.offsetIndex.file.isFull { return }
            _segments._withLock { segs in if segs.last === old { segs.removeLast() } }
            try old.deleteFiles()
        }
        let new: _Segment
        do throws(LogError) {
            new = try _Segment.create(directory: directory, baseOffset: w.nextOffset, config: w.config)
        } catch {
            if old._deleted.load(ordering: .acquiring) {
                // The empty segment is gone from disk: put empty files back (they need no
                // space) so the partition keeps its place and reopens on a full disk.
                _segments._withLock { segs in if segs.last !== old { segs.append(old) } }
                _Segment.createEmptyFiles(directory: directory, baseOffset: old.baseOffset)
            }
            throw error
        }
        _segments._withLock { $0.append(new) }
        w.active = new
        try? old.seal(trim: false)
        // Like Kafka, flush the rolled segment in the background; this trims its files and
        // advances the recovery point.
        _durability.schedule(self)
    }

    /// Rolls the active segment now (Kafka's `roll`), unless it is empty.
    public func roll() throws(LogError) {
        try _writer._withLock { (w: inout _WriterState) throws(LogError) in
            if w.closed { throw LogError(.closed, "the log of \(topicPartition) is closed.") }
            if !w.active.isEmpty { try _roll(&w) }
        }
    }

    // MARK: - Reading

    /// Reads whole batches starting with the one that contains `offset`, up to about `maxBytes`
    /// (at least one batch is returned even when it is larger, as Kafka does), without copying.
    ///
    /// - Parameters:
    ///   - maxOffset: an exclusive upper bound, such as `lastStableOffset` for `read_committed`;
    ///     the high-water mark when nil.
    /// - Throws: `.offsetOutOfRange` when `offset` is below the log-start offset or above the
    ///   log-end offset.
    public func read(from offset: Int64, maxBytes: Int, maxOffset: Int64? = nil) throws(LogError) -> LogReadResult {
        let hwm = highWatermark
        let start = logStartOffset
        let lso = lastStableOffset
        if let hole = _holes.hole(containing: offset) { throw _holeError(hole, offset: offset) }
        if offset < start || offset > hwm {
            throw LogError(.offsetOutOfRange, "offset \(offset) is outside \(topicPartition)'s log [\(start), \(hwm)]; seek to an offset in that range (auto.offset.reset).")
        }
        let limit = min(maxOffset ?? hwm, hwm)
        var result = LogReadResult(batches: [], nextOffset: offset, highWatermark: hwm, lastStableOffset: lso,
                                   logStartOffset: start, byteCount: 0)
        if offset >= limit { return result }
        let segments = _segments._withLock { $0 }
        var i = _segmentIndex(segments, containing: offset)
        var next = offset
        reading: while i < segments.count {
            let s = segments[i]
            let end = s.end
            var p = s.position(of: next, end: end)
            let base = UnsafeRawPointer(s.log.base)
            while p < end, let base {
                let h = _BatchScan.header(base + p)
                guard _BatchScan.isPlausible(h, at: p, end: end) else { throw _damagedBatchError(s, position: p) }
                if h.baseOffset >= limit { break reading }
                if !result.batches.isEmpty && result.byteCount + h.totalSize > maxBytes { break reading }
                result.batches.append(RecordBatchView(segment: s, position: p, size: h.totalSize))
                result.byteCount += h.totalSize
                next = h.nextOffset
                p += h.totalSize
                if result.byteCount >= maxBytes { break reading }
            }
            if s.log.isDamaged { throw _shrunkError(s) }
            // Stop at a hole: the next read, from its first offset, reports it.
            if i + 1 < segments.count && next < segments[i + 1].baseOffset && _holes.hole(containing: next) != nil { break reading }
            i += 1
        }
        // A segment file shrunk by another process while it was read (CWeirSupport's SIGBUS
        // guard turned the fault into zeros): what was read cannot be trusted.
        if i < segments.count && segments[i].log.isDamaged { throw _shrunkError(segments[i]) }
        result.nextOffset = next
        return result
    }

    /// The index of the last segment whose base offset is ≤ `offset` (0 when none is).
    func _segmentIndex(_ segments: [_Segment], containing offset: Int64) -> Int {
        var lo = 0, hi = segments.count - 1, found = 0
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if segments[mid].baseOffset <= offset { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }

    /// Waits until the high-water mark is greater than `offset` (new data at or after `offset`
    /// exists), without spinning: appenders wake waiters directly.
    ///
    /// - Returns: true when the high-water mark moved past `offset`, false when `timeout` passed.
    /// - Throws: `.cancelled` when the task is cancelled, `.closed` when the log closes.
    public func waitForHighWatermark(above offset: Int64, timeout: Duration? = nil) async throws(LogError) -> Bool {
        let outcome = await _waiters.wait(until: offset, timeout: timeout) { [self] in highWatermark }
        switch outcome {
        case .reached: return true
        case .timedOut: return false
        case .cancelled: throw LogError(.cancelled, "the wait for new data in \(topicPartition) was cancelled.")
        case .closed: throw LogError(.closed, "the log of \(topicPartition) closed while waiting for new data.")
        }
    }

    /// The earliest offset whose timestamp is ≥ `timestamp` (Kafka's `offsetsForTimes`), with the
    /// timestamp of that record's batch, or nil when every record is older.
    ///
    /// Uses the time index to skip ahead, then the offset index, then scans batches; inside the
    /// first batch whose `maxTimestamp` is ≥ `timestamp` it looks at each record's timestamp.
    public func offset(forTimestamp timestamp: Int64) -> (offset: Int64, timestamp: Int64)? {
        let hwm = highWatermark
        let start = logStartOffset
        for s in _segments._withLock({ $0 }) where s.maxTimestamp >= timestamp {
            let end = s.end
            guard let base = s.log.base.map({ UnsafeRawPointer($0) }) else { continue }
            let from = max(s.timeIndex.lookup(timestamp), start)
            var p = s.position(of: from, end: end)
            while p < end {
                let h = _BatchScan.header(base + p)
                if h.baseOffset >= hwm || !_BatchScan.isPlausible(h, at: p, end: end) { return nil }
                if h.lastOffset >= start && h.maxTimestamp >= timestamp {
                    let view = RecordBatchView(segment: s, position: p, size: h.totalSize)
                    if let hit = _firstRecord(in: view, atOrAfter: timestamp, minOffset: start) { return hit }
                }
                p += h.totalSize
            }
        }
        return nil
    }
}

/// A description of one segment.
public struct SegmentInfo: Sendable, Hashable {
    public var baseOffset: Int64
    /// One past the segment's last offset.
    public var nextOffset: Int64
    public var sizeInBytes: Int
    /// The largest batch timestamp, -1 when empty.
    public var maxTimestamp: Int64
    public var isActive: Bool
    public var logPath: String
    public var offsetIndexEntries: Int
    public var timeIndexEntries: Int
}
