/// What one retention pass did to a partition.
public struct RetentionResult: Sendable, Hashable {
    public var topicPartition: TopicPartition
    /// Whole segments deleted by `retention.ms`, `retention.bytes` or the log-start offset.
    public var segmentsDeleted: Int = 0
    public var bytesDeleted: Int64 = 0
    /// Segments rewritten by compaction (`cleanup.policy=compact`).
    public var segmentsCompacted: Int = 0
    /// Records compaction dropped (older values of a key, expired tombstones).
    public var recordsRemoved: Int = 0
    /// The log-start offset after the pass.
    public var logStartOffset: Int64 = 0
}

extension PartitionLog {
    /// Applies the topic's cleanup policy now: with `delete`, deletes the oldest closed segments
    /// whose newest record is older than `retention.ms`, while the partition is larger than
    /// `retention.bytes`, and those wholly below the log-start offset; with `compact`, compacts
    /// the closed segments. The active segment is never deleted or compacted.
    @discardableResult
    public func enforceRetention(now: Int64? = nil) throws(LogError) -> RetentionResult {
        try _cleanerLock._withLock { (_: inout Void) throws(LogError) -> RetentionResult in try _enforceRetention(now: now) }
    }

    func _enforceRetention(now: Int64?) throws(LogError) -> RetentionResult {
        let now = now ?? _wallMillis()
        let config = self.config
        var result = RetentionResult(topicPartition: topicPartition)
        if config.cleanupPolicy.contains(.delete) {
            let segments = _segments._withLock { $0 }
            var total = segments.reduce(0) { $0 + Int64($1.end) }
            let start = logStartOffset
            var count = 0
            for s in segments.dropLast() {
                let expired = config.retentionMs >= 0 && s.maxTimestamp >= 0 && now - s.maxTimestamp > config.retentionMs
                let oversized = config.retentionBytes >= 0 && total - Int64(s.end) >= config.retentionBytes
                let belowStart = s.nextOffset <= start
                guard expired || oversized || belowStart else { break }
                total -= Int64(s.end)
                count += 1
            }
            if count > 0 {
                let (n, bytes) = try _deleteOldestSegments(count)
                result.segmentsDeleted = n
                result.bytesDeleted = bytes
            }
        }
        if config.cleanupPolicy.contains(.compact) {
            let c = try _compact(now: now)
            result.segmentsCompacted = c.segments
            result.recordsRemoved = c.records
        }
        result.logStartOffset = logStartOffset
        return result
    }

    /// Removes the `count` oldest segments (never the active one) from the log, advances the
    /// log-start offset to the first remaining segment and unlinks the files. Readers holding
    /// views of a removed segment keep reading it: its mapping lives until the last view goes.
    func _deleteOldestSegments(_ count: Int) throws(LogError) -> (Int, Int64) {
        let removed = _segments._withLock { segs -> [_Segment] in
            let n = min(count, segs.count - 1)
            guard n > 0 else { return [] }
            let out = Array(segs[0..<n])
            segs.removeFirst(n)
            let newStart = segs[0].baseOffset
            var current = _logStartOffset.load(ordering: .relaxed)
            while current < newStart {
                let (ok, orig) = _logStartOffset.compareExchange(expected: current, desired: newStart, ordering: .acquiringAndReleasing)
                if ok { break }
                current = orig
            }
            return out
        }
        _dropHolesBelowLogStart()
        var bytes: Int64 = 0
        for s in removed {
            bytes += Int64(s.end)
            try s.deleteFiles()
        }
        return (removed.count, bytes)
    }

    /// Kafka's `DeleteRecords`: moves the log-start offset to `offset` (records below it become
    /// unreadable) and deletes the segments wholly below it. Returns the new log-start offset.
    @discardableResult
    public func deleteRecords(before offset: Int64) throws(LogError) -> Int64 {
        let hwm = highWatermark
        guard offset >= 0 && offset <= hwm else {
            throw LogError(.offsetOutOfRange, "deleteRecords(before: \(offset)) on \(topicPartition): the offset must be in [0, \(hwm)].")
        }
        var current = _logStartOffset.load(ordering: .relaxed)
        while current < offset {
            let (ok, orig) = _logStartOffset.compareExchange(expected: current, desired: offset, ordering: .acquiringAndReleasing)
            if ok { break }
            current = orig
        }
        // Moving the start past a hole accepts the loss (PartitionLog+Damage.swift).
        _dropHolesBelowLogStart()
        let segments = _segments._withLock { $0 }
        var count = 0
        for s in segments.dropLast() where s.nextOffset <= offset { count += 1 }
        if count > 0 { _ = try _deleteOldestSegments(count) }
        return logStartOffset
    }
}
