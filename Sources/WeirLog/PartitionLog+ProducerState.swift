import Synchronization
import WeirFormat

// Producer state for idempotent and transactional producers, as Kafka's `ProducerStateManager`
// keeps it per partition:
//
// - per producer id: the current epoch and the sequence ranges of its last 5 batches, with the
//   offsets they got, so that a retried batch is recognised and answered with its original
//   offsets instead of being written twice;
// - per producer id with an open transaction: the first offset of that transaction, which bounds
//   the last stable offset (`read_committed` readers stop there);
// - the aborted transactions (producer id, first offset, last offset = the abort marker), the
//   in-memory form of Kafka's `.txnindex`, so a `read_committed` reader can skip their records.
//
// All of it is rebuilt from the batch headers when the partition opens, so it survives a reopen.

extension LogError.Code {
    /// A batch's sequence number is not the one after the producer's last batch
    /// (Kafka's `OUT_OF_ORDER_SEQUENCE_NUMBER`).
    public static let outOfOrderSequenceNumber = LogError.Code("outOfOrderSequenceNumber")
    /// A batch carries an epoch older than the producer id's current one: another producer with
    /// the same `transactional.id` took over (Kafka's `INVALID_PRODUCER_EPOCH` / `PRODUCER_FENCED`).
    public static let invalidProducerEpoch = LogError.Code("invalidProducerEpoch")
    /// A duplicate batch inside a multi-batch append (Kafka's `DUPLICATE_SEQUENCE_NUMBER`).
    public static let duplicateSequenceNumber = LogError.Code("duplicateSequenceNumber")
}

/// A transaction whose abort marker is in the log: records of `producerId` from `firstOffset`
/// to `lastOffset` (the marker) are discarded by `read_committed` readers. Kafka's
/// `AbortedTxn` of the `.txnindex`.
public struct AbortedTransaction: Sendable, Hashable {
    public var producerId: Int64
    public var firstOffset: Int64
    /// The offset of the abort marker.
    public var lastOffset: Int64

    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}

/// What the log knows about one producer id in one partition.
public struct ProducerStateEntry: Sendable, Hashable {
    public var producerId: Int64
    public var epoch: Int16
    /// The sequence number of the last record written, -1 when none.
    public var lastSequence: Int32
    /// The offset of the last batch written.
    public var lastOffset: Int64
    /// The first offset of the producer's open transaction, nil when none is open.
    public var currentTransactionFirstOffset: Int64?
}

final class _ProducerStateTable: Sendable {
    /// How many batch ranges Kafka keeps per producer to answer duplicates.
    static let retainedBatches = 5

    struct _BatchMetadata: Hashable {
        var firstSeq: Int32
        var lastSeq: Int32
        var firstOffset: Int64
        var lastOffset: Int64
    }

    struct _Entry {
        var epoch: Int16
        var batches: [_BatchMetadata] = []
        var lastOffset: Int64 = -1
        var txnFirstOffset: Int64? = nil
    }

    struct _State {
        var producers: [Int64: _Entry] = [:]
        var aborted: [AbortedTransaction] = []
    }

    let state = Mutex(_State())

    /// Kafka's sequence arithmetic: sequences wrap from Int32.max to 0.
    static func nextSequence(_ s: Int32) -> Int32 { s == .max ? 0 : s + 1 }
    static func lastSequence(_ base: Int32, _ count: Int32) -> Int32 {
        let sum = Int64(base) + Int64(count) - 1
        return Int32(truncatingIfNeeded: sum > Int64(Int32.max) ? sum - Int64(Int32.max) - 1 : sum)
    }

