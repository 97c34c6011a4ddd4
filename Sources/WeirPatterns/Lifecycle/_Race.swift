import Synchronization

/// The first of an operation's result and a deadline, awaited once. The operation runs in its
/// own task, so a deadline can end the wait even when the operation ignores cancellation (it is
/// cancelled and abandoned).
final class _Race<T: Sendable>: Sendable {
    enum Outcome: Sendable {
        case finished(Result<T, any Error>)
        case timedOut
    }

    struct _State {
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?
        var timer: Task<Void, Never>?
    }

    let task: Task<T, any Error>
    let _state = Mutex(_State())

    init(_ operation: @escaping @Sendable () async throws -> T) {
        task = Task { try await operation() }
        let t = task
        Task { [self] in self._finish(.finished(await t.result)) }
    }

    /// Starts the deadline (once): after `timeout` the wait ends with `.timedOut` and the
    /// operation is cancelled.
    func startDeadline(_ timeout: Duration) {
        _state.withLock { s in
            guard s.outcome == nil, s.timer == nil else { return }
            s.timer = Task { [self] in
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self._finish(.timedOut)
                self.task.cancel()
            }
        }
    }

    func cancel() { task.cancel() }

    func _finish(_ outcome: Outcome) {
        let (waiter, timer) = _state.withLock { s -> (CheckedContinuation<Outcome, Never>?, Task<Void, Never>?) in
            guard s.outcome == nil else { return (nil, nil) }
            s.outcome = outcome
            defer { s.waiter = nil }
            return (s.waiter, s.timer)
        }
        timer?.cancel()
        waiter?.resume(returning: outcome)
    }

    var outcome: Outcome {
        get async {
            await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
                let ready = _state.withLock { s -> Outcome? in
                    if let o = s.outcome { return o }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        }
    }
}
