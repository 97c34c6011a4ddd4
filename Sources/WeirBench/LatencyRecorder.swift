public import Histogram
import Synchronization

/// The latencies a run measures, all on one monotonic clock (`monotonicNanos()`).
///
/// - `publish`: acknowledgement time minus the message's *intended* send time. Measured from
///   the intended time (as wrk2 does), so a stall in the client or the generator is charged to
///   every message that should have been sent during it: coordinated omission cannot hide it.
/// - `publishDelay`: actual send time minus intended send time (how late the generator was).
/// - `endToEnd`: the time a consumer saw the record minus its intended send time, carried in the
///   first 8 bytes of the value.
public enum LatencyKind: String, Sendable, CaseIterable, Codable {
    case publish
    case publishDelay = "publish_delay"
    case endToEnd = "end_to_end"

    var index: Int {
        switch self {
        case .publish: 0
        case .publishDelay: 1
        case .endToEnd: 2
        }
    }
}

/// A fresh histogram with nanosecond resolution and 3 significant digits, sized for values up
/// to 60 s and auto-resizing beyond: the one layout every Weir histogram uses, so any two merge.
///
/// It is a copy of one template, so making one costs nothing until its first write, which
/// copies the counts (about 220 KB, a specialised copy). Growing a histogram, by contrast, runs
/// the histogram package's unspecialised resize: about 12 ms for an auto-sized histogram
/// that starts small, which a recorder used to pay on its hot thread once a second.
@inlinable
public func makeLatencyHistogram() -> Histogram<UInt64> {
    _latencyHistogramTemplate
}

/// Presized so that recording a latency up to a minute never resizes (see `makeLatencyHistogram`).
@usableFromInline
let _latencyHistogramTemplate: Histogram<UInt64> = {
    var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    h.autoResize = true
    return h
}()

/// A latency histogram whose counts are already its own (written once), so that its first
/// `record` does not copy them: made off the hot path and handed to a recorder.
func _uniqueLatencyHistogram() -> Histogram<UInt64> {
    var h = makeLatencyHistogram()
    // Recording zero occurrences of 0 changes no count or statistic, but it writes the counts,
    // which makes them unique.
    h.record(0, count: 0)
    return h
}

/// What one recorder saw during one interval: counts, bytes and a latency histogram.
struct _Slice: Sendable {
    var interval: Int
    var kind: LatencyKind
    /// Which counter the records count toward.
    var counter: _Counter
    var records: Int
    var bytes: Int
    var errors: Int
    var histogram: Histogram<UInt64>?
}

enum _Counter: Int, Sendable {
    case sent = 0, acked = 1, consumed = 2, none = 3
}

/// Where recorders hand their finished intervals; the collector thread drains it.
///
/// It also keeps blank histograms that the collector makes ahead, one per latency recorder, so
/// that starting an interval on a recorder's thread swaps in a ready histogram instead of
/// allocating and copying one there.
final class _Inbox: Sendable {
    let slices = Mutex<[_Slice]>([])
    let spares = Mutex<[Histogram<UInt64>]>([])
    /// How many blank histograms to keep ready: the number of latency recorders.
    let latencyRecorders = Atomic<Int>(0)

    func put(_ s: _Slice) { slices.withLock { $0.append(s) } }
    func take() -> [_Slice] { slices.withLock { s in let out = s; s.removeAll(keepingCapacity: true); return out } }

    /// A blank histogram for a recorder's next interval (a fresh one when none is ready).
    func takeSpare() -> Histogram<UInt64> {
        spares.withLock { $0.popLast() } ?? _uniqueLatencyHistogram()
    }

    /// Makes blank histograms (on the caller's thread) until one per latency recorder is ready.
    func refillSpares() {
        let want = latencyRecorders.load(ordering: .relaxed)
        var have = spares.withLock { $0.count }
        while have < want {
            let h = _uniqueLatencyHistogram()
            have = spares.withLock { s in
                s.append(h)
                return s.count
            }
        }
    }
}

/// A single-writer latency recorder: one per thread (or per delivery callback queue), no lock
/// on the hot path. Every `intervalNanos` (aligned to the start of measurement) the recorder
/// hands its interval's histogram and counters to the collector and starts a fresh one, so
/// per-thread histograms are merged by the collector, never shared.
///
/// Not thread-safe by design: exactly one thread calls `record`; `finish` is called by that
/// thread (or after it stopped).
public final class LatencyRecorder: @unchecked Sendable {
    /// The writer's state, behind a pointer: a class's stored properties pay a dynamic
    /// exclusivity check on every mutation, which would double the cost of a sample.
    @usableFromInline struct _State {
        @usableFromInline var histogram: Histogram<UInt64>
        @usableFromInline var records = 0
        @usableFromInline var bytes = 0
        @usableFromInline var errors = 0
        @usableFromInline var interval = Int.min
        @usableFromInline var intervalEnd: UInt64 = 0
        init() { histogram = _uniqueLatencyHistogram() }
    }

    let kind: LatencyKind
    let counter: _Counter
    let inbox: _Inbox
    /// The start of measurement; set before the recorder's thread starts (`_setOrigin`).
    private(set) var origin: UInt64
    let intervalNanos: UInt64
    let recordsLatency: Bool
    @usableFromInline let _state: UnsafeMutablePointer<_State>

