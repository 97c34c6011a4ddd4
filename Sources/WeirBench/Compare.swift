import Foundation

/// The CI regression gate: compares a base set of runs with a current set, step by step and
/// metric by metric, with thresholds and noise handling.
///
/// Each side is one `summary.json` or a directory of repeated runs (every `summary.json` under
/// it). With repeats, a metric's value is the median over runs, and its range the lowest and
/// highest run. A metric **regresses** when its median moved past the threshold in the bad
/// direction *and* the two ranges do not overlap (the current best is worse than the base
/// worst), so that noise between repeats on a shared CI machine does not fail a build. An
/// improvement is the mirror image.
///
/// Exit codes (as package-benchmark's): 0 within thresholds, 2 at least one regression,
/// 4 improvements only.
public enum Compare {
    /// A threshold: the metric and the allowed relative change in the bad direction.
    /// `p99=+10%`: higher is worse, more than +10% regresses. `records_per_sec=-5%`: lower is
    /// worse, less than −5% regresses.
    public struct Threshold: Sendable, Equatable {
        public var metric: String
        /// Signed fraction: +0.10 (higher is worse) or −0.05 (lower is worse).
        public var limit: Double

        /// Parses `metric=+10%` / `metric=-5%` (or a plain fraction `-0.05`).
        public init(parsing text: String) throws(BenchError) {
            guard let eq = text.firstIndex(of: "=") else {
                throw .usage("--threshold '\(text)' is not metric=±N%; e.g. p99=+10% or records_per_sec=-5%. Metrics: \(Compare.metricNames.joined(separator: ", ")).")
            }
            let name = String(text[..<eq])
            var value = String(text[text.index(after: eq)...])
            guard let metric = Compare.canonical(name) else {
                throw .usage("--threshold: unknown metric '\(name)'; allowed: \(Compare.metricNames.joined(separator: ", ")).")
            }
            let percent = value.hasSuffix("%")
            if percent { value.removeLast() }
            guard value.hasPrefix("+") || value.hasPrefix("-"), let v = Double(value), v != 0 else {
                throw .usage("--threshold \(text): give a signed change, + when higher is worse (latency: p99=+10%), - when lower is worse (throughput: records_per_sec=-5%).")
            }
            self.metric = metric
            self.limit = percent ? v / 100 : v
        }

        public init(metric: String, limit: Double) {
            self.metric = metric
            self.limit = limit
        }
    }

    /// Thresholds used when none are given.
    public static let defaultThresholds: [Threshold] = [
        Threshold(metric: "produce.records_per_sec", limit: -0.05),
        Threshold(metric: "consume.records_per_sec", limit: -0.05),
        Threshold(metric: "latency.publish.p99", limit: 0.10),
        Threshold(metric: "latency.end_to_end.p99", limit: 0.10),
    ]

    /// Short names accepted in `--threshold`, and what they mean.
    public static let aliases: [String: String] = [
        "records_per_sec": "produce.records_per_sec", "mb_per_sec": "produce.mb_per_sec",
        "consume_records_per_sec": "consume.records_per_sec", "consume_mb_per_sec": "consume.mb_per_sec",
        "cpu": "cpu_seconds_per_gb",
    ]

    public static var metricNames: [String] {
        var names = ["records_per_sec", "mb_per_sec", "consume_records_per_sec", "consume_mb_per_sec", "cpu_seconds_per_gb"]
        for s in ["p50", "p75", "p90", "p95", "p99", "p99_9", "p99_99", "max", "mean"] { names += [s, "e2e_\(s)", "delay_\(s)"] }
        return names + ["latency.<publish|end_to_end|publish_delay>.<stat>", "produce.<records_per_sec|mb_per_sec>", "consume.<…>"]
    }

    /// The canonical metric path of a name, or nil.
    static func canonical(_ name: String) -> String? {
        if let a = aliases[name] { return a }
        let stats = ["p50", "p75", "p90", "p95", "p99", "p99_9", "p99_99", "max", "mean", "min", "stddev"]
        if stats.contains(name) { return "latency.publish.\(name)" }
        if name.hasPrefix("e2e_"), stats.contains(String(name.dropFirst(4))) { return "latency.end_to_end.\(name.dropFirst(4))" }
        if name.hasPrefix("delay_"), stats.contains(String(name.dropFirst(6))) { return "latency.publish_delay.\(name.dropFirst(6))" }
        let parts = name.split(separator: ".").map(String.init)
        if parts.count == 2, ["produce", "consume"].contains(parts[0]), ["records_per_sec", "mb_per_sec"].contains(parts[1]) { return name }
        if parts.count == 3, parts[0] == "latency", LatencyKind(rawValue: parts[1]) != nil, stats.contains(parts[2]) { return name }
        if name == "cpu_seconds_per_gb" { return name }
        return nil
    }

