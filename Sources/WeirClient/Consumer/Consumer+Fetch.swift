import WeirLog
import Foundation
import Synchronization
import WeirFormat

// Polling: which partitions to fetch, one fetch, and the hand-over of its batches.
extension Consumer {
    /// Kafka's `poll`: returns up to `max.poll.records` owned records, waiting up to `timeout`
    /// for some (an empty array after the timeout). The records returned by the previous poll
    /// count as processed (their offsets are what auto-commit commits).
    public func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        _markPositionsConsumed()
        let batches = try await _pollBatches(timeout: timeout)
        var out: [ConsumerRecord] = []
        for b in batches { for m in b { out.append(m.copy()) } }
        return out
    }

    /// Polls batches (one per partition that had records) and moves the positions past them.
    /// `maxRecords` bounds the records of the whole poll (nil: `max.poll.records`). With
    /// `delivery`, returning batches starts an activity (see `_beginActivity`) that the caller
    /// ends with `_endActivity()` once its handlers are done with them.
    func _pollBatches(timeout: Duration, maxRecords: Int? = nil, delivery: Bool = false) async throws(ClientError) -> [ConsumerBatch] {
        let deadline = MonotonicDeadline(after: timeout)
        let fetchDeadline = MonotonicDeadline(after: .milliseconds(configuration.fetchMaxWaitMs))
        while true {
            if _state._withLock({ $0.closed || $0.closing }) { throw Self._closedError }
            _lastPoll.store(_monotonicNanos(), ordering: .relaxed)
            try await _maintainGroup()
            try _maybeAutoCommit()
            try _resolvePositions()
            let fetch = try _fetchOnce(_fetchable(), maxRecords: maxRecords)
            let now = monotonicNanos()
            if !fetch.batches.isEmpty && (fetch.bytes >= configuration.fetchMinBytes || now >= fetchDeadline.nanos || now >= deadline.nanos) {
                if delivery {
                    guard _beginDelivery(fetch.batches) else { throw Self._closedError }
                } else {
                    _advance(fetch.batches)
                }
                return Array(fetch.batches)
            }
            if fetch.batches.isEmpty, !fetch.targets.isEmpty, fetch.targets.allSatisfy({ $0.ended }) {
                // Only control records / aborted transactions were there: move past them.
                _advancePositions(fetch.targets)
            }
            if now >= deadline.nanos { return [] }
            let until = min(deadline, fetch.batches.isEmpty ? deadline : fetchDeadline, MonotonicDeadline(after: .milliseconds(max(1, configuration.fetchMaxWaitMs))))
            await _waitForData(fetch.targets, until: until)
            if Task.isCancelled { throw ClientError(.cancelled, "the poll was cancelled.") }
        }
    }

    /// The partitions a fetch reads, in `order` from `start` on (a poll starts one further than
    /// the last).
    struct _Fetchable {
        var parts = _Few<_FetchPart>()
        var start = 0
    }

    /// The partitions to fetch from: assigned, not paused, with a position.
    func _fetchable() -> _Fetchable {
        var f = _Fetchable()
        _state._withLock { st in _ = _fetchable(&st, into: &f, unlessUnpositioned: false) }
        return f
    }

    /// Under the state lock: fills `f` with the partitions to fetch from; with
    /// `unlessUnpositioned`, returns false instead when an assigned partition has no position.
    func _fetchable(_ st: inout _State, into f: inout _Fetchable, unlessUnpositioned: Bool) -> Bool {
        if st.order.count == 1, st.partitions.count == 1, st.partitions.keys[st.partitions.startIndex] == st.order[0] {
            // One partition: no hashing.
            let i = st.partitions.startIndex
            if !st.partitions.values[i]._addFetchPart(st.order[0], to: &f.parts) && unlessUnpositioned { return false }
        } else {
            for tp in st.order {
                guard let i = st.partitions.index(forKey: tp) else { continue }
                if !st.partitions.values[i]._addFetchPart(tp, to: &f.parts) && unlessUnpositioned { return false }
            }
        }
        f.start = st._nextStart()
        return true
    }

    /// The checks a poll makes before it fetches (closed; group join or rejoin needed;
    /// auto-commit due; partitions without a position), and when none of them has work to do,
    /// the partitions to fetch from, in `f`: one lock hold for a poll that finds everything
    /// settled. False when there is work; the caller then goes through the steps one by one.
    ///
    /// - Parameter now: `_monotonicNanos()` at the start of the poll.
    /// - Throws: `.consumerClosed`.
    func _settledFetchable(now: Int64, into f: inout _Fetchable) throws(ClientError) -> Bool {
        let autoCommit = configuration.groupId != nil && configuration.enableAutoCommit
        return try _state._withLock { (st) throws(ClientError) -> Bool in
            if st.closed || st.closing { throw Self._closedError }
            // Join, rejoin or the periodic topic check: `_groupMaintenanceNeeded`'s job.
            if _groupCheck(st.subscription, memberId: st.memberId, generation: st.generation, now: now) != .settled { return false }
            if autoCommit && st._autoCommitDue(now: now, intervalMs: configuration.autoCommitIntervalMs) { return false }
            return _fetchable(&st, into: &f, unlessUnpositioned: true)
        }
    }

    struct _Target: Sendable {
        var tp: TopicPartition
        var log: PartitionLog
        /// The offset data must pass to be worth a new fetch.
        var waitAbove: Int64
        var nextPosition: Int64
        var ended: Bool
        var epoch: UInt64
    }

    /// One fetch over the fetchable partitions (`_fetchable`), without waiting: at most
    /// `maxRecords` records (nil: `max.poll.records`), within `max.partition.fetch.bytes` and
    /// `fetch.max.bytes`.
    func _fetchOnce(_ fetchable: _Fetchable, maxRecords: Int? = nil) throws(ClientError) -> _Fetch {
        let parts = fetchable.parts, start = fetchable.start
        var fetch = _Fetch()
        guard !parts.isEmpty else { return fetch }
        var budget = maxRecords ?? configuration.maxPollRecords
        let committed = configuration.isolationLevel == .readCommitted
        for i in 0..<parts.count {
            let part = parts.count == 1 ? parts[0] : parts[(start &+ i) % parts.count]
            let tp = part.tp
            var position = part.position
            let log = part.log
            let limit = committed ? log.lastStableOffset : log.highWatermark
            var read: LogReadResult
            do {
                read = try log.read(from: position, maxBytes: max(1, min(configuration.maxPartitionFetchBytes, configuration.fetchMaxBytes - fetch.bytes)), maxOffset: limit)
            } catch where error.code == .offsetOutOfRange {
                position = try _reset(tp, reason: "position \(position) is out of range [\(log.logStartOffset), \(log.highWatermark)]")
                _state._withLock { $0.partitions[tp]?.position = position }
                do { read = try log.read(from: position, maxBytes: configuration.maxPartitionFetchBytes, maxOffset: limit) } catch { throw ClientError(error) }
            } catch {
                throw ClientError(error)
            }
            var target = _Target(tp: tp, log: log, waitAbove: max(position, read.highWatermark), nextPosition: position, ended: false, epoch: part.epoch)
            if read.batches.isEmpty || budget == 0 {
                fetch.targets.append(target)
                continue
            }
            // read_committed: the log's aborted-transaction index (Kafka's `.txnindex`) says which
            // transactional batches to skip: those of an aborted transaction's producer between
            // its first offset and its abort marker.
            let aborted = committed ? log.abortedTransactions(from: position, upTo: read.nextOffset) : []
            let batch = try _decoder._withLock { (d) throws(ClientError) -> ConsumerBatch in
                try d.decode(tp, batches: read.batches, from: position, maxRecords: budget, checkCRCs: configuration.checkCRCs,
                             highWatermark: read.highWatermark, lastStableOffset: read.lastStableOffset) { h in
                    h.isTransactional && !aborted.isEmpty && aborted.contains {
                        $0.producerId == h.producerId && $0.firstOffset <= h.baseOffset && h.lastOffset < $0.lastOffset
                    }
                }
            }
            target.nextPosition = batch.nextOffset
            target.ended = batch.isEmpty && batch.nextOffset > position
            fetch.targets.append(target)
            if !batch.isEmpty {
                fetch.batches.append(batch)
                fetch.bytes += read.byteCount
                budget -= batch.count
            }
        }
        return fetch
    }

    /// Moves positions past delivered batches.
    func _advance(_ batches: _Few<ConsumerBatch>) {
        _state._withLock { st in _advance(&st, batches) }
    }

    func _advance(_ st: inout _State, _ batches: _Few<ConsumerBatch>) {
        for b in batches {
            if let i = st.partitions._index(of: b.topicPartition) { st.partitions.values[i]._advance(past: b) }
        }
    }

    /// Starts a delivery of `batches` (see `_beginActivity`) and moves the positions past them;
    /// false when the consumer is closing.
    func _beginDelivery(_ batches: _Few<ConsumerBatch>) -> Bool {
        _state._withLock { st in
            if st.closing { return false }
            st.activity += 1
            _advance(&st, batches)
            return true
        }
    }

    func _advancePositions(_ targets: _Few<_Target>) {
        _state._withLock { st in
            for t in targets where t.ended && st.partitions[t.tp]?.epoch == t.epoch { st.partitions[t.tp]?.position = t.nextPosition }
        }
    }

    /// Waits (without spinning) until one of the partitions gets new data, or `until`.
    func _waitForData(_ targets: _Few<_Target>, until: MonotonicDeadline) async {
        let timeout = until.remaining
        guard timeout > .zero else { return }
        // One wait on every partition (with none, just the timeout), which the group
        // coordinator's rebalance hook also ends. With read_committed, an open transaction holds
        // the last stable offset back; its end is a marker append, which moves the high-water
        // mark these waits watch.
        await _threadWaiter.wait(for: targets.map { ($0.log, $0.waitAbove) }, timeout: timeout)
    }
}
