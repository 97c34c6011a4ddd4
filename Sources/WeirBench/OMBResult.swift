import Foundation
import Histogram

/// OpenMessaging Benchmark's result file (its `TestResult` JSON), so that OMB's chart script
/// and the tools that read OMB results read Weir runs: the same field names, types and units.
///
/// Units, as OMB writes them: rates in records/s; `backlog` in records; publish and
/// end-to-end latencies in milliseconds (fractional); publish-delay latencies in whole
/// microseconds. The per-window lists hold one entry per `windowSeconds` of the measured
/// window (OMB's windows are 10 s), computed from the run's interval histograms; the
/// `aggregated*` fields cover the whole measured window (warmup excluded). Quantile maps are
/// keyed by the percentile as OMB prints it (`"99.9"`), along HdrHistogram's percentile
/// iteration with 100 ticks per half distance, as OMB's.
public struct OMBResult: Sendable, Codable, Equatable {
    public var workload: String
    public var driver: String
    public var messageSize: Int
    public var topics: Int
    public var partitions: Int
    public var producersPerTopic: Int
    public var consumersPerTopic: Int

    public var publishRate: [Double] = []
    public var publishErrorRate: [Double] = []
    public var consumeRate: [Double] = []
    public var backlog: [Int] = []

    public var publishLatencyAvg: [Double] = []
    public var publishLatency50pct: [Double] = []
    public var publishLatency75pct: [Double] = []
    public var publishLatency95pct: [Double] = []
    public var publishLatency99pct: [Double] = []
    public var publishLatency999pct: [Double] = []
    public var publishLatency9999pct: [Double] = []
    public var publishLatencyMax: [Double] = []

    public var publishDelayLatencyAvg: [Double] = []
    public var publishDelayLatency50pct: [Int] = []
    public var publishDelayLatency75pct: [Int] = []
    public var publishDelayLatency95pct: [Int] = []
    public var publishDelayLatency99pct: [Int] = []
    public var publishDelayLatency999pct: [Int] = []
    public var publishDelayLatency9999pct: [Int] = []
    public var publishDelayLatencyMax: [Int] = []

    public var aggregatedPublishLatencyAvg: Double = 0
    public var aggregatedPublishLatency50pct: Double = 0
    public var aggregatedPublishLatency75pct: Double = 0
    public var aggregatedPublishLatency95pct: Double = 0
    public var aggregatedPublishLatency99pct: Double = 0
    public var aggregatedPublishLatency999pct: Double = 0
    public var aggregatedPublishLatency9999pct: Double = 0
    public var aggregatedPublishLatencyMax: Double = 0

    public var aggregatedPublishDelayLatencyAvg: Double = 0
    public var aggregatedPublishDelayLatency50pct: Int = 0
    public var aggregatedPublishDelayLatency75pct: Int = 0
    public var aggregatedPublishDelayLatency95pct: Int = 0
    public var aggregatedPublishDelayLatency99pct: Int = 0
    public var aggregatedPublishDelayLatency999pct: Int = 0
    public var aggregatedPublishDelayLatency9999pct: Int = 0
    public var aggregatedPublishDelayLatencyMax: Int = 0

    public var aggregatedPublishLatencyQuantiles: [String: Double] = [:]
    public var aggregatedPublishDelayLatencyQuantiles: [String: Int] = [:]

    public var endToEndLatencyAvg: [Double] = []
    public var endToEndLatency50pct: [Double] = []
    public var endToEndLatency75pct: [Double] = []
    public var endToEndLatency95pct: [Double] = []
    public var endToEndLatency99pct: [Double] = []
    public var endToEndLatency999pct: [Double] = []
    public var endToEndLatency9999pct: [Double] = []
    public var endToEndLatencyMax: [Double] = []

    public var aggregatedEndToEndLatencyQuantiles: [String: Double] = [:]

    public var aggregatedEndToEndLatencyAvg: Double = 0
    public var aggregatedEndToEndLatency50pct: Double = 0
    public var aggregatedEndToEndLatency75pct: Double = 0
    public var aggregatedEndToEndLatency95pct: Double = 0
    public var aggregatedEndToEndLatency99pct: Double = 0
    public var aggregatedEndToEndLatency999pct: Double = 0
    public var aggregatedEndToEndLatency9999pct: Double = 0
    public var aggregatedEndToEndLatencyMax: Double = 0