    /// A metric's value in a step, or nil when the step did not measure it.
    static func value(_ metric: String, in s: StepSummary) -> Double? {
        let parts = metric.split(separator: ".").map(String.init)
        switch parts.first {
        case "produce": return parts[1] == "records_per_sec" ? s.produce.recordsPerSec : s.produce.mbPerSec
        case "consume":
            guard s.workload.subscriptionsPerTopic > 0 else { return nil }
            return parts[1] == "records_per_sec" ? s.consume.recordsPerSec : s.consume.mbPerSec
        case "latency": return s.latency[parts[1]]?.value(named: parts[2])
        case "cpu_seconds_per_gb": return s.cpuSecondsPerGB
        default: return nil
        }
    }

    public enum Status: String, Sendable { case ok, regression, improvement, noise }

    public struct Row: Sendable {
        public var step: String
        public var metric: String
        public var base: (median: Double, min: Double, max: Double, runs: Int)
        public var current: (median: Double, min: Double, max: Double, runs: Int)
        public var change: Double
        public var limit: Double
        public var status: Status
    }

    public struct Result: Sendable {
        public var rows: [Row]
        /// Steps whose runs lost CPU time to the hypervisor (`host_steal_seconds` above zero):
        /// one line each, printed under the table, so that a regression measured on a throttled
        /// machine is rerun before it is believed.
        public var notes: [String] = []
        /// 0 within thresholds, 2 regression, 4 improvements only.
        public var exitCode: Int32 {
            if rows.contains(where: { $0.status == .regression }) { return 2 }
            if rows.contains(where: { $0.status == .improvement }) { return 4 }
            return 0
        }

        /// Set when every compared metric improved beyond its threshold: the baseline is
        /// older than the code it gates, and the line says how to refresh it.
        public var staleBaseline: String?

        /// The comparison table: each row names its unit, values in human units.
        public func table() -> String {
            var lines = [pad("step", 24) + pad("metric", 28) + pad("unit", 7) + pad("base", 30, right: true) + pad("current", 30, right: true) + pad("change", 9, right: true) + pad("limit", 8, right: true) + "  status"]
            func side(_ s: (median: Double, min: Double, max: Double, runs: Int), _ metric: String) -> String {
                let f = { (v: Double) in Compare.format(v, metric: metric) }
                return s.runs > 1 ? "\(f(s.median)) [\(f(s.min))–\(f(s.max))]" : f(s.median)
            }
            for r in rows {
                lines.append(pad(r.step, 24) + pad(r.metric, 28) + pad(Compare.unit(r.metric), 7) + pad(side(r.base, r.metric), 30, right: true) + pad(side(r.current, r.metric), 30, right: true)
                    + pad(String(format: "%+.1f%%", r.change * 100), 9, right: true) + pad(String(format: "%+.0f%%", r.limit * 100), 8, right: true)
                    + "  " + r.status.rawValue.uppercased())
            }
            let verdict = exitCode == 2 ? "REGRESSION" : exitCode == 4 ? "improvement only" : "within thresholds"
            for n in notes { lines.append("note: " + n) }
            if let staleBaseline { lines.append("STALE BASELINE: " + staleBaseline) }
            lines.append("result: \(verdict) (medians over repeats; a change counts only beyond its limit and outside the spread of repeats)")
            return lines.joined(separator: "\n")
        }
    }

    /// The unit a metric's values are shown in.
    public static func unit(_ metric: String) -> String {
        if metric.hasSuffix("records_per_sec") { return "rec/s" }
        if metric.hasSuffix("mb_per_sec") { return "MB/s" }
        if metric.hasPrefix("latency.") { return "time" }
        if metric == "cpu_seconds_per_gb" { return "s/GB" }
        return ""
    }

    /// A metric's value in human units: `10.0 k rec/s`, `47.8 ms`, `512 µs`, `3.2 MB/s`.
    public static func format(_ v: Double, metric: String) -> String {
        switch unit(metric) {
        case "rec/s":
            let a = abs(v)
            if a >= 1e9 { return String(format: "%.2f G rec/s", v / 1e9) }
            if a >= 1e6 { return String(format: "%.2f M rec/s", v / 1e6) }
            if a >= 1e3 { return String(format: "%.1f k rec/s", v / 1e3) }
            return String(format: "%.0f rec/s", v)
        case "MB/s": return String(format: v >= 100 ? "%.0f MB/s" : "%.1f MB/s", v)
        case "time":
            // Latencies are stored in µs.
            if v >= 1_000_000 { return String(format: "%.2f s", v / 1_000_000) }
            if v >= 1000 { return String(format: "%.1f ms", v / 1000) }
            if v >= 10 { return String(format: "%.0f µs", v) }
            return String(format: "%.1f µs", v)
        case "s/GB": return String(format: "%.2f s/GB", v)
        default: return String(format: "%.4g", v)
        }
    }

