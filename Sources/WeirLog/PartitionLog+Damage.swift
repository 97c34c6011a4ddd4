import Synchronization

/// A range of offsets that the log once held but that is no longer on disk: an emptied or
/// deleted closed segment, or a segment cut short by recovery while later segments survive.
///
/// A hole is damage, never skipped silently: `read(from:)` of an offset inside it throws
/// `.corruptLog` (a reader that reads up to it stops at its start), `weir topics describe` and
/// `weir log verify` report it. It lasts while its evidence is on disk (an empty closed segment,
/// a gap between segments, a log-start checkpoint below the first segment) and goes when
/// `deleteRecords(before:)` or retention moves the log-start offset past it (accepting the loss).
public struct LogHole: Sendable, Hashable, CustomStringConvertible {
    /// The missing offsets.
    public var offsets: Range<Int64>
    /// Why they are missing, naming the file.
    public var reason: String

    public init(offsets: Range<Int64>, reason: String) {
        self.offsets = offsets
        self.reason = reason
    }

    public var description: String { "offsets \(offsets.lowerBound)..<\(offsets.upperBound) are missing: \(reason)" }
}

/// The holes of one partition. Readers test `hasHoles` (one relaxed load) before taking the lock.
final class _HoleSet: Sendable {
    let _any = Atomic<Bool>(false)
    let _holes = Mutex<[LogHole]>([])

    var hasHoles: Bool { _any.load(ordering: .acquiring) }
    var all: [LogHole] { hasHoles ? _holes._withLock { $0 } : [] }

    func set(_ holes: [LogHole]) {
        _holes._withLock { $0 = holes }
        _any.store(!holes.isEmpty, ordering: .releasing)
    }

    func hole(containing offset: Int64) -> LogHole? {
        guard hasHoles else { return nil }
        return _holes._withLock { $0.first { $0.offsets.contains(offset) } }
    }

    /// Forgets the holes wholly below `offset` (the log-start offset moved past them); returns
    /// whether any went.
    func drop(below offset: Int64) -> Bool {
        guard hasHoles else { return false }
        return _holes._withLock { h in
            let before = h.count
            h.removeAll { $0.offsets.upperBound <= offset }
            _any.store(!h.isEmpty, ordering: .releasing)
            return h.count != before
        }
    }
}

extension PartitionLog {
    /// Offsets this partition is missing on disk (see `LogHole`); empty for an intact log.
    public var damage: [LogHole] { _holes.all }

    /// The error a reader gets for an offset inside a hole.
    func _holeError(_ hole: LogHole, offset: Int64) -> LogError {
        LogError(.corruptLog, "offset \(offset) of \(topicPartition) is lost: \(hole). Run `weir log verify`; to accept the loss, seek to \(hole.offsets.upperBound) (or delete the records before it).")
    }

    /// The error for a batch header that fails the read path's check (`_BatchScan.isPlausible`).
    func _damagedBatchError(_ s: _Segment, position: Int) -> LogError {
        if s.log.isDamaged { return _shrunkError(s) }
        return LogError(.corruptLog, "the batch at position \(position) of \(s.log.path) (\(topicPartition)) is damaged (bad size or magic). Run `weir log verify`; reopening the log directory without its clean-shutdown marker (.kafka_cleanshutdown) recovers the segment.")
    }

    /// The error for a segment whose file another process shrank while it was mapped.
    func _shrunkError(_ s: _Segment) -> LogError {
        LogError(.corruptLog, "\(s.log.path) of \(topicPartition) was truncated by another process while mapped; its data past the new end is gone. Stop whatever changes the log directory, then reopen it (recovery checks every segment) and run `weir log verify`.")
    }

    /// The log-start offset written to the checkpoint: below the first segment while a leading
    /// hole is unresolved, so that the damage is still seen after the next open.
    var _checkpointLogStartOffset: Int64 {
        let start = logStartOffset
        guard let first = _holes.all.first, first.offsets.lowerBound < start else { return start }
        return first.offsets.lowerBound
    }

    /// The holes of a freshly opened partition:
    /// - a closed segment with no batches (for compacted topics too: compaction never empties a
    ///   segment, it keeps the last batch's header, see `_compact`);
    /// - a gap between a closed segment's last offset and the next segment's base: for plain
    ///   topics always, for compacted ones (where compaction leaves gaps) only after a segment
    ///   that this open cut back or whose index showed that its end was cut (`cutClosed`, base
    ///   offsets; see `_Segment.lostEnd`);
    /// - after a clean shutdown only, a log-start checkpoint below the first segment (the
    ///   segments before it are gone; after a crash that is also what a retention pass
    ///   interrupted before its checkpoint leaves);
    /// - `tailHole`: offsets the recovery-point checkpoint says were flushed but the end of the
    ///   log lost (for every topic, compacted ones too, since compaction never touches the
    ///   active segment);
    /// - the holes an earlier open found (`recorded`, from the damage checkpoint).
    ///
    /// Offsets below the checkpointed log-start offset were deleted on purpose and are left out.
    static func _findHoles(_ segments: [_Segment], config: LogConfig, clean: Bool, checkpointedStart: Int64?,
                           tailHole: LogHole? = nil, cutClosed: Set<Int64> = [], recorded: [LogHole] = []) -> [LogHole] {
        var holes: [LogHole] = []
        if clean, let start = checkpointedStart, start >= 0, let first = segments.first, start < first.baseOffset {
            holes.append(LogHole(offsets: start..<first.baseOffset,
                                 reason: "the segments before \(_Segment.fileName(first.baseOffset, ".log")) are missing (the log-start checkpoint says \(start))"))
        }
        let compacted = config.cleanupPolicy.contains(.compact)
        for (s, next) in zip(segments, segments.dropFirst()) where s.nextOffset < next.baseOffset {
            let name = _Segment.fileName(s.baseOffset, ".log")
            if s.isEmpty {
                holes.append(LogHole(offsets: s.baseOffset..<next.baseOffset, reason: "the closed segment \(name) is empty"))
            } else if !compacted || cutClosed.contains(s.baseOffset) {
                holes.append(LogHole(offsets: s.nextOffset..<next.baseOffset,
                                     reason: "the closed segment \(name) ends at \(s.nextOffset), the next one starts at \(next.baseOffset)"
                                         + (compacted ? " (its end was cut)" : "")))
            }
        }
        if let tailHole, !holes.contains(where: { $0.offsets.contains(tailHole.offsets.lowerBound) }) {
            holes.append(tailHole)
        }
        let floor = max(checkpointedStart ?? .min, 0)
        return _DamageFile.merge(holes, recorded).compactMap { h in
            let lower = max(h.offsets.lowerBound, floor)
            return lower < h.offsets.upperBound ? LogHole(offsets: lower..<h.offsets.upperBound, reason: h.reason) : nil
        }
    }
}
