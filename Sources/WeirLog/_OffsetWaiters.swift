import Synchronization

/// Tasks waiting for an offset (the high-water mark) to move past a value.
///
/// The appender stores the new offset (sequentially consistent) and then checks `_waiting`; a
/// waiter increments `_waiting` and then re-reads the offset. With both sides sequentially
/// consistent, at least one of them sees the other, so no wake-up is lost and the append path
/// pays a single atomic load when nobody waits.
final class _OffsetWaiters: Sendable {
    enum Outcome: Sendable { case reached, timedOut, cancelled, closed }

    private struct State: ~Copyable {
        var nextID: UInt64 = 0
        var waiters: [UInt64: (target: Int64, continuation: CheckedContinuation<Outcome, Never>)] = [:]
        var closed = false
        /// Waits that timed out or were cancelled before they registered.
        var expired: [UInt64: Outcome] = [:]
    }

    private let _state = Mutex(State())
    private let _waiting = Atomic<Int>(0)

    /// Called by the appender after publishing `current`.
    @inline(__always)
    func notify(_ current: Int64) {
        if _waiting.load(ordering: .sequentiallyConsistent) > 0 { _resume(current: current) }
    }

    private func _resume(current: Int64) {
        let ready = _state._withLock { s -> [CheckedContinuation<Outcome, Never>] in
            var out: [CheckedContinuation<Outcome, Never>] = []
            for (id, w) in s.waiters where w.target < current {
                out.append(w.continuation)
                s.waiters[id] = nil
            }
            _waiting.subtract(out.count, ordering: .sequentiallyConsistent)
            return out
        }
        for c in ready { c.resume(returning: .reached) }
    }

    private func _remove(_ id: UInt64, _ outcome: Outcome) {
        let c = _state._withLock { s -> CheckedContinuation<Outcome, Never>? in
            guard let w = s.waiters.removeValue(forKey: id) else {
                if s.expired.count < 4096 { s.expired[id] = outcome }
                return nil
            }
            _waiting.subtract(1, ordering: .sequentiallyConsistent)
            return w.continuation
        }
        c?.resume(returning: outcome)
    }

    /// Resumes every waiter with `.closed`; later waits return `.closed` at once.
    func close() {
        let all = _state._withLock { s -> [CheckedContinuation<Outcome, Never>] in
            s.closed = true
            let out = s.waiters.values.map(\.continuation)
            _waiting.subtract(out.count, ordering: .sequentiallyConsistent)
            s.waiters.removeAll()
            return out
        }
        for c in all { c.resume(returning: .closed) }
    }

    /// Waits until `current()` is greater than `target`, the timeout passes, the task is
    /// cancelled or the log closes.
    func wait(until target: Int64, timeout: Duration?, current: @Sendable () -> Int64) async -> Outcome {
        if current() > target { return .reached }
        let id = _state._withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
        let timer: Task<Void, Never>? = timeout.map { t in
            Task { [weak self] in
                try? await Task.sleep(for: t)
                if !Task.isCancelled { self?._remove(id, .timedOut) }
            }
        }
        defer {
            timer?.cancel()
            _state._withLock { _ = $0.expired.removeValue(forKey: id) }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
                let early: Outcome? = _state._withLock { s in
                    if s.closed { return .closed }
                    if Task.isCancelled { return .cancelled }
                    if let o = s.expired.removeValue(forKey: id) { return o }
                    s.waiters[id] = (target, c)
                    _waiting.add(1, ordering: .sequentiallyConsistent)
                    return nil
                }
                if let early { c.resume(returning: early); return }
                // Re-check after registering: an append may have published before we counted.
                if current() > target { _remove(id, .reached) }
            }
        } onCancel: {
            _remove(id, .cancelled)
        }
    }
}