    init(kind: LatencyKind, counter: _Counter, inbox: _Inbox, origin: UInt64, intervalNanos: UInt64, recordsLatency: Bool = true) {
        self.kind = kind
        self.counter = counter
        self.inbox = inbox
        self.origin = origin
        self.intervalNanos = intervalNanos
        self.recordsLatency = recordsLatency
        _state = .allocate(capacity: 1)
        _state.initialize(to: _State())
        if recordsLatency { inbox.latencyRecorders.add(1, ordering: .relaxed) }
    }

    deinit {
        _state.deinitialize(count: 1)
        _state.deallocate()
    }

    /// Moves the start of measurement, before any sample (the generator's schedule starts
    /// after its producers are made).
    func _setOrigin(_ newOrigin: UInt64) { origin = newOrigin }

    /// Records one sample observed at `now`: `latencyNanos` and the record's size.
    @inlinable
    public func record(latencyNanos: UInt64, bytes: Int, now: UInt64) {
        if now >= _state.pointee.intervalEnd { _rotate(now) }
        _state.pointee.histogram.record(latencyNanos)
        _state.pointee.records &+= 1
        _state.pointee.bytes &+= bytes
    }

    /// Counts one record without a latency (max-rate sends, which have no schedule).
    @inlinable
    public func count(bytes: Int, now: UInt64) {
        if now >= _state.pointee.intervalEnd { _rotate(now) }
        _state.pointee.records &+= 1
        _state.pointee.bytes &+= bytes
    }

    /// Counts `count` failed records at `now`.
    public func recordErrors(_ count: Int, now: UInt64) {
        if now >= _state.pointee.intervalEnd { _rotate(now) }
        _state.pointee.errors &+= count
    }

    /// Starts the interval that contains `now`, handing the current one to the collector.
    @usableFromInline
    func _rotate(_ now: UInt64) {
        _flush()
        if now >= origin {
            let index = Int((now - origin) / intervalNanos)
            _state.pointee.interval = index
            _state.pointee.intervalEnd = origin + UInt64(index + 1) * intervalNanos
        } else {
            // Warmup: one interval, -1, up to the start of measurement; excluded from statistics.
            _state.pointee.interval = -1
            _state.pointee.intervalEnd = origin
        }
    }

    func _flush() {
        let s = _state.pointee
        guard s.records > 0 || s.errors > 0 else { return }
        let h: Histogram<UInt64>? = recordsLatency && s.histogram.totalCount > 0 ? s.histogram : nil
        inbox.put(_Slice(interval: s.interval, kind: kind, counter: counter, records: s.records, bytes: s.bytes, errors: s.errors, histogram: h))
        if h != nil { _state.pointee.histogram = inbox.takeSpare() }
        _state.pointee.records = 0
        _state.pointee.bytes = 0
        _state.pointee.errors = 0
    }

    /// Hands whatever was recorded to the collector (at the end of the run).
    public func finish() { _flush() }
}

/// Percentiles and moments of one latency distribution, in microseconds in `summary.json`.
public struct LatencyStats: Sendable, Codable, Equatable {
    public var count: UInt64 = 0
    public var min: Double = 0
    public var p50: Double = 0
    public var p75: Double = 0
    public var p90: Double = 0
    public var p95: Double = 0
    public var p99: Double = 0
    public var p99_9: Double = 0
    public var p99_99: Double = 0
    public var max: Double = 0
    public var mean: Double = 0
    public var stddev: Double = 0

    /// The percentiles every summary and table reports, with their JSON names.
    public static let percentiles: [(name: String, value: Double)] = [
        ("p50", 50), ("p75", 75), ("p90", 90), ("p95", 95), ("p99", 99), ("p99_9", 99.9), ("p99_99", 99.99),
    ]

    /// Statistics of `h` (recorded in nanoseconds), scaled to microseconds.
    public init(_ h: Histogram<UInt64>) {
        let us = 1000.0
        count = h.totalCount
        guard count > 0 else { return }
        min = Double(h.min) / us
        p50 = Double(h.valueAtPercentile(50)) / us
        p75 = Double(h.valueAtPercentile(75)) / us
        p90 = Double(h.valueAtPercentile(90)) / us
        p95 = Double(h.valueAtPercentile(95)) / us
        p99 = Double(h.valueAtPercentile(99)) / us
        p99_9 = Double(h.valueAtPercentile(99.9)) / us
        p99_99 = Double(h.valueAtPercentile(99.99)) / us
        max = Double(h.max) / us
        mean = h.mean / us
        stddev = h.stdDeviation / us
    }

    public init() {}

    /// The value of a named statistic (`p50` … `p99_99`, `max`, `mean`, `stddev`, `min`).
    public func value(named name: String) -> Double? {
        switch name {
        case "p50": p50
        case "p75": p75
        case "p90": p90
        case "p95": p95
        case "p99": p99
        case "p99_9", "p99.9", "p999": p99_9
        case "p99_99", "p99.99", "p9999": p99_99
        case "max": max
        case "mean": mean
        case "stddev": stddev
        case "min": min
        default: nil
        }
    }
}