    /// Checks one batch against `state` (without changing it). Returns the original metadata of
    /// a duplicate, nil for a batch to write.
    static func check(_ h: RecordBatchHeader, _ s: borrowing _State, _ tp: TopicPartition) throws(LogError) -> _BatchMetadata? {
        let pid = h.producerId
        guard let e = s.producers[pid] else {
            if h.baseSequence > 0 && !h.attributes.isControl {
                throw LogError(.outOfOrderSequenceNumber, "\(tp): producer \(pid) is unknown and its first batch has sequence \(h.baseSequence), expected 0; the producer must restart its sequence (reinitialise it).")
            }
            return nil
        }
        if h.producerEpoch < e.epoch {
            throw LogError(.invalidProducerEpoch, "\(tp): producer \(pid) epoch \(h.producerEpoch) is older than the current epoch \(e.epoch); a newer producer with the same id took over (fenced). Close this producer.")
        }
        if h.attributes.isControl || h.baseSequence < 0 { return nil }
        if h.producerEpoch > e.epoch {
            if h.baseSequence != 0 {
                throw LogError(.outOfOrderSequenceNumber, "\(tp): producer \(pid) starts epoch \(h.producerEpoch) at sequence \(h.baseSequence), expected 0.")
            }
            return nil
        }
        let last = lastSequence(h.baseSequence, h.recordCount)
        if let dup = e.batches.first(where: { $0.firstSeq == h.baseSequence && $0.lastSeq == last }) { return dup }
        guard let latest = e.batches.last else {
            return nil
        }
        let expected = nextSequence(latest.lastSeq)
        if h.baseSequence != expected {
            throw LogError(.outOfOrderSequenceNumber, "\(tp): producer \(pid) epoch \(e.epoch) sent sequence \(h.baseSequence), expected \(expected) (last written \(latest.lastSeq)); a batch was lost or reordered.")
        }
        return nil
    }

    /// Records a batch written at `baseOffset`. Returns whether the set of open transactions changed.
    static func update(_ h: RecordBatchHeader, baseOffset: Int64, isAbortMarker: Bool, _ s: inout _State) -> Bool {
        let pid = h.producerId
        let lastOffset = baseOffset + Int64(h.lastOffsetDelta)
        var e = s.producers[pid] ?? _Entry(epoch: h.producerEpoch)
        if h.producerEpoch > e.epoch {
            e.epoch = h.producerEpoch
            e.batches.removeAll()
        }
        e.lastOffset = lastOffset
        var txnChanged = false
        if h.attributes.isControl {
            if let first = e.txnFirstOffset {
                e.txnFirstOffset = nil
                txnChanged = true
                if isAbortMarker {
                    s.aborted.append(AbortedTransaction(producerId: pid, firstOffset: first, lastOffset: lastOffset))
                }
            }
        } else {
            if h.baseSequence >= 0 {
                e.batches.append(_BatchMetadata(firstSeq: h.baseSequence, lastSeq: lastSequence(h.baseSequence, h.recordCount),
                                                firstOffset: baseOffset, lastOffset: lastOffset))
                if e.batches.count > retainedBatches { e.batches.removeFirst() }
            }
            if h.attributes.isTransactional && e.txnFirstOffset == nil {
                e.txnFirstOffset = baseOffset
                txnChanged = true
            }
        }
        s.producers[pid] = e
        return txnChanged
    }

    /// Whether the control batch at `p` (whole, `size` bytes) holds an abort marker.
    static func isAbortMarker(_ p: UnsafeRawPointer, size: Int) -> Bool {
        let decoder = RecordBatchDecoder(checkCRCs: false)
        var abort = false
        try? decoder.forEachRecord(in: UnsafeRawBufferPointer(start: p, count: size)) { (r) throws(RecordBatchError) in
            if let marker = try? ControlRecord(r), marker.type == .abort { abort = true }
        }
        return abort
    }

    /// The first offset of the oldest open transaction.
    static func firstUnstableOffset(_ s: borrowing _State) -> Int64? {
        var m: Int64? = nil
        for (_, e) in s.producers {
            if let f = e.txnFirstOffset { m = min(m ?? f, f) }
        }
        return m
    }
}

extension PartitionLog {
    /// Checks the producer batches of an append (under the writer's lock, before writing).
    /// Returns the original offsets when the append is one batch that was already written.
    func _checkProducerBatches(_ records: UnsafeRawBufferPointer, batchCount: Int) throws(LogError) -> AppendResult? {
        let base = records.baseAddress!
        return try _producers.state._withLock { (s: inout _ProducerStateTable._State) throws(LogError) -> AppendResult? in
            if batchCount == 1 {
                let h = RecordBatchHeader(unsafeUncheckedBytes: base)
                guard h.producerId >= 0 else { return nil }
                guard let dup = try _ProducerStateTable.check(h, s, topicPartition) else { return nil }
                return AppendResult(baseOffset: dup.firstOffset, lastOffset: dup.lastOffset, logStartOffset: logStartOffset,
                                    batchCount: 1, recordCount: Int(h.recordCount), isDuplicate: true)
            }
            // Several batches: check each against the state as the earlier ones would leave it.
            var scratch = s
            var p = 0, offset: Int64 = 0
            while p < records.count {
                let h = RecordBatchHeader(unsafeUncheckedBytes: base + p)
                if h.producerId >= 0 {
                    if try _ProducerStateTable.check(h, scratch, topicPartition) != nil {
                        throw LogError(.duplicateSequenceNumber, "\(topicPartition): a batch of producer \(h.producerId) with sequence \(h.baseSequence) was already written; send duplicates one batch per append.")
                    }
                    _ = _ProducerStateTable.update(h, baseOffset: offset, isAbortMarker: false, &scratch)
                }
                offset += Int64(h.lastOffsetDelta) + 1
                p += h.totalSize
            }
            return nil
        }
    }

