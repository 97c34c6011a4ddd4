import Foundation
import Synchronization
import WeirClientAPI

// The threads of a step: state they share, consumers polling, how producers and consumers are
// dealt to threads, and the helpers that start and join them (the producer threads' body is in
// LoadGenerator+Producers.swift).

/// State the threads of one step share.
final class _Shared: @unchecked Sendable {
    /// One acknowledgement counter per producer thread (filled before the threads start, then
    /// read only).
    var sinks: [_Counts] = []
    var ackedTotal: Int { sinks.reduce(0) { $0 + $1.current } }
    var failedTotal: Int { sinks.reduce(0) { $0 + $1.failures.load(ordering: .relaxed) } }
    let sent = Atomic<Int>(0)
    let sentBytes = Atomic<Int>(0)
    let consumed = Atomic<Int>(0)
    let lastSend = Atomic<UInt64>(0)
    let producersDone = Atomic<Bool>(false)
    let consumersPaused = Atomic<Bool>(false)
    let consumersStop = Atomic<Bool>(false)
    let stopProducers = Atomic<Bool>(false)
    let backlogBuiltAt = Atomic<UInt64>(0)
    let backlogDrainedAt = Atomic<UInt64>(0)
    /// Failed polls of the consumer threads.
    let consumeErrors = Atomic<Int>(0)
    /// Scheduled records the producers never sent (they fell behind past the grace).
    let unsent = Atomic<Int>(0)
    /// `restartConsumer`: the consumer thread to restart (-1 = none), and how long it stays away.
    let restartRequest = Atomic<Int>(-1)
    let restartDownNanos = Atomic<UInt64>(0)
}

/// The body of a consumer thread: `pollBlocking` on the consumers dealt to this thread, each
/// record's end-to-end latency from its `SendStamp` header (or, in a pattern scenario, its
/// value's `BenchStamp`) into `recorder`, the thread's recorder.
///
/// One consumer waits in its poll (up to 100 ms) and wakes when a record arrives. Several are
/// polled in rounds without waiting: each round polls every consumer that read a record in
/// the last second, and the quiet ones (a group member without partitions) every
/// `_quietPollNanos` (50 ms); after a round that read nothing the thread sleeps, 50 µs
/// doubling up to `_idleRoundMaxNanos` (1 ms), until a round reads again. That sleep is part of
/// the end-to-end latency of a record that arrives during it.
func _consumerLoop(_ slots: [(index: Int, slot: _ConsumerSlot)], _ recorder: LatencyRecorder, shared: _Shared, delayPerRecord: UInt64,
                   stampInValue: Bool, measureLatency: Bool = true, wallClock: Bool = false, progress: @escaping @Sendable (String) -> Void) {
    _setPreciseTimerSlack()
    defer { recorder.finish() }
    let waits = slots.count == 1
    let timeout: Duration = waits ? .milliseconds(100) : .zero
    // Per consumer: when it is due next (quiet ones) and when it last read a record.
    var due = [UInt64](repeating: 0, count: slots.count)
    var lastRead = [UInt64](repeating: monotonicNanos(), count: slots.count)
    var idle: UInt64 = 0
    while !shared.consumersStop.load(ordering: .relaxed) {
        let request = shared.restartRequest.load(ordering: .relaxed)
        if request >= 0, let s = slots.first(where: { $0.index == request }),
           shared.restartRequest.compareExchange(expected: request, desired: -1, ordering: .relaxed).exchanged {
            s.slot.beginRestart(downNanos: shared.restartDownNanos.load(ordering: .relaxed), progress: progress)
        }
        if shared.consumersPaused.load(ordering: .relaxed) {
            sleepNanos(1_000_000)
            continue
        }
        var polled = false
        var read = 0
        let now = monotonicNanos()
        for k in slots.indices where waits || due[k] <= now {
            guard let consumer = slots[k].slot.available else {
                // Away (restarting): look again in a millisecond.
                due[k] = now &+ 1_000_000
                continue
            }
            polled = true
            let n: Int
            do {
                n = try consumer.pollBlocking(timeout: timeout) { record in
                    guard let value = record.value else { return }
                    let now = monotonicNanos()
                    if !measureLatency {
                        // Consume-only: the records were sent before this run; count them only.
                        recorder.count(bytes: value.count, now: now)
                    } else if wallClock {
                        // Workers on several hosts: the record timestamp (the intended send time on
                        // the sender's wall clock, ms) against this host's wall clock.
                        if record.timestamp > 0 {
                            let nowWall = Int64(now) &+ BenchClock.wallMinusMonotonic
                            recorder.record(latencyNanos: UInt64(max(0, nowWall - record.timestamp * 1_000_000)), bytes: value.count, now: now)
                        }
                    } else if let stamp = record.stamp ?? (stampInValue ? BenchStamp.read(value) : nil) {
                        recorder.record(latencyNanos: now &- stamp, bytes: value.count, now: now)
                    }
                }
            } catch {
                shared.consumeErrors.add(1, ordering: .relaxed)
                sleepNanos(1_000_000)
                continue
            }
            if n > 0 {
                shared.consumed.add(n, ordering: .relaxed)
                if delayPerRecord > 0 { sleepNanos(delayPerRecord * UInt64(n)) }
            }
            if !waits {
                read += n
                if n > 0 { lastRead[k] = now }
                // Quiet for a second: polled every `_quietPollNanos` from now on.
                if now &- lastRead[k] >= 1_000_000_000 { due[k] = now &+ _quietPollNanos }
            }
        }
        if waits {
            // Its consumer is away (restarting): wait for it.
            if !polled { sleepNanos(1_000_000) }
        } else if read == 0 {
            idle = min(max(idle * 2, 50_000), _idleRoundMaxNanos)
            sleepNanos(idle)
        } else {
            idle = 0
        }
    }
}

/// A thread that drives several consumers sleeps at most this long after a round that read
/// nothing...
let _idleRoundMaxNanos: UInt64 = 1_000_000
/// ...and polls a consumer that read nothing for a second every this long.
let _quietPollNanos: UInt64 = 50_000_000

/// Deals `count` producers (or consumers) out to at most `threads` threads in turn: thread
/// `t` of `T` gets `t`, `t + T`, `t + 2T`, …
func _deal(_ count: Int, threads: Int) -> [[Int]] {
    let t = min(count, max(threads, 1))
    return (0..<t).map { Array(stride(from: $0, to: count, by: t)) }
}

/// A thread that can be awaited.
final class _Joinable: Sendable {
    let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func finished() {
        let waiters = state.withLock { s in
            s.done = true
            let w = s.waiters
            s.waiters = []
            return w
        }
        for c in waiters { c.resume() }
    }

    func join() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s in
                if s.done { return true }
                s.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}

/// Starts a named thread running `body`.
func _spawn(_ name: String, _ body: @escaping @Sendable () -> Void) -> _Joinable {
    let j = _Joinable()
    let t = Thread {
        body()
        j.finished()
    }
    t.name = name
    t.stackSize = 1 << 20
    t.start()
    return j
}
