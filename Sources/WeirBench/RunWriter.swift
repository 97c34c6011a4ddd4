import Foundation
public import Histogram

/// Writes a run's directory: `summary.json`, `intervals.csv`, `latency.csv`, one `.hgrm` and
/// one `.hlog` (HdrHistogram interval log) per step and latency kind, and `report.html`.
public enum RunWriter {
    /// Writes every file of a run into `dir` (created if needed) and returns the paths written.
    @discardableResult
    public static func write(_ summary: RunSummary, results: [StepResult], to dir: String) throws(BenchError) -> [String] {
        var written: [String] = []
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw BenchError(.io, "cannot create the run directory '\(dir)': \(error.localizedDescription)")
        }
        func put(_ name: String, _ text: String) throws(BenchError) {
            let path = dir + "/" + name
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw BenchError(.io, "cannot write '\(path)': \(error.localizedDescription)")
            }
            written.append(path)
        }
        try put("summary.json", summaryJSON(summary))
        try put("intervals.csv", intervalsCSV(results))
        try put("latency.csv", latencyCSV(results))
        let single = results.count == 1
        for r in results {
            for kind in LatencyKind.allCases {
                guard let h = r.histograms[kind] else { continue }
                let name = single ? "\(kind.rawValue).hgrm" : "\(fileSafe(r.summary.name))-\(kind.rawValue).hgrm"
                try put(name, hgrm(h))
            }
        }
        for r in results {
            for kind in LatencyKind.allCases {
                let entries = r.intervalHistograms.filter { $0.kind == kind }
                guard !entries.isEmpty else { continue }
                let name = single ? "\(kind.rawValue).hlog" : "\(fileSafe(r.summary.name))-\(kind.rawValue).hlog"
                let comment = "Weir \(kind.rawValue) latency, step \(r.summary.name), values in ns"
                try put(name, HistogramLog.text(entries, startEpoch: r.measureStartEpoch ?? 0, comment: comment))
            }
        }
        for r in results {
            let name = single ? "omb-result.json" : "\(fileSafe(r.summary.name))-omb-result.json"
            try put(name, try OMBResult(r).json())
        }
        let report = try HTMLReport.render(runs: [HTMLReport.RunData.read(directory: dir)])
        try put("report.html", report)
        return written
    }

    public static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    /// `summary.json`: pretty-printed, keys sorted, so that diffs of committed baselines read well.
    public static func summaryJSON(_ summary: RunSummary) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(summary), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text + "\n"
    }

    /// Reads a `summary.json`.
    public static func readSummary(path: String) throws(BenchError) -> RunSummary {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BenchError(.io, "cannot read '\(path)'; give a summary.json or a run directory.")
        }
        do { return try JSONDecoder().decode(RunSummary.self, from: data) } catch {
            throw BenchError(.io, "'\(path)' is not a Weir summary.json (schema weir-bench-summary): \(error)")
        }
    }

    /// The percentiles `intervals.csv` carries per interval and latency kind (µs), as OMB's
    /// per-window statistics do, plus the interval's max.
    public static let intervalStatistics = ["p50", "p90", "p99", "p99_9", "p99_99", "max"]
    /// The column prefix of each latency kind in `intervals.csv`.
    static func columnPrefix(_ kind: LatencyKind) -> String { kind == .endToEnd ? "e2e" : kind.rawValue }

    public static let intervalsHeader: String = {
        var columns = ["step", "second", "phase", "produced_records", "produced_mb", "acked_records", "consumed_records", "consumed_mb", "errors"]
        for k in LatencyKind.allCases {
            for stat in intervalStatistics { columns.append("\(columnPrefix(k))_\(stat)_us") }
        }
        return (columns + ["host_steal_ms", "fault"]).joined(separator: ",")
    }()

    /// `intervals.csv`: one row per step and second (`second` -1 is the warmup; `phase` is
    /// `warmup`, `measure` or `drain`).
    public static func intervalsCSV(_ results: [StepResult]) -> String {
        var lines = [intervalsHeader]
        func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "" }
        for r in results {
            let window = Int(r.summary.durationSeconds.rounded(.up))
            for row in r.intervals {
                let phase = row.second < 0 ? "warmup" : row.second < window ? "measure" : "drain"
                var fields: [String] = [
                    csvField(r.summary.name), String(row.second), phase, String(row.produced),
                    String(format: "%.3f", Double(row.producedBytes) / 1e6), String(row.acked), String(row.consumed),
                    String(format: "%.3f", Double(row.consumedBytes) / 1e6), String(row.errors),
                ]
                for k in LatencyKind.allCases {
                    for stat in intervalStatistics { fields.append(f(row.latency[k]?.value(named: stat))) }
                }
                fields.append(row.stealMillis.map { String(format: "%.0f", $0) } ?? "")
                fields.append(row.fault.map(csvField) ?? "")
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static let latencyHeader = "step,kind,percentile,value_us,total_count,one_over_one_minus_p"

    /// `latency.csv`: the percentile spectrum of every step and kind (HdrHistogram's percentile
    /// iteration, 5 ticks per half distance), values in microseconds.
    public static func latencyCSV(_ results: [StepResult]) -> String {
        var lines = [latencyHeader]
        for r in results {
            for kind in LatencyKind.allCases {
                guard let h = r.histograms[kind] else { continue }
                for (p, v, total) in spectrum(h) {
                    let inv = p >= 1 ? "inf" : String(format: "%.2f", 1 / (1 - p))
                    lines.append("\(csvField(r.summary.name)),\(kind.rawValue),\(String(format: "%.12f", p)),\(String(format: "%.3f", v)),\(total),\(inv)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// (percentile as a fraction, value in µs, total count so far) along HdrHistogram's
    /// percentile iteration.
    public static func spectrum(_ h: Histogram<UInt64>, ticks: Int = 5) -> [(Double, Double, UInt64)] {
        var out: [(Double, Double, UInt64)] = []
        for iv in h.percentiles(ticksPerHalfDistance: ticks) {
            out.append((iv.percentileLevelIteratedTo / 100, Double(iv.value) / 1000, iv.totalCountToThisValue))
        }
        return out
    }

    /// The HdrHistogram percentile-distribution format (`.hgrm`), values in milliseconds, as
    /// the HdrHistogram plotter reads it.
    public static func hgrm(_ h: Histogram<UInt64>) -> String {
        var text = ""
        h.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1_000_000, percentileTicksPerHalfDistance: 5)
        return text
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// Reads the `.hgrm` format back: (value, percentile fraction, total count) rows and the
/// trailer's mean, max and total count.
public struct HgrmFile: Sendable, Equatable {
    public var rows: [(value: Double, percentile: Double, totalCount: UInt64)]
    public var mean: Double?
    public var max: Double?
    public var totalCount: UInt64?

    public static func == (a: HgrmFile, b: HgrmFile) -> Bool {
        a.rows.count == b.rows.count && zip(a.rows, b.rows).allSatisfy { $0 == $1 } && a.mean == b.mean && a.max == b.max && a.totalCount == b.totalCount
    }

    /// Parses `.hgrm` text; throws `.io` naming the line that does not parse.
    public static func parse(_ text: String) throws(BenchError) -> HgrmFile {
        var f = HgrmFile(rows: [])
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("Value") { continue }
            if line.hasPrefix("#[") {
                let parts = line.dropFirst(2).dropLast().split(separator: ",")
                for part in parts {
                    let kv = part.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                    guard kv.count == 2 else { continue }
                    switch kv[0] {
                    case "Mean": f.mean = Double(kv[1])
                    case "Max": f.max = Double(kv[1])
                    case "Total count": f.totalCount = UInt64(kv[1])
                    default: break
                    }
                }
                continue
            }
            let cols = line.split(separator: " ", omittingEmptySubsequences: true)
            guard cols.count >= 3, let v = Double(cols[0]), let p = Double(cols[1]), let c = UInt64(cols[2]) else {
                throw BenchError(.io, "hgrm line \(n + 1) does not parse: '\(line)'")
            }
            f.rows.append((v, p, c))
        }
        return f
    }
}
