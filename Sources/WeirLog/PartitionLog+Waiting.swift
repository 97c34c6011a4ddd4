import Synchronization

/// Blocks a thread until new data arrives in any of several partitions: the thread-side
/// counterpart of `PartitionLog.waitForHighWatermark(above:timeout:)`, for consumers polled from
/// their own threads (load generators, thread-per-consumer applications).
///
/// The appender wakes the waiting thread directly (a futex-backed condition variable signalled
/// from `append`), so no task or executor lies between an append and the reader. Before it
/// parks, the waiter can spin briefly (`spinNanos`), which saves the wake-up when data is
/// microseconds away and costs at most that much CPU per wait. One waiter serves one thread at
/// a time; `wake()` may be called from any thread.
///
/// ```swift
/// let waiter = HighWatermarkWaiter()
/// let ready = waiter.wait(for: [(log, position)], timeoutNanos: 100_000_000)
/// ```
public final class HighWatermarkWaiter: Sendable {
    let _parker = _Parker()
    let _woken = Atomic<Bool>(false)
    /// The wake of the task waiting in `wait(for:timeout:)`, if any.
    let _asyncWake = Mutex<_SharedWake?>(nil)
    /// Nanoseconds to spin before parking (0 = park at once).
    public let spinNanos: UInt64

    public init(spinNanos: UInt64 = 0) {
        self.spinNanos = spinNanos
    }

    /// Blocks until one of the logs' high-water mark is above its offset, the timeout passes,
    /// `wake()` is called or one of the logs closes.
    ///
    /// - Parameter spinNanos: how long to spin on the high-water marks before parking (nil:
    ///   the waiter's `spinNanos`). A spin is bounded: after it, the thread parks.
    /// - Returns: true when data is there (some high-water mark moved past its offset).
    @discardableResult
    public func wait(for targets: [(log: PartitionLog, above: Int64)], timeoutNanos: UInt64, spinNanos: UInt64? = nil) -> Bool {
        _wait(targets, timeoutNanos: timeoutNanos, spinNanos: spinNanos)
    }

    /// `wait(for:timeoutNanos:spinNanos:)` on one log, without building an array of targets.
    @discardableResult
    public func wait(for log: PartitionLog, above offset: Int64, timeoutNanos: UInt64, spinNanos: UInt64? = nil) -> Bool {
        _wait(CollectionOfOne((log: log, above: offset)), timeoutNanos: timeoutNanos, spinNanos: spinNanos)
    }

    func _wait<Targets: Collection<(log: PartitionLog, above: Int64)>>(_ targets: Targets, timeoutNanos: UInt64, spinNanos: UInt64?) -> Bool {
        if Self._ready(targets) { return true }
        if _woken.exchange(false, ordering: .acquiring) { return false }
        let start = monotonicNanos()
        let deadline = start &+ timeoutNanos
        let spinNanos = spinNanos ?? self.spinNanos
        if spinNanos > 0 {
            let spinUntil = start &+ min(spinNanos, timeoutNanos)
            var i = 0
            while true {
                if Self._ready(targets) { return true }
                i &+= 1
                if i & 15 == 0 {
                    if monotonicNanos() >= spinUntil { break }
                    if _woken.load(ordering: .relaxed) { break }
                }
            }
        }
        // The registrations to undo: the first one inline (a wait on one log allocates nothing).
        var firstID: (PartitionLog, UInt64)? = nil
        var moreIDs: [(PartitionLog, UInt64)] = []
        defer {
            if let (log, id) = firstID { log._waiters.unregister(id) }
            for (log, id) in moreIDs { log._waiters.unregister(id) }
        }
        for t in targets {
            guard let id = t.log._waiters.register(_parker, target: t.above) else { return false }
            if firstID == nil { firstID = (t.log, id) } else { moreIDs.append((t.log, id)) }
        }
        while true {
            // Re-check after registering: an append may have published before it saw us.
            if Self._ready(targets) { return true }
            if _woken.exchange(false, ordering: .acquiring) { return false }
            if monotonicNanos() >= deadline { return false }
            _parker.park(untilNanos: deadline)
            if targets.contains(where: { $0.log._waiters.isClosed }) { return false }
        }
    }

    /// Makes the current (or the next) `wait` return at once, with what is there.
    public func wake() {
        _woken.store(true, ordering: .releasing)
        _parker.unpark()
        _asyncWake.withLock { $0 }?.fire()
    }

    /// The task-side wait: suspends (no thread blocked, no task per partition) until one of the
    /// logs' high-water mark is above its offset, `timeout` passes, `wake()` is called, the task
    /// is cancelled or a log closes.
    ///
    /// - Returns: true when data is there.
    @discardableResult
    public func wait(for targets: [(log: PartitionLog, above: Int64)], timeout: Duration) async -> Bool {
        if Self._ready(targets) { return true }
        if _woken.exchange(false, ordering: .acquiring) { return false }
        let wake = _SharedWake()
        _asyncWake.withLock { $0 = wake }
        // A wake() between the check above and the install is seen here.
        if _woken.load(ordering: .acquiring) { wake.fire() }
        let ready = await PartitionLog._waitForAny(targets, timeout: timeout, wake)
        _asyncWake.withLock { if $0 === wake { $0 = nil } }
        _woken.store(false, ordering: .releasing)
        return ready
    }

    @inline(__always)
    static func _ready<Targets: Sequence<(log: PartitionLog, above: Int64)>>(_ targets: Targets) -> Bool {
        for t in targets where t.log.highWatermark > t.above { return true }
        return false
    }
}

extension PartitionLog {
    /// Waits until one of the logs' high-water mark is above its offset, the timeout passes,
    /// the task is cancelled or a log closes: one continuation registered with every log and
    /// one entry in the shared timer, not a task per partition.
    ///
    /// - Returns: true when data is there.
    @discardableResult
    public static func waitForAnyHighWatermark(_ targets: [(log: PartitionLog, above: Int64)], timeout: Duration) async -> Bool {
        if HighWatermarkWaiter._ready(targets) { return true }
        return await _waitForAny(targets, timeout: timeout, _SharedWake())
    }

    static func _waitForAny(_ targets: [(log: PartitionLog, above: Int64)], timeout: Duration, _ wake: _SharedWake) async -> Bool {
        let ids = Mutex<[(PartitionLog, UInt64)]>([])
        let timer = Mutex<_WaitTimer.Token?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                wake.install(c)
                timer.withLock { $0 = _WaitTimer.shared.schedule(after: timeout) { wake.fire() } }
                for t in targets {
                    guard let id = t.log._waiters.register(wake, target: t.above) else { wake.fire(); break }
                    ids.withLock { $0.append((t.log, id)) }
                }
                // Re-check after registering: an append may have published before it saw us.
                if HighWatermarkWaiter._ready(targets) { wake.fire() }
            }
        } onCancel: {
            wake.fire()
        }
        if let t = timer.withLock({ $0 }) { _WaitTimer.shared.cancel(t) }
        for (log, id) in ids.withLock({ $0 }) { log._waiters.unregister(id) }
        return HighWatermarkWaiter._ready(targets)
    }
}