    /// Records the producer batches of an append written from `firstOffset` (under the writer's
    /// lock, after writing) and moves the first unstable offset.
    func _recordProducerBatches(_ records: UnsafeRawBufferPointer, firstOffset: Int64) {
        let base = records.baseAddress!
        let changed = _producers.state._withLock { (s: inout _ProducerStateTable._State) -> Int64?? in
            var p = 0, offset = firstOffset, changed = false
            while p < records.count {
                let h = RecordBatchHeader(unsafeUncheckedBytes: base + p)
                if h.producerId >= 0 {
                    let abort = h.attributes.isControl && _ProducerStateTable.isAbortMarker(base + p, size: h.totalSize)
                    if _ProducerStateTable.update(h, baseOffset: offset, isAbortMarker: abort, &s) { changed = true }
                }
                offset += Int64(h.lastOffsetDelta) + 1
                p += h.totalSize
            }
            return changed ? .some(_ProducerStateTable.firstUnstableOffset(s)) : .none
        }
        if let fuo = changed { _firstUnstableOffset.store(fuo ?? -1, ordering: .releasing) }
    }

    /// Rebuilds the producer state from the batch headers of `segments` (on open).
    func _rebuildProducerState(_ segments: [_Segment]) {
        let start = logStartOffset
        let fuo = _producers.state._withLock { (s: inout _ProducerStateTable._State) -> Int64? in
            for seg in segments {
                guard let base = seg.log.base.map({ UnsafeRawPointer($0) }) else { continue }
                let end = seg.end
                var p = 0
                while p + RecordBatchLayout.headerSize <= end {
                    let h = _BatchScan.header(base + p)
                    // A segment a clean shutdown left is trusted without a full scan; a batch
                    // that does not frame (damage the open's tail check cannot see) ends the walk
                    // here, and the read path's own check reports it to readers.
                    guard _BatchScan.isPlausible(h, at: p, end: end) else { break }
                    if h.producerId >= 0 && h.lastOffset >= start {
                        let abort = h.attributes.isControl && _ProducerStateTable.isAbortMarker(base + p, size: h.totalSize)
                        _ = _ProducerStateTable.update(h, baseOffset: h.baseOffset, isAbortMarker: abort, &s)
                    }
                    p += h.totalSize
                }
            }
            return _ProducerStateTable.firstUnstableOffset(s)
        }
        _firstUnstableOffset.store(fuo ?? -1, ordering: .releasing)
    }

    /// The aborted transactions that overlap `[from, upTo)`, oldest first: what a Kafka fetch
    /// response returns for `read_committed` (from the `.txnindex`).
    public func abortedTransactions(from: Int64, upTo: Int64) -> [AbortedTransaction] {
        _producers.state._withLock { s in s.aborted.filter { $0.lastOffset >= from && $0.firstOffset < upTo } }
    }

    /// What this partition knows about a producer id, nil when it has written nothing here.
    public func producerState(_ producerId: Int64) -> ProducerStateEntry? {
        _producers.state._withLock { s -> ProducerStateEntry? in
            guard let e = s.producers[producerId] else { return nil }
            return ProducerStateEntry(producerId: producerId, epoch: e.epoch, lastSequence: e.batches.last?.lastSeq ?? -1,
                                      lastOffset: e.lastOffset, currentTransactionFirstOffset: e.txnFirstOffset)
        }
    }

    /// The largest producer id that wrote to this partition, -1 when none did (producer-id
    /// allocation uses it so that ids stay unique across reopens).
    public var largestProducerId: Int64 {
        _producers.state._withLock { s in s.producers.keys.max() ?? -1 }
    }

    /// The producer ids with an open transaction here, with its first offset.
    public var openTransactions: [Int64: Int64] {
        _producers.state._withLock { s in
            var out: [Int64: Int64] = [:]
            for (pid, e) in s.producers { if let f = e.txnFirstOffset { out[pid] = f } }
            return out
        }
    }
}
