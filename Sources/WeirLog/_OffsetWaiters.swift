#if canImport(Glibc)
import Glibc
#endif
import CWeirSupport
import Synchronization

/// Tasks and threads waiting for an offset (the high-water mark) to move past a value.
///
/// The appender stores the new offset (sequentially consistent) and then checks `_waiting`; a
/// waiter increments `_waiting` and then re-reads the offset. With both sides sequentially
/// consistent, at least one of them sees the other, so no wake-up is lost and the append path
/// pays a single atomic load when nobody waits.
///
/// A task waits on a continuation; its timeout is an entry in the one shared `_WaitTimer`, not a
/// task per wait. A thread waits on its own `_Parker` (a futex-backed condition variable), which
/// the appender signals directly: no task, no executor hop between the append and the reader.
final class _OffsetWaiters: Sendable {
    enum Outcome: Sendable { case reached, timedOut, cancelled, closed }

    private enum Waiter {
        case task(CheckedContinuation<Outcome, Never>, timer: _WaitTimer.Token?)
        case thread(_Parker)
        case shared(_SharedWake)
    }

    private struct Entry {
        var id: UInt64
        var target: Int64
        var waiter: Waiter
    }

    private struct State: ~Copyable {
        var nextID: UInt64 = 0
        var waiters: [Entry] = []
        var closed = false
        /// Task waits cancelled before they registered.
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
        let ready = _state._withLock { s -> [Entry] in
            var out: [Entry] = []
            s.waiters.removeAll { e in
                if e.target < current { out.append(e); return true }
                return false
            }
            _waiting.subtract(out.count, ordering: .sequentiallyConsistent)
            return out
        }
        for e in ready { Self._wake(e.waiter, .reached) }
    }

    private static func _wake(_ w: Waiter, _ outcome: Outcome) {
        switch w {
        case .task(let c, let timer):
            if let timer { _WaitTimer.shared.cancel(timer) }
            c.resume(returning: outcome)
        case .thread(let p):
            p.unpark()
        case .shared(let w):
            w.fire()
        }
    }

    private func _remove(_ id: UInt64, _ outcome: Outcome) {
        let e = _state._withLock { s -> Entry? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else {
                if outcome == .cancelled, s.expired.count < 4096 { s.expired[id] = outcome }
                return nil
            }
            _waiting.subtract(1, ordering: .sequentiallyConsistent)
            return s.waiters.remove(at: i)
        }
        if let e { Self._wake(e.waiter, outcome) }
    }

    /// Resumes every waiter with `.closed` (threads are unparked and see `isClosed`); later
    /// waits return `.closed` at once.
    func close() {
        let all = _state._withLock { s -> [Entry] in
            s.closed = true
            let out = s.waiters
            _waiting.subtract(out.count, ordering: .sequentiallyConsistent)
            s.waiters.removeAll()
            return out
        }
        for e in all { Self._wake(e.waiter, .closed) }
    }

    var isClosed: Bool { _state._withLock { $0.closed } }

    /// Waits until `current()` is greater than `target`, the timeout passes, the task is
    /// cancelled or the log closes.
    func wait(until target: Int64, timeout: Duration?, current: @Sendable () -> Int64) async -> Outcome {
        if current() > target { return .reached }
        let id = _state._withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
        defer {
            if Task.isCancelled { _state._withLock { _ = $0.expired.removeValue(forKey: id) } }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
                let timer = timeout.map { t in
                    _WaitTimer.shared.schedule(after: t) { [weak self] in self?._remove(id, .timedOut) }
                }
                let early: Outcome? = _state._withLock { s in
                    if s.closed { return .closed }
                    if Task.isCancelled { return .cancelled }
                    if let o = s.expired.removeValue(forKey: id) { return o }
                    s.waiters.append(Entry(id: id, target: target, waiter: .task(c, timer: timer)))
                    _waiting.add(1, ordering: .sequentiallyConsistent)
                    return nil
                }
                if let early {
                    if let timer { _WaitTimer.shared.cancel(timer) }
                    c.resume(returning: early)
                    return
                }
                // Re-check after registering: an append may have published before we counted.
                if current() > target { _remove(id, .reached) }
            }
        } onCancel: {
            _remove(id, .cancelled)
        }
    }

    /// Registers a parked thread's interest in `target`; the appender unparks it once the offset
    /// passes `target`. Returns nil when closed. The caller re-checks the offset after this.
    func register(_ parker: _Parker, target: Int64) -> UInt64? {
        _register(.thread(parker), target: target)
    }

    /// Registers a wait shared by several logs: the first of them to pass its target fires it.
    func register(_ wake: _SharedWake, target: Int64) -> UInt64? {
        _register(.shared(wake), target: target)
    }

    private func _register(_ waiter: Waiter, target: Int64) -> UInt64? {
        _state._withLock { s -> UInt64? in
            if s.closed { return nil }
            s.nextID += 1
            s.waiters.append(Entry(id: s.nextID, target: target, waiter: waiter))
            _waiting.add(1, ordering: .sequentiallyConsistent)
            return s.nextID
        }
    }

    /// Removes a thread registration that was not woken (no-op when it was).
    func unregister(_ id: UInt64) {
        _state._withLock { s in
            if let i = s.waiters.firstIndex(where: { $0.id == id }) {
                s.waiters.remove(at: i)
                _waiting.subtract(1, ordering: .sequentiallyConsistent)
            }
        }
    }
}

