import Dispatch
import Synchronization

/// Flushing for one partition: a serial queue that `fdatasync`s everything appended so far and
/// resumes every `acks=all` appender whose data that covered (group commit).
final class _Durability: Sendable {
    struct State: ~Copyable {
        var durableOffset: Int64
        var scheduled = false
        /// A flush was requested while one was running: run once more.
        var requestedAgain = false
        var waiters: [(target: Int64, continuation: CheckedContinuation<LogError?, Never>)] = []
        var lastFlushMillis: Int64
        var flushCount = 0
    }

    let queue: DispatchQueue
    let state: Mutex<State>

    init(label: String, durableOffset: Int64) {
        queue = DispatchQueue(label: label)
        state = Mutex(State(durableOffset: durableOffset, lastFlushMillis: _wallMillis()))
    }

    var durableOffset: Int64 { state._withLock { $0.durableOffset } }
    var lastFlushMillis: Int64 { state._withLock { $0.lastFlushMillis } }
    /// How many flushes (fdatasync rounds) ran; tests use it to see group commit at work.
    var flushCount: Int { state._withLock { $0.flushCount } }

    /// Starts a flush on the queue unless one is already pending.
    func schedule(_ log: PartitionLog) {
        let start = state._withLock { s -> Bool in
            if s.scheduled { s.requestedAgain = true; return false }
            s.scheduled = true
            return true
        }
        if start { queue.async { self._run(log) } }
    }

    /// Waits until every offset below `offset` is on disk.
    func wait(_ log: PartitionLog, until offset: Int64) async throws(LogError) {
        let error = await withCheckedContinuation { (c: CheckedContinuation<LogError?, Never>) in
            let (done, start) = state._withLock { s -> (Bool, Bool) in
                if s.durableOffset >= offset { return (true, false) }
                s.waiters.append((offset, c))
                if s.scheduled { return (false, false) }
                s.scheduled = true
                return (false, true)
            }
            if done { c.resume(returning: nil) }
            if start { queue.async { self._run(log) } }
        }
        if let error { throw error }
    }

    /// The flush loop: flush up to the current log-end offset, resume the covered waiters, and go
    /// round again while appenders that arrived during the flush are still waiting.
    private func _run(_ log: PartitionLog) {
        while true {
            var failure: LogError?
            var target: Int64 = 0
            state._withLock { $0.requestedAgain = false }
            do { target = try log._flushAll() } catch { failure = error }
            let (resumed, again) = state._withLock { s -> ([(CheckedContinuation<LogError?, Never>, LogError?)], Bool) in
                s.flushCount += 1
                s.lastFlushMillis = _wallMillis()
                var out: [(CheckedContinuation<LogError?, Never>, LogError?)] = []
                if let failure {
                    out = s.waiters.map { ($0.continuation, failure) }
                    s.waiters.removeAll()
                } else {
                    s.durableOffset = max(s.durableOffset, target)
                    let durable = s.durableOffset
                    s.waiters.removeAll { w in
                        if w.target <= durable { out.append((w.continuation, nil)); return true }
                        return false
                    }
                }
                let again = failure == nil && (!s.waiters.isEmpty || s.requestedAgain)
                s.requestedAgain = false
                if !again { s.scheduled = false }
                return (out, again)
            }
            for (c, e) in resumed { c.resume(returning: e) }
            if !again { return }
        }
    }

    /// Flushes on the caller's thread (close and explicit flushes), serialised with the queue.
    func flushNow(_ log: PartitionLog) throws(LogError) {
        let result: Result<Int64, LogError> = queue.sync {
            do throws(LogError) { return .success(try log._flushAll()) } catch { return .failure(error) }
        }
        let target = try result.get()
        let resumed = state._withLock { s -> [CheckedContinuation<LogError?, Never>] in
            s.flushCount += 1
            s.lastFlushMillis = _wallMillis()
            s.durableOffset = max(s.durableOffset, target)
            let durable = s.durableOffset
            var out: [CheckedContinuation<LogError?, Never>] = []
            s.waiters.removeAll { w in
                if w.target <= durable { out.append(w.continuation); return true }
                return false
            }
            return out
        }
        for c in resumed { c.resume(returning: nil) }
    }
}

extension PartitionLog {
    /// Waits until every record below `offset` is on disk (`acks=all`). Concurrent waiters share
    /// one `fdatasync`.
    public func waitUntilDurable(_ offset: Int64) async throws(LogError) {
        try await _durability.wait(self, until: offset)
    }

    /// Writes everything appended so far to disk and advances the recovery point.
    public func flush() async throws(LogError) {
        try await waitUntilDurable(highWatermark)
    }

    /// Trims rolled segments, `fdatasync`s every segment up to its current end, fsyncs the directory
    /// for new segments, and returns the offset everything below which is now on disk.
    func _flushAll() throws(LogError) -> Int64 {
        let target = highWatermark
        let segments = _segments._withLock { $0 }
        var syncDirectory = false
        for s in segments where !s._deleted.load(ordering: .acquiring) {
            // A rolled segment is trimmed here, before the recovery point can pass it: recovery
            // only scans from the recovery point, so a segment below it must end at its data.
            try s.trimFiles()
            try s.flush(upTo: s.end, syncIndexes: !s.isActive)
            if !s._dirSynced.load(ordering: .acquiring) { syncDirectory = true }
        }
        if syncDirectory {
            try _Sys.syncDirectory(directory)
            for s in segments { s._dirSynced.store(true, ordering: .releasing) }
        }
        var current = _recoveryPoint.load(ordering: .relaxed)
        while current < target {
            let (exchanged, original) = _recoveryPoint.compareExchange(expected: current, desired: target, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        return target
    }

    /// Flushes when `flush.ms` has passed since the last flush and there is unflushed data
    /// (called by the directory's maintenance tick).
    func _maybeTimedFlush(now: Int64) {
        let flushMs = config.flushMs
        guard flushMs != .max, recoveryPoint < highWatermark else { return }
        if now - _durability.lastFlushMillis >= flushMs { _durability.schedule(self) }
    }
}
