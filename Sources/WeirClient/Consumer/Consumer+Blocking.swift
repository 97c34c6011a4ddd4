import Dispatch
import Synchronization
import WeirLog

extension Consumer {
    /// Polls from the calling thread, blocking it, and hands each partition's records to `body`
    /// as a zero-copy `ConsumerBatch` (KafkaJS's `eachBatch`, without a task).
    ///
    /// For consumers driven by their own threads (load generators, thread-per-consumer
    /// applications): waiting for data parks the thread on a `HighWatermarkWaiter` that the
    /// log's appender signals directly, so a record is in `body` one thread wake-up after its
    /// append, with no task or executor hop. Fetch settings (`fetch.min.bytes`,
    /// `fetch.max.wait.ms`, `max.partition.fetch.bytes`, `fetch.max.bytes`, `max.poll.records`,
    /// `isolation.level`) apply as for `poll`. Group membership (join, sync, rebalance
    /// listeners) runs as for `poll`; while it does, the thread blocks. The coordinator wakes a
    /// waiting poll when the group starts a rebalance.
    ///
    /// The records handed to `body` count as processed when it returns (their offsets are
    /// what the next commit stores). Do not call this from an async task: it blocks its thread.
    ///
    /// - Parameter idleSpin: how long the thread spins on the high-water marks before it parks
    ///   when no data is there (not a Kafka property; default zero: park at once). A short spin
    ///   (tens of µs) saves the futex wake-up, and with it most of the end-to-end latency, when
    ///   records arrive at high rates; it is bounded, so an idle consumer still parks and costs
    ///   at most `idleSpin` of CPU per wait.
    /// - Returns: the number of records handed to `body` (0 after `timeout` without any, or
    ///   when `wakeup()` interrupted the wait).
    /// - Throws: `.consumerClosed`, and the errors of `poll`.
    @discardableResult
    public func pollBlocking(timeout: Duration, idleSpin: Duration = .zero, _ body: (ConsumerBatch) -> Void) throws(ClientError) -> Int {
        let spinNanos = UInt64(Self._nanos(idleSpin))
        let start = _monotonicNanos()
        let deadline = start + Self._nanos(timeout)
        let fetchDeadline = start + configuration.fetchMaxWaitMs * 1_000_000
        // One clock read per step: the poll's start (lastPoll, auto-commit, topic check), and
        // after a fetch only when the answer depends on the time.
        var now = start
        while true {
            // Usually one lock hold for the checks and the partitions to fetch from; otherwise
            // the steps one by one.
            var fetchable = _Fetchable()
            let settled = try _settledFetchable(now: now, into: &fetchable)
            _lastPoll.store(now, ordering: .relaxed)
            if !settled {
                if _groupMaintenanceNeeded(now: now) { try _blockingOn { () async throws(ClientError) in try await self._maintainGroup() } }
                try _maybeAutoCommit()
                try _resolvePositions()
                fetchable = _fetchable()
            }
            let fetch = try _fetchOnce(fetchable)
            if !fetch.batches.isEmpty && fetch.bytes < configuration.fetchMinBytes { now = _monotonicNanos() }
            if !fetch.batches.isEmpty && (fetch.bytes >= configuration.fetchMinBytes || now >= fetchDeadline || now >= deadline) {
                // A delivery: close() waits until `body` is done with these batches.
                guard _beginDelivery(fetch.batches) else { throw Self._closedError }
                var n = 0
                for b in fetch.batches {
                    body(b)
                    n += b.count
                }
                _endDelivery(fetch.batches)
                return n
            }
            if fetch.batches.isEmpty {
                now = _monotonicNanos()
                if !fetch.targets.isEmpty, fetch.targets.allSatisfy({ $0.ended }) { _advancePositions(fetch.targets) }
            }
            if now >= deadline { return 0 }
            let until = min(deadline, fetch.batches.isEmpty ? deadline : fetchDeadline, now + max(1, configuration.fetchMaxWaitMs) * 1_000_000)
            let timeoutNanos = UInt64(max(0, until - now))
            if fetch.targets.count == 1 {
                let t = fetch.targets[0]
                _threadWaiter.wait(for: t.log, above: t.waitAbove, timeoutNanos: timeoutNanos, spinNanos: spinNanos)
            } else {
                _threadWaiter.wait(for: fetch.targets.map { ($0.log, $0.waitAbove) }, timeoutNanos: timeoutNanos, spinNanos: spinNanos)
            }
            if _wakeupRequested.exchange(false, ordering: .acquiringAndReleasing) { return 0 }
            now = _monotonicNanos()
        }
    }

    /// Makes a `pollBlocking` that is waiting for data return now with no records (or the next
    /// one, if none is waiting): Kafka's `wakeup()`, for shutting a polling thread down.
    public func wakeup() {
        _wakeupRequested.store(true, ordering: .releasing)
        _threadWaiter.wake()
    }

    static func _nanos(_ d: Duration) -> Int64 {
        let (s, a) = d.components
        if s >= Int64.max / 1_000_000_000 { return Int64.max / 2 }
        return max(0, s * 1_000_000_000 + a / 1_000_000_000)
    }

    /// Whether the next poll must join or rejoin the group (cheap: atomics, one lock, and the
    /// topic list at most every 100 ms).
    func _groupMaintenanceNeeded(now: Int64 = _monotonicNanos()) -> Bool {
        let (sub, member, joined, generation) = _state._withLock { ($0.subscription, $0.memberId, $0.joinedTopics, $0.generation) }
        switch _groupCheck(sub, memberId: member, generation: generation, now: now) {
        case .settled: return false
        case .rejoin: return true
        case .topicsCheckDue:
            _topicsCheckedNanos.store(now, ordering: .relaxed)
            return _subscribedTopics() != joined
        }
    }

    enum _GroupCheck { case settled, rejoin, topicsCheckDue }

    /// The group checks a poll makes without I/O: whether a subscribed member must join or
    /// rejoin, or else whether the periodic comparison of subscribed and joined topics is due.
    func _groupCheck(_ sub: _Subscription, memberId: String?, generation: Int32, now: Int64) -> _GroupCheck {
        guard configuration.groupId != nil else { return .settled }
        switch sub {
        case .topics, .pattern: break
        default: return .settled
        }
        if memberId == nil || _memberLost.load(ordering: .acquiring) || _rejoinRequested(generation) { return .rejoin }
        return now - _topicsCheckedNanos.load(ordering: .relaxed) >= Self._topicsCheckIntervalNanos ? .topicsCheckDue : .settled
    }

    /// Runs async group work from a thread and blocks the thread until it finishes.
    func _blockingOn(_ op: @escaping @Sendable () async throws(ClientError) -> Void) throws(ClientError) {
        let result = Mutex<ClientError??>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(ClientError) {
                try await op()
                result.withLock { $0 = .some(nil) }
            } catch {
                result.withLock { $0 = .some(error) }
            }
            done.signal()
        }
        done.wait()
        if let e = result.withLock({ $0 }) ?? nil { throw e }
    }

    /// Ends a delivery started by `_beginDelivery`: marks the records of `batches` processed
    /// (`nextOffset` is committed next), unless the partition was revoked or sought meanwhile,
    /// then ends the activity (as `_endActivity`).
    func _endDelivery(_ batches: _Few<ConsumerBatch>) {
        let waiters = _state._withLock { st -> [CheckedContinuation<Void, Never>] in
            for b in batches {
                if let i = st.partitions._index(of: b.topicPartition) { st.partitions.values[i]._markProcessed(b) }
            }
            return st._endActivity()
        }
        for w in waiters { w.resume() }
    }
}