/// One task waiting on several logs at once: registered with each, resumed by the first to
/// fire (an append past its target, the shared timer, cancellation or a close).
final class _SharedWake: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, Never>?
        var fired = false
    }
    private let _state = Mutex(State())

    /// Resumes the waiting task (once; later calls do nothing).
    func fire() {
        let c = _state._withLock { s -> CheckedContinuation<Void, Never>? in
            if s.fired { return nil }
            s.fired = true
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume()
    }

    /// Installs the task's continuation; resumes it at once when already fired.
    func install(_ c: CheckedContinuation<Void, Never>) {
        let now = _state._withLock { s -> Bool in
            if s.fired { return true }
            s.continuation = c
            return false
        }
        if now { c.resume() }
    }
}

/// Parks one thread until another unparks it or a deadline passes: one futex word with a
/// sticky "notified" state (CWeirSupport's `weir_parker_park` / `weir_parker_unpark`), so an
/// `unpark` that comes before `park` is not lost. An unpark costs one atomic exchange, plus a
/// futex wake only when the thread is parked.
final class _Parker: @unchecked Sendable {
    /// The futex word; only through CWeirSupport's atomics.
    private let _state: UnsafeMutablePointer<UInt32>

    init() {
        _state = .allocate(capacity: 1)
        _state.initialize(to: 0)
    }

    deinit {
        _state.deallocate()
    }

    /// Wakes the parked thread (or makes its next `park` return at once).
    func unpark() {
        weir_parker_unpark(_state)
    }

    /// Blocks until unparked or until `deadline` (`monotonicNanos()`); true when unparked.
    /// Consumes the signal.
    @discardableResult
    func park(untilNanos deadline: UInt64) -> Bool {
        while true {
            if weir_parker_park(_state, deadline) != 0 { return true }
            if monotonicNanos() >= deadline { return false }
        }
    }
}

/// One timer thread for every timed wait of the process: a deadline list served by a single
/// parked thread, so that a timed wait costs an array insert instead of a task and a sleep.
final class _WaitTimer: Sendable {
    struct Token: Sendable, Equatable { let id: UInt64 }

    private struct Entry {
        var id: UInt64
        var deadline: UInt64
        var action: @Sendable () -> Void
    }

    private struct State: ~Copyable {
        var nextID: UInt64 = 0
        /// Sorted by deadline, latest first (the next to fire is last).
        var entries: [Entry] = []
        var running = false
    }

    static let shared = _WaitTimer()

    private let _state = Mutex(State())
    private let _parker = _Parker()

    /// Runs `action` on the timer thread after `delay`, unless cancelled first.
    func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> Token {
        let (s, a) = delay.components
        let nanos = s > Int64(Int32.max) ? UInt64(Int64.max) : UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, a / 1_000_000_000))
        let deadline = monotonicNanos() &+ nanos
        let (token, wake, start) = _state._withLock { st -> (Token, Bool, Bool) in
            st.nextID += 1
            let e = Entry(id: st.nextID, deadline: deadline, action: action)
            // Insert keeping "latest first"; most waits share one timeout, so scan from the end.
            var i = st.entries.count
            while i > 0 && st.entries[i - 1].deadline < deadline { i -= 1 }
            st.entries.insert(e, at: i)
            let start = !st.running
            st.running = true
            return (Token(id: e.id), i == st.entries.count - 1, start)
        }
        if start {
            _startDetachedThread { [self] in _loop() }
        } else if wake {
            _parker.unpark()
        }
        return token
    }

    /// Cancels a scheduled action (no-op when it already ran).
    func cancel(_ token: Token) {
        _state._withLock { st in
            if let i = st.entries.lastIndex(where: { $0.id == token.id }) { st.entries.remove(at: i) }
        }
    }

    private func _loop() {
        while true {
            let now = monotonicNanos()
            let (due, next) = _state._withLock { st -> ([Entry], UInt64) in
                var due: [Entry] = []
                while let last = st.entries.last, last.deadline <= now { due.append(st.entries.removeLast()) }
                return (due, st.entries.last?.deadline ?? now &+ 1_000_000_000)
            }
            for e in due { e.action() }
            if due.isEmpty { _parker.park(untilNanos: next) }
        }
    }
}

/// Starts a detached pthread running `body` (the timer thread lives for the process).
@discardableResult
func _startDetachedThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    let rc = pthread_create(&thread, &attr, { raw in
        let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue()
        (box as! Box).body()
        return nil
    }, box)
    pthread_attr_destroy(&attr)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return thread
}
