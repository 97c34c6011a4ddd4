import Foundation
import Histogram
import Synchronization

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

        /// `row` with this interval's counts (exact, late slices included).
        func counted(_ row: IntervalRow) -> IntervalRow {
            var row = row
            row.produced = counts[_Counter.sent.rawValue]
            row.producedBytes = bytes[_Counter.sent.rawValue]
            row.acked = counts[_Counter.acked.rawValue]
            row.consumed = counts[_Counter.consumed.rawValue]
            row.consumedBytes = bytes[_Counter.consumed.rawValue]
            row.errors = errors
            return row
        }
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
                    // Late slice (its thread stalled past the grace period): totals only, and
                    // one more interval-log entry for its second, so that the logs add up to
                    // the totals.
                    if slice.interval >= 0 {
                        let seconds = Double(intervalNanos) / 1e9
                        intervalHistograms.append(IntervalHistogram(kind: slice.kind, startSeconds: Double(slice.interval) * seconds, lengthSeconds: seconds, histogram: h))
                    }
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
            var row = p.counted(IntervalRow(second: key))
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
            // Late slices: counts are exact even when percentiles were closed.
            var row = p.counted(p.row ?? IntervalRow(second: k))
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
