#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import WeirFormat

extension PartitionLog {
    /// Key-based compaction of the closed segments (`cleanup.policy=compact`), as Kafka's log
    /// cleaner does it:
    ///
    /// - the latest record of each key in the closed segments is kept, older ones are removed;
    /// - tombstones (null values) are removed once older than `delete.retention.ms`;
    /// - segments whose newest record is younger than `min.compaction.lag.ms` are left alone;
    /// - offsets are preserved: a rewritten batch keeps its base and last offsets, producer
    ///   fields and codec, and each retained record its offset delta (WeirFormat's builder
    ///   `append(copying:)`); control batches are kept as they are, records without a key too.
    ///
    /// Each changed segment is written to `<base>.log.cleaned`, synced, and renamed over the
    /// original; its indexes are rebuilt. Readers holding views of the old segment keep them.
    /// The active segment is never compacted.
    public func compact(now: Int64? = nil) throws(LogError) -> (segments: Int, records: Int) {
        try _cleanerLock._withLock { (_: inout Void) throws(LogError) -> (segments: Int, records: Int) in try _compact(now: now) }
    }

    func _compact(now: Int64?) throws(LogError) -> (segments: Int, records: Int) {
        let now = now ?? _wallMillis()
        let config = self.config
        let closed = _segments._withLock { $0 }.dropLast()
        let cleanable = Array(closed.prefix { $0.maxTimestamp <= now - config.minCompactionLagMs })
        guard !cleanable.isEmpty else { return (0, 0) }

        // 1. The offset map: the latest offset of every key in the cleanable segments.
        var latest: [[UInt8]: Int64] = [:]
        let decoder = RecordBatchDecoder(checkCRCs: false)
        for s in cleanable {
            try _forEachBatch(s) { (view) throws(LogError) in
                if view.isControl { return }
                try view.withUnsafeBytes { (bytes) throws(LogError) in
                    do throws(RecordBatchError) {
                        try decoder.forEachRecord(in: bytes) { (r) throws(RecordBatchError) in
                            if let k = r.key { latest[Array(k)] = r.offset }
                        }
                    } catch {
                        throw LogError(.corruptRecord, "compaction of \(topicPartition) could not decode the batch at offset \(view.baseOffset): \(error.message)")
                    }
                }
            }
        }

        // 2. Rewrite every segment that has something to drop.
        var segmentsRewritten = 0, removed = 0
        for s in cleanable {
            var out: [UInt8] = []
            var changed = false
            var last: RecordBatchHeader? = nil
            try _forEachBatch(s) { (view) throws(LogError) in
                last = view.header
                if view.isControl {
                    view.withUnsafeBytes { out.append(contentsOf: $0) }
                    return
                }
                let header = view.header
                var total = 0, kept = 0
                let builder: RecordBatchBuilder
                do throws(RecordBatchError) {
                    builder = try RecordBatchBuilder(codec: header.codec ?? .none, batchSizeLimit: Int(Int32.max))
                    builder.baseOffset = header.baseOffset
                    builder.producerId = header.producerId
                    builder.producerEpoch = header.producerEpoch
                    builder.baseSequence = header.baseSequence
                    builder.isTransactional = header.attributes.isTransactional
                    builder.partitionLeaderEpoch = header.partitionLeaderEpoch
                    builder.lastOffsetDeltaOverride = header.lastOffsetDelta
                    if header.attributes.timestampType == .logAppendTime {
                        builder.timestampType = .logAppendTime
                        builder.logAppendTime = header.maxTimestamp
                    }
                    try view.withUnsafeBytes { (bytes) throws(RecordBatchError) in
                        try decoder.withRecords(in: bytes) { (records) throws(RecordBatchError) in
                            while let r = try records.next() {
                                total += 1
                                if let k = r.key {
                                    if latest[Array(k)] != r.offset { continue }
                                    if r.value == nil && now - r.timestamp > config.deleteRetentionMs { continue }
                                }
                                builder.append(copying: r)
                                kept += 1
                            }
                        }
                    }
                } catch {
                    throw LogError(.corruptRecord, "compaction of \(topicPartition) could not rewrite the batch at offset \(view.baseOffset): \(error.message)")
                }
                if kept == total {
                    view.withUnsafeBytes { out.append(contentsOf: $0) }
                    return
                }
                changed = true
                removed += total - kept
                // The retained records keep their offsets (offset deltas), and the batch keeps its
                // base and last offsets and producer fields, as Kafka's cleaner does.
                if kept > 0 {
                    do throws(RecordBatchError) {
                        out.append(contentsOf: try builder.build())
                    } catch {
                        throw LogError(.corruptRecord, "compaction of \(topicPartition) could not re-encode the batch at offset \(view.baseOffset): \(error.message)")
                    }
                }
            }
            if changed {
                // A segment is never emptied: its last batch stays, without records. An empty
                // closed segment then always means damage (`_findHoles`), and the producer's
                // last sequence survives, as Kafka's cleaner keeps it (RETAIN_EMPTY).
                if out.isEmpty, let last { out = PartitionLog._emptyBatch(like: last) }
                try _replace(s, with: out)
                segmentsRewritten += 1
            }
        }
        return (segmentsRewritten, removed)
    }