    /// OMB's `TestResult` field names, in its order (the round-trip test checks the JSON keys
    /// against it).
    public static let fieldNames: [String] = {
        var names = ["workload", "driver", "messageSize", "topics", "partitions", "producersPerTopic", "consumersPerTopic",
                     "publishRate", "publishErrorRate", "consumeRate", "backlog"]
        let stats = ["Avg", "50pct", "75pct", "95pct", "99pct", "999pct", "9999pct", "Max"]
        names += stats.map { "publishLatency\($0)" } + stats.map { "publishDelayLatency\($0)" }
        names += stats.map { "aggregatedPublishLatency\($0)" } + stats.map { "aggregatedPublishDelayLatency\($0)" }
        names += ["aggregatedPublishLatencyQuantiles", "aggregatedPublishDelayLatencyQuantiles"]
        names += stats.map { "endToEndLatency\($0)" } + ["aggregatedEndToEndLatencyQuantiles"] + stats.map { "aggregatedEndToEndLatency\($0)" }
        return names
    }()

    public init(workload: String, driver: String, messageSize: Int, topics: Int, partitions: Int, producersPerTopic: Int, consumersPerTopic: Int) {
        self.workload = workload
        self.driver = driver
        self.messageSize = messageSize
        self.topics = topics
        self.partitions = partitions
        self.producersPerTopic = producersPerTopic
        self.consumersPerTopic = consumersPerTopic
    }

    /// The result of one step, in windows of `windowSeconds` (OMB's are 10 s).
    ///
    /// - Throws: `.io` when an interval histogram does not decode.
    public init(_ r: StepResult, driver: String? = nil, windowSeconds: Int = 10) throws(BenchError) {
        let w = r.summary.workload
        self.init(workload: w.name, driver: driver ?? r.summary.backend, messageSize: w.messageSize, topics: w.topics,
                  partitions: w.partitionsPerTopic, producersPerTopic: w.producersPerTopic, consumersPerTopic: w.consumerPerSubscription)
        let measured = Int(r.summary.durationSeconds.rounded(.up))
        let windows = max(1, (measured + windowSeconds - 1) / windowSeconds)
        var histograms: [LatencyKind: [Int: Histogram<UInt64>]] = [:]
        for e in r.intervalHistograms {
            let window = Int(e.startSeconds) / windowSeconds
            guard window < windows else { continue }
            let h = try e.histogram()
            if histograms[e.kind]?[window] == nil { histograms[e.kind, default: [:]][window] = h } else { histograms[e.kind]![window]!.add(h) }
        }
        var sent = 0, received = 0
        let groups = w.subscriptionsPerTopic
        for window in 0..<windows {
            let rows = r.intervals.filter { $0.second >= window * windowSeconds && $0.second < (window + 1) * windowSeconds }
            let length = Double(min(windowSeconds, max(1, measured - window * windowSeconds)))
            let acked = rows.reduce(0) { $0 + $1.acked }, consumed = rows.reduce(0) { $0 + $1.consumed }
            sent += acked
            received += consumed
            publishRate.append(Double(acked) / length)
            publishErrorRate.append(Double(rows.reduce(0) { $0 + $1.errors }) / length)
            consumeRate.append(Double(consumed) / length)
            backlog.append(max(0, groups * sent - received))
            let pub = histograms[.publish]?[window], delay = histograms[.publishDelay]?[window], e2e = histograms[.endToEnd]?[window]
            let p = Self.millis(pub), d = Self.micros(delay), e = Self.millis(e2e)
            publishLatencyAvg.append(p[0]); publishLatency50pct.append(p[1]); publishLatency75pct.append(p[2])
            publishLatency95pct.append(p[3]); publishLatency99pct.append(p[4]); publishLatency999pct.append(p[5])
            publishLatency9999pct.append(p[6]); publishLatencyMax.append(p[7])
            publishDelayLatencyAvg.append(delay.map { $0.mean / 1000 } ?? 0)
            publishDelayLatency50pct.append(d[1]); publishDelayLatency75pct.append(d[2]); publishDelayLatency95pct.append(d[3])
            publishDelayLatency99pct.append(d[4]); publishDelayLatency999pct.append(d[5]); publishDelayLatency9999pct.append(d[6])
            publishDelayLatencyMax.append(d[7])
            endToEndLatencyAvg.append(e[0]); endToEndLatency50pct.append(e[1]); endToEndLatency75pct.append(e[2])
            endToEndLatency95pct.append(e[3]); endToEndLatency99pct.append(e[4]); endToEndLatency999pct.append(e[5])
            endToEndLatency9999pct.append(e[6]); endToEndLatencyMax.append(e[7])
        }
        let p = Self.millis(r.histograms[.publish]), d = Self.micros(r.histograms[.publishDelay]), e = Self.millis(r.histograms[.endToEnd])
        aggregatedPublishLatencyAvg = p[0]; aggregatedPublishLatency50pct = p[1]; aggregatedPublishLatency75pct = p[2]
        aggregatedPublishLatency95pct = p[3]; aggregatedPublishLatency99pct = p[4]; aggregatedPublishLatency999pct = p[5]
        aggregatedPublishLatency9999pct = p[6]; aggregatedPublishLatencyMax = p[7]
        aggregatedPublishDelayLatencyAvg = r.histograms[.publishDelay].map { $0.mean / 1000 } ?? 0
        aggregatedPublishDelayLatency50pct = d[1]; aggregatedPublishDelayLatency75pct = d[2]; aggregatedPublishDelayLatency95pct = d[3]
        aggregatedPublishDelayLatency99pct = d[4]; aggregatedPublishDelayLatency999pct = d[5]; aggregatedPublishDelayLatency9999pct = d[6]
        aggregatedPublishDelayLatencyMax = d[7]
        aggregatedEndToEndLatencyAvg = e[0]; aggregatedEndToEndLatency50pct = e[1]; aggregatedEndToEndLatency75pct = e[2]
        aggregatedEndToEndLatency95pct = e[3]; aggregatedEndToEndLatency99pct = e[4]; aggregatedEndToEndLatency999pct = e[5]
        aggregatedEndToEndLatency9999pct = e[6]; aggregatedEndToEndLatencyMax = e[7]
        if let h = r.histograms[.publish] { aggregatedPublishLatencyQuantiles = Self.quantiles(h) { Double($0) / 1e6 } }
        if let h = r.histograms[.publishDelay] { aggregatedPublishDelayLatencyQuantiles = Self.quantiles(h) { Int($0 / 1000) } }
        if let h = r.histograms[.endToEnd] { aggregatedEndToEndLatencyQuantiles = Self.quantiles(h) { Double($0) / 1e6 } }
    }

