import Foundation
import Histogram
import Synchronization

/// Runs one workload step against a backend: producer and consumer threads, open-loop
/// scheduling, per-thread histograms merged by a collector thread, a live line every
/// `reportIntervalSeconds`, then a clean drain.
///
/// Open loop: producer `j` of `P` sends record `i` at its intended time
/// `start + (j / P + ⌊i / burst⌋ · burst) · P / rate`; it never waits for an acknowledgement,
/// and every latency is measured from the intended time, so a stall anywhere delays the
/// records scheduled during it and shows in their latency.
public struct LoadGenerator: Sendable {
    public var workload: Workload
    public var backend: any BenchBackend
    /// Receives the live lines (and scenario events) while the step runs.
    public var progress: @Sendable (String) -> Void
    /// Receives every closed interval for `--metrics-listen`; nil = none.
    public var live: LiveMetrics?

    public init(workload: Workload, backend: any BenchBackend, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.workload = workload
        self.backend = backend
        self.progress = progress
    }

    /// Runs the step and returns its result. `shutdown()` of the backend is the caller's.
    public func run() async throws(BenchError) -> StepResult {
        let w = workload
        try w.validate()
        let pool = try PayloadPool.make(for: w)
        let keys = KeySource(w)
        let topics = w.topicNames
        try await backend.createTopics(topics, partitions: w.partitionsPerTopic)

        // Consumers first, positioned at the end of each topic, so they see every record. They
        // are made before the schedule starts: joining a remote group takes seconds that are
        // setup, not a stall of the step.
        var madeConsumers: [any BenchConsumer] = []
        for topic in topics {
            for g in 0..<w.subscriptionsPerTopic {
                for m in 0..<w.consumerPerSubscription {
                    madeConsumers.append(try await backend.makeConsumer(topic: topic, group: "weir-bench-group-\(g)", member: m, members: w.consumerPerSubscription))
                }
            }
        }

        let intervalNanos: UInt64 = 1_000_000_000
        let warmup = UInt64(w.warmupSeconds * 1e9)
        let duration = UInt64(w.durationSeconds * 1e9)
        // Everything is timed from `start`, a little ahead so that every thread is up.
        let start = monotonicNanos() + 50_000_000
        let origin = start + warmup
        let end = w.records > 0 ? UInt64.max : origin + duration
        let inbox = _Inbox()
        let shared = _Shared()
        if w.scenario == .backlog { shared.consumersPaused.store(true, ordering: .relaxed) }
        let consumers: [(any BenchConsumer, LatencyRecorder)] = madeConsumers.map {
            ($0, LatencyRecorder(kind: .endToEnd, counter: .consumed, inbox: inbox, origin: origin, intervalNanos: intervalNanos))
        }
        var producers: [(any BenchProducer, DeliverySink, LatencyRecorder)] = []
        var index = 0
        for topic in topics {
            for _ in 0..<w.producersPerTopic {
                let ackRecorder = LatencyRecorder(kind: .publish, counter: .acked, inbox: inbox, origin: origin, intervalNanos: intervalNanos)
                let sink = DeliverySink(recorder: ackRecorder, acked: _Counts())
                shared.sinks.append(sink.acked)
                let p = try await backend.makeProducer(topic: topic, index: index, sink: sink)
                let delay = LatencyRecorder(kind: .publishDelay, counter: .sent, inbox: inbox, origin: origin, intervalNanos: intervalNanos, recordsLatency: !w.isMaxRate)
                producers.append((p, sink, delay))
                index += 1
            }
        }

        inbox.refillSpares()
        let cpu0 = processCPUNanos()
        let collector = _Collector(inbox: inbox, origin: origin, intervalNanos: intervalNanos, workload: w, progress: progress, shared: shared, start: start)
        collector.liveMetrics = live
        let collectorThread = _spawn("weir-collector") { collector.loop() }

        var consumerThreads: [_Joinable] = []
        for (i, (c, rec)) in consumers.enumerated() {
            let delayNanos = w.scenario == .slowConsumer ? UInt64(w.consumerDelayMicros * 1000) : 0
            consumerThreads.append(_spawn("weir-consumer-\(i)") {
                _consumerLoop(c, rec, shared: shared, delayPerRecord: delayNanos)
            })
        }
        let total = producers.count
        var producerThreads: [_Joinable] = []
        for (j, (p, _, delay)) in producers.enumerated() {
            var plan = _ProducerPlan(
                index: j, count: total, start: start, end: end,
                rate: w.isMaxRate ? 0 : w.producerRate / Double(max(total, 1)), burst: w.burst,
                records: w.records > 0 ? w.records / total + (j < w.records % total ? 1 : 0) : 0)
            // A paced producer this far behind its schedule stops (the window's end plus a
            // tenth of it, at least 1 s) and counts what it never sent, instead of running on
            // for as long as it takes to catch up with an unreachable rate.
            if w.records == 0 { plan.overrun = end &+ max(1_000_000_000, duration / 10) }
            let producerPlan = plan
            producerThreads.append(_spawn("weir-producer-\(j)") {
                _producerLoop(p, delay, plan: producerPlan, pool: pool, keys: keys, shared: shared)
            })
        }
        for t in producerThreads { await t.join() }
        let producersDone = monotonicNanos()
        shared.producersDone.store(true, ordering: .relaxed)
        if shared.consumersPaused.exchange(false, ordering: .relaxed) {
            progress("backlog: producers finished before the backlog was built; consumers start now")
            shared.backlogBuiltAt.store(producersDone, ordering: .relaxed)
        }
        for (p, _, _) in producers { await p.flush() }

        // Drain: wait for the consumers to read everything that was acknowledged.
        let sent = shared.sent.load(ordering: .relaxed)
        let groups = w.subscriptionsPerTopic
        var undrained = 0
        if groups > 0 && !consumers.isEmpty {
            let deadline = monotonicNanos() + UInt64(w.drainTimeoutSeconds * 1e9)
            while true {
                let ok = shared.ackedTotal - shared.failedTotal
                let expected = ok * groups
                let got = shared.consumed.load(ordering: .relaxed)
                if got >= expected - w.backlogAllowance { break }
                if monotonicNanos() >= deadline {
                    undrained = expected - got
                    progress("drain: \(undrained) records still unconsumed after drainTimeoutSeconds=\(w.drainTimeoutSeconds)")
                    break
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        if undrained == 0 && shared.backlogBuiltAt.load(ordering: .relaxed) > 0 && shared.backlogDrainedAt.load(ordering: .relaxed) == 0 {
            // The consumers caught up during the final drain.
            shared.backlogDrainedAt.store(monotonicNanos(), ordering: .relaxed)
        }
        shared.consumersStop.store(true, ordering: .relaxed)
        for t in consumerThreads { await t.join() }
        for (p, sink, _) in producers {
            await p.close()
            sink.recorder.finish()
        }
        for (c, _) in consumers { await c.close() }
        let cpu = processCPUNanos() - cpu0
        collector.stop.store(true, ordering: .relaxed)
        await collectorThread.join()
        collector.drainInbox(closeAll: true)

        // Summary.
        var s = StepSummary(name: w.name, backend: backend.name, workload: w)
        s.warmupSeconds = w.warmupSeconds
        s.targetRate = w.isMaxRate ? 0 : w.producerRate
        let lastSend = shared.lastSend.load(ordering: .relaxed)
        let windowNanos = w.records > 0 ? (lastSend > origin ? lastSend - origin : 1) : duration
        s.durationSeconds = Double(windowNanos) / 1e9
        let window = collector.windowCounts(windowNanos: windowNanos)
        s.produce.records = window.acked
        s.produce.bytes = window.ackedBytes
        s.produce.errors = window.errors
        s.consume.records = window.consumed
        s.consume.bytes = window.consumedBytes
        let secs = max(s.durationSeconds, 1e-9)
        s.produce.recordsPerSec = Double(s.produce.records) / secs
        s.produce.mbPerSec = Double(s.produce.bytes) / secs / 1e6
        s.consume.recordsPerSec = Double(s.consume.records) / secs
        s.consume.mbPerSec = Double(s.consume.bytes) / secs / 1e6
        for kind in LatencyKind.allCases {
            if let h = collector.totals[kind.index], h.totalCount > 0 { s.latency[kind.rawValue] = LatencyStats(h) }
        }
        let stats = await backend.statistics()
        let details = await backend.details()
        if !details.isEmpty { s.backendDetails = details }
        let recordBytes = shared.sentBytes.load(ordering: .relaxed)
        if stats.producedBatchBytes > 0 { s.compressionRatio = Double(recordBytes) / Double(stats.producedBatchBytes) }
        s.cpuSeconds = Double(cpu) / 1e9
        s.hostStealSeconds = collector.stealNanos(windowNanos: windowNanos).map { Double($0) / 1e9 }
        if recordBytes > 0 { s.cpuSecondsPerGB = s.cpuSeconds / (Double(recordBytes) / 1e9) }
        s.errors = Int(stats.failedRecords) + shared.failedTotal
        s.undrained = undrained
        let unsent = shared.unsent.load(ordering: .relaxed)
        if unsent > 0 {
            s.unsent = unsent
            progress("producers fell behind the target rate: \(unsent) scheduled records were not sent by the window's end plus its grace; the achieved rate is the sustainable one")
        }
        if w.scenario == .backlog {
            let built = shared.backlogBuiltAt.load(ordering: .relaxed)
            let drained = shared.backlogDrainedAt.load(ordering: .relaxed)
            s.backlog = BacklogSummary(
                backlogBytes: Int(w.consumerBacklogSizeGB * 1e9),
                buildSeconds: built > start ? Double(built - start) / 1e9 : 0,
                drainSeconds: drained > built && built > 0 ? Double(drained - built) / 1e9 : nil)
        }
        _ = sent
        var histograms: [LatencyKind: Histogram<UInt64>] = [:]
        for kind in LatencyKind.allCases { if let h = collector.totals[kind.index], h.totalCount > 0 { histograms[kind] = h } }
        let measureStartEpoch = Date().timeIntervalSince1970 - (Double(monotonicNanos()) - Double(origin)) / 1e9
        return StepResult(summary: s, intervals: collector.rows(), histograms: histograms, intervalHistograms: collector.intervalHistograms, measureStartEpoch: measureStartEpoch)
    }
}

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
    /// Scheduled records the producers never sent (they fell behind past the grace).
    let unsent = Atomic<Int>(0)
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
func _producerLoop(_ producer: any BenchProducer, _ delay: LatencyRecorder, plan: _ProducerPlan, pool: PayloadPool, keys: KeySource, shared: _Shared) {
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
            if now >= plan.overrun {
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
                keys.keys[k].withUnsafeBytes { key in producer.send(key: key, value: value, intendedNanos: intended, sentNanos: now) }
                return value.count + keys.keys[k].count
            }
            producer.send(key: nil, value: value, intendedNanos: intended, sentNanos: now)
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

/// The body of a consumer thread.
func _consumerLoop(_ consumer: any BenchConsumer, _ recorder: LatencyRecorder, shared: _Shared, delayPerRecord: UInt64) {
    _setPreciseTimerSlack()
    while !shared.consumersStop.load(ordering: .relaxed) {
        if shared.consumersPaused.load(ordering: .relaxed) {
            sleepNanos(1_000_000)
            continue
        }
        let n = consumer.poll(timeoutNanos: 100_000_000) { value in
            let now = monotonicNanos()
            if let stamp = BenchStamp.read(value) {
                recorder.record(latencyNanos: now &- stamp, bytes: value.count, now: now)
            }
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

/// Merges what the recorders hand in: per-interval rows for `intervals.csv` and the live line,
/// totals (measured intervals only) for the summary.
final class _Collector: @unchecked Sendable {
    struct Pending {
        var counts = [Int](repeating: 0, count: 4)
        var bytes = [Int](repeating: 0, count: 4)
        var errors = 0
        var histograms: [Histogram<UInt64>?] = [nil, nil, nil]
        var closed = false
        var row: IntervalRow?
        /// Hypervisor steal attributed to this interval; nil while the machine was never read.
        var stealNanos: UInt64?
    }

    let inbox: _Inbox
    let origin: UInt64
    let intervalNanos: UInt64
    let workload: Workload
    let progress: @Sendable (String) -> Void
    let shared: _Shared
    let start: UInt64
    let stop = Atomic<Bool>(false)
    var pending: [Int: Pending] = [:]
    var totals: [Histogram<UInt64>?] = [nil, nil, nil]
    var live: [Histogram<UInt64>?] = [nil, nil, nil]
    var liveCounts = [Int](repeating: 0, count: 4)
    var liveBytes = [Int](repeating: 0, count: 4)
    var liveIntervals = 0
    var liveSteal: UInt64 = 0
    var lastLive: UInt64
    /// The machine's CPU times at the previous sample (nil where `/proc/stat` is unreadable).
    var hostLast: HostCPUTimes?

    init(inbox: _Inbox, origin: UInt64, intervalNanos: UInt64, workload: Workload, progress: @escaping @Sendable (String) -> Void, shared: _Shared, start: UInt64) {
        self.inbox = inbox
        self.origin = origin
        self.intervalNanos = intervalNanos
        self.workload = workload
        self.progress = progress
        self.shared = shared
        self.start = start
        self.lastLive = origin
    }

    func loop() {
        let backlogBytes = Int(workload.consumerBacklogSizeGB * 1e9)
        hostLast = HostCPUTimes.current()
        while !stop.load(ordering: .relaxed) {
            sleepNanos(100_000_000)
            inbox.refillSpares()
            sampleHost(now: monotonicNanos())
            drainInbox(closeAll: false)
            let now = monotonicNanos()
            if shared.consumersPaused.load(ordering: .relaxed) && backlogBytes > 0 && shared.sentBytes.load(ordering: .relaxed) >= backlogBytes {
                shared.backlogBuiltAt.store(now, ordering: .relaxed)
                shared.consumersPaused.store(false, ordering: .relaxed)
                progress(String(format: "backlog: %.2f GB built in %.1f s; consumers start", Double(backlogBytes) / 1e9, Double(now - start) / 1e9))
            }
            let built = shared.backlogBuiltAt.load(ordering: .relaxed)
            if built > 0 && shared.backlogDrainedAt.load(ordering: .relaxed) == 0 && !shared.consumersPaused.load(ordering: .relaxed) {
                let ok = shared.ackedTotal * workload.subscriptionsPerTopic
                let got = shared.consumed.load(ordering: .relaxed)
                // Caught up: within 100 ms worth of records (at least 1000).
                let slack = max(1000, Int((workload.isMaxRate ? 100_000 : workload.producerRate) / 10) * workload.subscriptionsPerTopic, workload.backlogAllowance)
                if ok - got <= slack {
                    shared.backlogDrainedAt.store(now, ordering: .relaxed)
                    progress(String(format: "backlog: drained in %.1f s", Double(now - built) / 1e9))
                }
            }
            if now >= lastLive + UInt64(workload.reportIntervalSeconds * 1e9), liveIntervals > 0 {
                printLive(now)
            }
        }
    }

    /// Adds the machine's steal since the previous sample to the interval this sample falls in
    /// (the sample's midpoint: samples are 100 ms apart, intervals 1 s by default).
    func sampleHost(now: UInt64) {
        guard let last = hostLast, let current = HostCPUTimes.current() else { return }
        hostLast = current
        let mid = now - min(now, 50_000_000)
        let key = mid < origin ? -1 : Int((mid - origin) / intervalNanos)
        var p = pending[key] ?? Pending()
        p.stealNanos = (p.stealNanos ?? 0) + current.since(last).stealNanos
        pending[key] = p
    }

    func drainInbox(closeAll: Bool) {
        for slice in inbox.take() {
            var p = pending[slice.interval] ?? Pending()
            p.counts[slice.counter.rawValue] += slice.records
            p.bytes[slice.counter.rawValue] += slice.bytes
            p.errors += slice.errors
            if let h = slice.histogram {
                if p.closed {
                    // Late slice (its thread stalled past the grace period): totals only.
                } else if p.histograms[slice.kind.index] == nil {
                    p.histograms[slice.kind.index] = h
                } else {
                    p.histograms[slice.kind.index]!.add(h)
                }
                if slice.interval >= 0 {
                    if totals[slice.kind.index] == nil { totals[slice.kind.index] = makeLatencyHistogram() }
                    totals[slice.kind.index]!.add(h)
                }
            }
            pending[slice.interval] = p
        }
        let now = monotonicNanos()
        for key in pending.keys.sorted() {
            guard var p = pending[key], !p.closed else { continue }
            let endOfInterval = key < 0 ? origin : origin + UInt64(key + 1) * intervalNanos
            // Close an interval half a second after it ended (late slices still count in totals).
            guard closeAll || now > endOfInterval + intervalNanos / 2 else { continue }
            p.closed = true
            var row = IntervalRow(second: key)
            row.produced = p.counts[_Counter.sent.rawValue]
            row.producedBytes = p.bytes[_Counter.sent.rawValue]
            row.acked = p.counts[_Counter.acked.rawValue]
            row.consumed = p.counts[_Counter.consumed.rawValue]
            row.consumedBytes = p.bytes[_Counter.consumed.rawValue]
            row.errors = p.errors
            for kind in LatencyKind.allCases { if let h = p.histograms[kind.index] { closed(kind, key, h, &row) } }
            p.row = row
            liveMetrics?.interval(step: workload.name, row: row, stealNanos: p.stealNanos, seconds: Double(intervalNanos) / 1e9)
            if !closeAll {
                for k in 0..<3 { if let h = p.histograms[k] { if live[k] == nil { live[k] = h } else { live[k]!.add(h) } } }
                for k in 0..<4 { liveCounts[k] += p.counts[k]; liveBytes[k] += p.bytes[k] }
                liveSteal += p.stealNanos ?? 0
                liveIntervals += 1
            }
            p.histograms = [nil, nil, nil]
            pending[key] = p
        }
    }

    /// `--metrics-listen`'s sink; nil = none.
    var liveMetrics: LiveMetrics?

    /// Every measured interval's histograms, encoded for the `.hlog` files.
    var intervalHistograms: [IntervalHistogram] = []

    /// An interval of `kind` closed: its statistics for `intervals.csv`, its histogram for the
    /// interval log (the warmup, interval -1, is excluded from both logs and statistics).
    func closed(_ kind: LatencyKind, _ interval: Int, _ h: Histogram<UInt64>, _ row: inout IntervalRow) {
        row.latency[kind] = LatencyStats(h)
        guard interval >= 0 else { return }
        let seconds = Double(intervalNanos) / 1e9
        intervalHistograms.append(IntervalHistogram(kind: kind, startSeconds: Double(interval) * seconds, lengthSeconds: seconds, histogram: h))
    }

    func printLive(_ now: UInt64) {
        let secs = Double(liveIntervals)
        let elapsed = now > origin ? Double(now - origin) / 1e9 : -Double(origin - now) / 1e9
        var line = String(format: "%7.1f s  ", elapsed)
        line += (elapsed < 0 ? "warmup " : "produce ") + String(format: "%9.0f rec/s %7.1f MB/s", Double(liveCounts[_Counter.acked.rawValue]) / secs, Double(liveBytes[_Counter.acked.rawValue]) / secs / 1e6)
        if let h = live[LatencyKind.publish.index] {
            line += "  publish p50 \(_ms(h.valueAtPercentile(50))) p99 \(_ms(h.valueAtPercentile(99)))"
        }
        if workload.subscriptionsPerTopic > 0 {
            line += String(format: "  | consume %9.0f rec/s", Double(liveCounts[_Counter.consumed.rawValue]) / secs)
            if let h = live[LatencyKind.endToEnd.index] {
                line += "  e2e p50 \(_ms(h.valueAtPercentile(50))) p99 \(_ms(h.valueAtPercentile(99)))"
            }
        }
        if liveSteal > 0 { line += "  | host steal \(_ms(liveSteal))" }
        progress(line)
        live = [nil, nil, nil]
        liveCounts = [0, 0, 0, 0]
        liveBytes = [0, 0, 0, 0]
        liveIntervals = 0
        liveSteal = 0
        lastLive = now
    }

    /// Acknowledged/consumed counts from the start of measurement through the final drain.
    ///
    /// Producers stop sending when the window ends, so acknowledgements and consumption that
    /// arrive during the drain belong to records sent inside the window; counting only the
    /// intervals before the window's end would drop them whenever delivery lags (a loaded
    /// machine), down to zero for a short run.
    func windowCounts(windowNanos: UInt64) -> (acked: Int, ackedBytes: Int, consumed: Int, consumedBytes: Int, errors: Int) {
        var r = (acked: 0, ackedBytes: 0, consumed: 0, consumedBytes: 0, errors: 0)
        for (k, p) in pending where k >= 0 {
            r.acked += p.counts[_Counter.acked.rawValue]
            r.ackedBytes += p.bytes[_Counter.acked.rawValue]
            r.consumed += p.counts[_Counter.consumed.rawValue]
            r.consumedBytes += p.bytes[_Counter.consumed.rawValue]
            r.errors += p.errors
        }
        return r
    }

    /// Hypervisor steal over the measured intervals (`0..<windowNanos`, whole intervals); nil
    /// when the machine's times could not be read.
    func stealNanos(windowNanos: UInt64) -> UInt64? {
        let intervals = Int((windowNanos + intervalNanos - 1) / intervalNanos)
        var total: UInt64?
        for (k, p) in pending where k >= 0 && k < intervals {
            if let s = p.stealNanos { total = (total ?? 0) + s }
        }
        return total
    }

    func rows() -> [IntervalRow] {
        pending.keys.sorted().compactMap { k in
            guard let p = pending[k] else { return nil }
            var row = p.row ?? IntervalRow(second: k)
            // Late slices: counts are exact even when percentiles were closed.
            row.produced = p.counts[_Counter.sent.rawValue]
            row.producedBytes = p.bytes[_Counter.sent.rawValue]
            row.acked = p.counts[_Counter.acked.rawValue]
            row.consumed = p.counts[_Counter.consumed.rawValue]
            row.consumedBytes = p.bytes[_Counter.consumed.rawValue]
            row.errors = p.errors
            row.stealMillis = p.stealNanos.map { Double($0) / 1e6 }
            return row
        }
    }
}

/// "1.23 ms" / "456 µs" for a nanosecond value.
func _ms(_ nanos: UInt64) -> String {
    let us = Double(nanos) / 1000
    if us >= 1000 { return String(format: "%.2f ms", us / 1000) }
    return us < 10 ? String(format: "%.1f µs", us) : String(format: "%.0f µs", us)
}
