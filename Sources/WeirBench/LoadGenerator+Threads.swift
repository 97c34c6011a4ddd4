import Foundation
import Synchronization
import WeirClientAPI
import WeirRandom

// The threads of a step: producers on their open-loop schedule, consumers polling, and the
// helpers that start and join them.

/// State the threads of one step share.
final class _Shared: @unchecked Sendable {
    /// One acknowledgement counter per producer (filled before the threads start, then read only).
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

struct _ProducerPlan: Sendable {
    var index: Int
    var count: Int
    var start: UInt64
    var end: UInt64
    /// Records per second for this thread; 0 = max rate.
    var rate: Double
    var burst: Int
    /// Records for this thread; 0 = until `end`.
    var records: Int
    /// A paced producer still sending when the clock passes this stops.
    var overrun: UInt64 = .max
}

/// The body of a producer thread (kept out of main.swift: a closure there would be
/// main-actor isolated).
func _producerLoop(_ producer: _BenchProducer, _ delay: LatencyRecorder, plan: _ProducerPlan, pool: PayloadPool, keys: KeySource, shared: _Shared) {
    _setPreciseTimerSlack()
    let maxRate = plan.rate <= 0
    let period = maxRate ? 0 : 1e9 / plan.rate
    let phase = plan.start &+ UInt64(period * Double(plan.index) / Double(max(plan.count, 1)))
    var random = PayloadGenerator(seed: 0x6B65_7973 &+ UInt64(plan.index))
    var i = 0
    var pendingSent = 0
    var pendingBytes = 0
    var template = 0
    let templates = pool.count
    if maxRate {
        // Start together with the paced producers.
        while monotonicNanos() < plan.start { sleepNanos(100_000) }
    }
    // A thread that starts late (producers are made after the schedule's start) gets its
    // whole window and grace from its own start before it counts as behind.
    let late = monotonicNanos() &- min(monotonicNanos(), plan.start)
    let overrun = plan.overrun == .max ? plan.overrun : plan.overrun &+ late
    var now = monotonicNanos()
    while true {
        if plan.records > 0 && i >= plan.records { break }
        let intended: UInt64
        if maxRate {
            // Unthrottled: the clock (≈20–60 ns a read) is read once every 8 records; the
            // records in between share that reading as intended and send time.
            if i & 7 == 0 {
                now = monotonicNanos()
                if now >= plan.end || shared.stopProducers.load(ordering: .relaxed) { break }
            }
            intended = now
        } else {
            let slot = (i / plan.burst) * plan.burst
            intended = phase &+ UInt64(Double(slot) * period)
            if intended >= plan.end || shared.stopProducers.load(ordering: .relaxed) { break }
            now = monotonicNanos()
            if now >= overrun {
                // Behind schedule past the grace: count the scheduled records never sent.
                let groups = (Double(plan.end &- phase) / (Double(plan.burst) * period)).rounded(.up)
                shared.unsent.add(max(0, Int(groups) * plan.burst - i), ordering: .relaxed)
                break
            }
            if now < intended {
                // A wait longer than `_spinBelowNanos` sleeps until `_wakeEarlyNanos` before it
                // is due (timer slack is 1 µs) and spins the rest; a shorter one (100 k rec/s
                // and up) spins: a sleep overshoots by several µs, a late wake-up by far more
                // on a busy machine, and oversleeping shows as publish delay and latency.
                let ahead = intended - now
                if ahead > _spinBelowNanos { sleepNanos(ahead - _wakeEarlyNanos) }
                now = monotonicNanos()
                while now < intended { now = monotonicNanos() }
            }
        }
        let keyIndex = keys.index(sequence: i, random: random.next())
        let bytes: Int = pool.withTemplate(template) { value in
            if let k = keyIndex {
                keys.keys[k].withUnsafeBytes { key in producer.send(key: key, value: value, intendedNanos: intended) }
                return value.count + keys.keys[k].count
            }
            producer.send(key: nil, value: value, intendedNanos: intended)
            return value.count
        }
        if maxRate { delay.count(bytes: bytes, now: now) } else { delay.record(latencyNanos: now &- intended, bytes: bytes, now: now) }
        i += 1
        template += 1
        if template == templates { template = 0 }
        pendingSent += 1
        pendingBytes += bytes
        if pendingSent == 256 {
            shared.sent.add(pendingSent, ordering: .relaxed)
            shared.sentBytes.add(pendingBytes, ordering: .relaxed)
            pendingSent = 0
            pendingBytes = 0
        }
    }
    shared.sent.add(pendingSent, ordering: .relaxed)
    shared.sentBytes.add(pendingBytes, ordering: .relaxed)
    let last = monotonicNanos()
    if last > shared.lastSend.load(ordering: .relaxed) { shared.lastSend.store(last, ordering: .relaxed) }
    delay.finish()
}

/// A paced producer spins through waits shorter than this instead of sleeping.
let _spinBelowNanos: UInt64 = 50_000
/// A paced producer's sleep ends this long before the send is due; it spins the rest.
let _wakeEarlyNanos: UInt64 = 20_000

/// The body of a consumer thread: `pollBlocking` on the consumer, each record's end-to-end
/// latency from its `SendStamp` header (or, in a pattern scenario, its value's `BenchStamp`).
func _consumerLoop(_ slot: _ConsumerSlot, index: Int, _ recorder: LatencyRecorder, shared: _Shared, delayPerRecord: UInt64, stampInValue: Bool,
                   measureLatency: Bool = true, wallClock: Bool = false, progress: @Sendable (String) -> Void) {
    _setPreciseTimerSlack()
    var consumer = slot.current
    while !shared.consumersStop.load(ordering: .relaxed) {
        if shared.restartRequest.load(ordering: .relaxed) == index,
           shared.restartRequest.compareExchange(expected: index, desired: -1, ordering: .relaxed).exchanged {
            consumer = slot.restart(downNanos: shared.restartDownNanos.load(ordering: .relaxed), progress: progress)
        }
        if shared.consumersPaused.load(ordering: .relaxed) {
            sleepNanos(1_000_000)
            continue
        }
        let n: Int
        do {
            n = try consumer.pollBlocking(timeout: .milliseconds(100)) { record in
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
    }
    recorder.finish()
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