    /// A batch with `header`'s offsets, producer fields, timestamps and attributes but no
    /// records and no codec: what compaction keeps of a segment whose records all went.
    static func _emptyBatch(like header: RecordBatchHeader) -> [UInt8] {
        var h = header
        h.batchLength = Int32(RecordBatchLayout.headerSize - RecordBatchLayout.logOverhead)
        h.recordCount = 0
        h.attributes = RecordBatchAttributes(rawValue: header.attributes.rawValue & ~RecordBatchAttributes.codecMask)
        var bytes = [UInt8](repeating: 0, count: RecordBatchLayout.headerSize)
        bytes.withUnsafeMutableBytes { b in
            h.write(to: b.baseAddress!)
            let start = RecordBatchLayout.crcCoverageStart
            let crc = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: b[start...]))
            b.storeBytes(of: crc.bigEndian, toByteOffset: RecordBatchLayout.crc, as: UInt32.self)
        }
        return bytes
    }

    /// Calls `body` with every batch of a segment.
    func _forEachBatch(_ s: _Segment, _ body: (RecordBatchView) throws(LogError) -> Void) throws(LogError) {
        guard let base = s.log.base else { return }
        let end = s.end
        var p = 0
        while p < end {
            let h = _BatchScan.header(UnsafeRawPointer(base) + p)
            guard _BatchScan.isPlausible(h, at: p, end: end) else { throw _damagedBatchError(s, position: p) }
            try body(RecordBatchView(segment: s, position: p, size: h.totalSize))
            p += h.totalSize
        }
    }

    /// Swaps a closed segment for its compacted bytes: `<base>.log.cleaned` is written and
    /// synced, the old indexes removed, the file renamed over `<base>.log` (the commit point),
    /// and the indexes rebuilt. A crash before the rename leaves the old segment (and a
    /// `.cleaned` file that opening removes); after it, the new one with indexes rebuilt on open.
    func _replace(_ old: _Segment, with bytes: [UInt8]) throws(LogError) {
        let p = _Segment.paths(directory, old.baseOffset)
        let cleaned = p.log + ".cleaned"
        let fd = try _Sys.open(cleaned, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(LogError) {
            if !bytes.isEmpty { try bytes._withBytes { (b) throws(LogError) in try _Sys.pwrite(fd, b, at: 0, path: cleaned) } }
            try _Sys.fsync(fd, path: cleaned)
        } catch {
            // A full disk mid-rewrite: drop the partial copy (its space) and keep the original.
            _Sys.close(fd)
            try? _Sys.unlink(cleaned)
            throw error
        }
        _Sys.close(fd)
        try _Sys.unlink(p.index)
        try _Sys.unlink(p.timeIndex)
        try _Sys.rename(cleaned, p.log)
        try _Sys.syncDirectory(directory)
        let scan = try _Segment.scan(directory: directory, baseOffset: old.baseOffset,
                                     indexIntervalBytes: config.indexIntervalBytes, checkZeroTail: true)
        try _Segment.applyRecovery(scan, directory: directory)
        let new = try _Segment.open(directory: directory, baseOffset: old.baseOffset, active: false, config: config)
        old._deleted.store(true, ordering: .releasing)
        _segments._withLock { segs in
            if let i = segs.firstIndex(where: { $0 === old }) { segs[i] = new }
        }
    }

    /// The decoder of timestamp look-ups (`offset(forTimestamp:)`), one for the process, kept so
    /// that a look-up into a compressed batch does not create a decompression context each time
    /// (one per partition would keep a context and a scratch buffer per partition); a look-up
    /// that finds it busy makes its own.
    static let _timestampDecoder = Mutex(RecordBatchDecoder(checkCRCs: false))

    /// The first record at or after `minOffset` whose timestamp is ≥ `timestamp` in `batch`.
    func _firstRecord(in batch: RecordBatchView, atOrAfter timestamp: Int64, minOffset: Int64) -> (offset: Int64, timestamp: Int64)? {
        Self._timestampDecoder.withLockIfAvailable { decoder in
            _firstRecord(in: batch, atOrAfter: timestamp, minOffset: minOffset, decoder: decoder)
        } ?? _firstRecord(in: batch, atOrAfter: timestamp, minOffset: minOffset, decoder: RecordBatchDecoder(checkCRCs: false))
    }

    private func _firstRecord(in batch: RecordBatchView, atOrAfter timestamp: Int64, minOffset: Int64,
                              decoder: RecordBatchDecoder) -> (offset: Int64, timestamp: Int64)? {
        var hit: (Int64, Int64)?
        batch.withUnsafeBytes { bytes in
            try? decoder.withRecords(in: bytes) { (records) throws(RecordBatchError) in
                while let r = try records.next() {
                    if r.offset >= minOffset && r.timestamp >= timestamp { hit = (r.offset, r.timestamp); return }
                }
            }
        }
        return hit
    }
}