    /// Loads one summary file, or every `summary.json` under a directory (repeats).
    public static func loadSet(_ path: String) throws(BenchError) -> [RunSummary] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .usage("'\(path)' does not exist; give a summary.json or a directory of runs.")
        }
        if !isDir.boolValue { return [try RunWriter.readSummary(path: path)] }
        var files: [String] = []
        if let e = FileManager.default.enumerator(atPath: path) {
            while let f = e.nextObject() as? String {
                if f == "summary.json" || f.hasSuffix("/summary.json") { files.append(path + "/" + f) }
            }
        }
        guard !files.isEmpty else { throw .usage("'\(path)' holds no summary.json.") }
        var out: [RunSummary] = []
        for f in files.sorted() { out.append(try RunWriter.readSummary(path: f)) }
        return out
    }

    /// Compares `current` with `base` under `thresholds` (default `defaultThresholds`).
    ///
    /// `basePath` names the baseline in the refresh command of a stale-baseline line.
    public static func compare(base: [RunSummary], current: [RunSummary], thresholds: [Threshold] = [], basePath: String? = nil) -> Result {
        let ts = thresholds.isEmpty ? defaultThresholds : thresholds
        var rows: [Row] = []
        var notes: [String] = []
        let stepNames = base.first?.steps.map(\.name) ?? []
        for step in stepNames {
            let bSteps = base.compactMap { $0.steps.first { $0.name == step } }
            let cSteps = current.compactMap { $0.steps.first { $0.name == step } }
            guard !cSteps.isEmpty else { continue }
            for t in ts {
                let bv = bSteps.compactMap { value(t.metric, in: $0) }
                let cv = cSteps.compactMap { value(t.metric, in: $0) }
                guard !bv.isEmpty, !cv.isEmpty else { continue }
                let b = stats(bv), c = stats(cv)
                let change = b.median != 0 ? (c.median - b.median) / b.median : 0
                let higherIsWorse = t.limit > 0
                let bad = higherIsWorse ? change : -change
                let separatedBad = higherIsWorse ? c.min > b.max : c.max < b.min
                let separatedGood = higherIsWorse ? c.max < b.min : c.min > b.max
                let status: Status
                if bad > abs(t.limit) {
                    status = separatedBad ? .regression : .noise
                } else if -bad > abs(t.limit) {
                    status = separatedGood ? .improvement : .noise
                } else {
                    status = .ok
                }
                rows.append(Row(step: step, metric: t.metric, base: b, current: c, change: change, limit: t.limit, status: status))
            }
            let stolen = [("base", bSteps), ("current", cSteps)].compactMap { side, steps -> String? in
                let steal = steps.compactMap(\.hostStealSeconds).filter { $0 > 0 }
                guard let worst = steal.max() else { return nil }
                return "\(side) \(steal.count) of \(steps.count) run(s), up to \(HTMLReport.formatMicros(worst * 1e6))"
            }
            if !stolen.isEmpty {
                notes.append("\(step): the hypervisor took CPU time (host steal) during \(stolen.joined(separator: "; ")); latency there includes whole-machine stalls, so rerun before trusting a latency change.")
            }
        }
        var result = Result(rows: rows, notes: notes)
        if rows.count >= 2, rows.allSatisfy({ $0.status == .improvement }) {
            let preset = base.first?.preset ?? "PRESET"
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            let age = base.compactMap { ISO8601DateFormatter().date(from: $0.startedAt) }.max().map { " (recorded \(day.string(from: $0)))" } ?? ""
            let target = basePath ?? "BASE"
            let refresh = target.hasSuffix(".json")
                ? "weir bench run \(preset) --out /tmp/weir-baseline && cp /tmp/weir-baseline/summary.json \(target)"
                : "weir bench run \(preset) --out \(target)/$(date +%Y%m%d-%H%M%S)"
            result.staleBaseline = "every metric is better than the baseline\(age) beyond its threshold: the baseline predates the code it gates. Refresh it: \(refresh)"
        }
        return result
    }

    static func stats(_ v: [Double]) -> (median: Double, min: Double, max: Double, runs: Int) {
        let s = v.sorted()
        let median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        return (median, s.first!, s.last!, s.count)
    }
}