    static let levels: [Double] = [50, 75, 95, 99, 99.9, 99.99]

    /// avg, p50, p75, p95, p99, p99.9, p99.99, max in ms of a nanosecond histogram (zeros when none).
    static func millis(_ h: Histogram<UInt64>?) -> [Double] {
        guard let h, h.totalCount > 0 else { return [Double](repeating: 0, count: 8) }
        return [h.mean / 1e6] + levels.map { Double(h.valueAtPercentile($0)) / 1e6 } + [Double(h.max) / 1e6]
    }

    /// The same in whole microseconds (OMB's publish-delay unit).
    static func micros(_ h: Histogram<UInt64>?) -> [Int] {
        guard let h, h.totalCount > 0 else { return [Int](repeating: 0, count: 8) }
        return [Int(h.mean / 1000)] + levels.map { Int(h.valueAtPercentile($0) / 1000) } + [Int(h.max / 1000)]
    }

    static func quantiles<V>(_ h: Histogram<UInt64>, _ convert: (UInt64) -> V) -> [String: V] {
        var out: [String: V] = [:]
        for iv in h.percentiles(ticksPerHalfDistance: 100) { out["\(iv.percentileLevelIteratedTo)"] = convert(iv.value) }
        return out
    }

    /// The JSON text, keys sorted.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text + "\n"
    }

    /// Reads an OMB result file (OMB's own or Weir's).
    public static func read(path: String) throws(BenchError) -> OMBResult {
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchError(.io, "cannot read '\(path)'.") }
        do { return try JSONDecoder().decode(OMBResult.self, from: data) } catch {
            throw BenchError(.io, "'\(path)' is not an OMB result (TestResult JSON): \(error)")
        }
    }
}
