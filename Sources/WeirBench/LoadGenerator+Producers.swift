import Foundation
import Synchronization
import WeirClientAPI
import WeirRandom

// The producer side of a step's threads: each producer's open-loop schedule, and the thread
// body that drives one or several producers on their schedules.

struct _ProducerPlan: Sendable {
    var index: Int
    var count: Int
    var start: UInt64
    var end: UInt64
    /// Records per second for this producer; 0 = max rate.
    var rate: Double
    var burst: Int
    /// Records for this producer; 0 = until `end`.
    var records: Int
    /// A paced producer still sending when the clock passes this stops.
    var overrun: UInt64 = .max
}

/// One producer's place on its own schedule, kept by the thread that drives it: producer `j`
/// of `P` sends record `i` at `start + (j / P + ⌊i / burst⌋ · burst) · P / rate`, whichever
/// thread it runs on and however many producers that thread drives.
struct _ProducerCursor: Sendable {
    let producer: _BenchProducer
    let plan: _ProducerPlan
    /// Nanoseconds between the producer's slots (0 at max rate).
    let period: Double
    /// The intended send time of its first record.
    let phase: UInt64
    var random: PayloadGenerator
    /// Records sent so far.
    var sent = 0
    var template = 0
    /// The intended send time of the next record (paced).
    var next: UInt64
    /// False once it sent its `records`.
    var live = true

    init(_ producer: _BenchProducer, plan: _ProducerPlan) {
        self.producer = producer
        self.plan = plan
        period = plan.rate <= 0 ? 0 : 1e9 / plan.rate
        phase = plan.start &+ UInt64(period * Double(plan.index) / Double(max(plan.count, 1)))
        random = PayloadGenerator(seed: 0x6B65_7973 &+ UInt64(plan.index))
        next = phase
    }

    /// Counts one sent record and moves to the next record's slot.
    @inline(__always)
    mutating func advance(templates: Int) {
        sent += 1
        template += 1
        if template == templates { template = 0 }
        if period > 0 { next = phase &+ UInt64(Double((sent / plan.burst) * plan.burst) * period) }
        if plan.records > 0 && sent >= plan.records { live = false }
    }

    /// The records scheduled before the window's end that it did not send.
    var unsent: Int {
        let groups = (Double(plan.end &- phase) / (Double(plan.burst) * period)).rounded(.up)
        return max(0, Int(groups) * plan.burst - sent)
    }
}

/// The body of a producer thread (kept out of main.swift: a closure there would be
/// main-actor isolated): drives `cursors`, the producers dealt to this thread, each on its own
/// schedule, and records their publish delay into `delay`, the thread's recorder.
///
/// Paced: the thread sends the record whose intended time is earliest over its producers,
/// waiting for that time, so several producers on one thread keep their schedules as if each
/// had a thread (a thread that falls behind charges the delay to every record it sends late).
/// Max rate: the producers take turns, one record each.
func _producerLoop(_ cursors: [_ProducerCursor], _ delay: LatencyRecorder, pool: PayloadPool, keys: KeySource, shared: _Shared) {
    _setPreciseTimerSlack()
    var cs = cursors
    defer { delay.finish() }
    guard let first = cs.first else { return }
    let maxRate = first.plan.rate <= 0
    let end = first.plan.end
    let templates = pool.count
    var live = cs.reduce(0) { $0 + ($1.live ? 1 : 0) }
    var pendingSent = 0
    var pendingBytes = 0
    if maxRate {
        // Start together with the paced producers.
        while monotonicNanos() < first.plan.start { sleepNanos(100_000) }
    }
    // A thread that starts late (producers are made after the schedule's start) gets its
    // whole window and grace from its own start before it counts as behind.
    let late = monotonicNanos() &- min(monotonicNanos(), first.plan.start)
    let overrun = first.plan.overrun == .max ? first.plan.overrun : first.plan.overrun &+ late
    var now = monotonicNanos()
    var sends = 0
    var c = 0
    while live > 0 {
        let intended: UInt64
        if maxRate {
            // Unthrottled: the clock (≈20–60 ns a read) is read once every 8 records; the
            // records in between share that reading as intended and send time.
            if sends & 7 == 0 {
                now = monotonicNanos()
                if now >= end || shared.stopProducers.load(ordering: .relaxed) { break }
            }
            while !cs[c].live { c = c + 1 == cs.count ? 0 : c + 1 }
            intended = now
        } else {
            if cs.count > 1 {
                // The producer whose next record is due first.
                var earliest = UInt64.max
                for k in cs.indices where cs[k].live && cs[k].next < earliest {
                    earliest = cs[k].next
                    c = k
                }
            }
            intended = cs[c].next
            if intended >= end || shared.stopProducers.load(ordering: .relaxed) { break }
            now = monotonicNanos()
            if now >= overrun {
                // Behind schedule past the grace: count the scheduled records never sent.
                for k in cs.indices where cs[k].live { shared.unsent.add(cs[k].unsent, ordering: .relaxed) }
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
        let producer = cs[c].producer
        let keyIndex = keys.index(sequence: cs[c].sent, random: cs[c].random.next())
        let bytes: Int = pool.withTemplate(cs[c].template) { value in
            if let k = keyIndex {
                keys.keys[k].withUnsafeBytes { key in producer.send(key: key, value: value, intendedNanos: intended) }
                return value.count + keys.keys[k].count
            }
            producer.send(key: nil, value: value, intendedNanos: intended)
            return value.count
        }
        if maxRate { delay.count(bytes: bytes, now: now) } else { delay.record(latencyNanos: now &- intended, bytes: bytes, now: now) }
        cs[c].advance(templates: templates)
        if !cs[c].live { live -= 1 }
        if maxRate { c = c + 1 == cs.count ? 0 : c + 1 }
        sends &+= 1
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
}

/// A paced producer spins through waits shorter than this instead of sleeping.
let _spinBelowNanos: UInt64 = 50_000
/// A paced producer's sleep ends this long before the send is due; it spins the rest.
let _wakeEarlyNanos: UInt64 = 20_000
