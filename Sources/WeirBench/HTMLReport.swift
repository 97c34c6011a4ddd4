import Foundation

/// `report.html`: one self-contained file (inline CSS and SVG, no script, no external
/// resource) with a summary table, a latency percentile chart on HdrHistogram's log
/// "1/(1−p)" axis and a throughput-over-time chart. Several runs go in one report
/// (`weir bench report RUN_DIR...`). The markup is well-formed XML.
public enum HTMLReport {
    /// What a report needs from a run directory.
    public struct RunData: Sendable {
        public var label: String
        public var summary: RunSummary
        /// step → kind → (percentile fraction, µs)
        public var spectra: [String: [String: [(Double, Double)]]]
        /// step → (second, acked records, consumed records)
        public var intervals: [String: [(Int, Int, Int)]]

        /// Reads `summary.json`, `latency.csv` and `intervals.csv` from a run directory.
        public static func read(directory: String) throws(BenchError) -> RunData {
            let summary = try RunWriter.readSummary(path: directory + "/summary.json")
            var spectra: [String: [String: [(Double, Double)]]] = [:]
            for row in csvRows(directory + "/latency.csv") where row.count >= 4 {
                guard let p = Double(row[2]), let v = Double(row[3]) else { continue }
                spectra[row[0], default: [:]][row[1], default: []].append((p, v))
            }
            var intervals: [String: [(Int, Int, Int)]] = [:]
            for row in csvRows(directory + "/intervals.csv") where row.count >= 7 {
                guard let s = Int(row[1]), let a = Int(row[5]), let c = Int(row[6]) else { continue }
                intervals[row[0], default: []].append((s, a, c))
            }
            let label = URL(fileURLWithPath: directory).lastPathComponent
            return RunData(label: label, summary: summary, spectra: spectra, intervals: intervals)
        }

        static func csvRows(_ path: String) -> [[String]] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").dropFirst().map { line in
                // Fields are plain except a quoted step name.
                var out: [String] = []
                var field = ""
                var quoted = false
                for ch in line {
                    if ch == "\"" { quoted.toggle(); continue }
                    if ch == "," && !quoted { out.append(field); field = ""; continue }
                    field.append(ch)
                }
                out.append(field)
                return out
            }
        }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// Renders runs into one HTML document.
    public static func render(runs: [RunData]) throws(BenchError) -> String {
        let multi = runs.count > 1
        var latencySeries: [(String, [(Double, Double)])] = []
        var throughputSeries: [(String, [(Double, Double)])] = []
        var rows: [String] = []
        for run in runs {
            for step in run.summary.steps {
                let prefix = (multi ? run.label + " / " : "") + step.name
                for kind in ["publish", "end_to_end"] {
                    guard let points = run.spectra[step.name]?[kind], !points.isEmpty else { continue }
                    let xy = points.filter { $0.0 < 1 && $0.1 > 0 }.map { (log10(1 / (1 - $0.0)), $0.1) }
                    latencySeries.append(("\(prefix) \(kind)", xy))
                }
                if let iv = run.intervals[step.name] {
                    let measured = iv.filter { $0.0 >= 0 }
                    throughputSeries.append(("\(prefix) produced", measured.map { (Double($0.0), Double($0.1)) }))
                    if step.workload.subscriptionsPerTopic > 0 {
                        throughputSeries.append(("\(prefix) consumed", measured.map { (Double($0.0), Double($0.2)) }))
                    }
                }
                let pub = step.latency["publish"]
                let e2e = step.latency["end_to_end"]
                func us(_ v: Double?) -> String { v.map { formatMicros($0) } ?? "–" }
                rows.append("<tr><td>\(escape(prefix))</td><td>\(escape(step.backend))</td><td>\(step.targetRate > 0 ? String(format: "%.0f", step.targetRate) : "max")</td>"
                    + "<td>\(String(format: "%.0f", step.produce.recordsPerSec))</td><td>\(String(format: "%.1f", step.produce.mbPerSec))</td>"
                    + "<td>\(String(format: "%.0f", step.consume.recordsPerSec))</td>"
                    + "<td>\(us(pub?.p50))</td><td>\(us(pub?.p99))</td><td>\(us(pub?.p99_9))</td><td>\(us(pub?.max))</td>"
                    + "<td>\(us(e2e?.p50))</td><td>\(us(e2e?.p99))</td><td>\(us(e2e?.max))</td>"
                    + "<td>\(step.compressionRatio.map { String(format: "%.2f", $0) } ?? "–")</td>"
                    + "<td>\(us(step.hostStealSeconds.map { $0 * 1e6 }))</td><td>\(step.errors)</td></tr>")
            }
        }
        let title = runs.count == 1 ? "Weir bench: \(runs[0].summary.preset)" : "Weir bench: \(runs.count) runs"
        let machine = runs.first.map { "\($0.summary.machine.cpu), \($0.summary.machine.cores) cores, \($0.summary.machine.os)" } ?? ""
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"/><title>\(escape(title))</title>
        <style>
        body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222}
        table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
        td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}
        svg{background:#fff;border:1px solid #ddd;margin:8px 0}.note{color:#666;font-size:12px}
        </style></head><body>
        <h1>\(escape(title))</h1>
        <p class="note">\(escape(runs.map { "\($0.label): started \($0.summary.startedAt)" }.joined(separator: "; "))). Machine: \(escape(machine)).
        Latencies are measured from each record's intended send time (open loop; coordinated omission corrected). Host steal is CPU time the hypervisor took from this machine during the window: threads stop while it does.</p>
        <table><tr><th>step</th><th>backend</th><th>target rec/s</th><th>produce rec/s</th><th>MB/s</th><th>consume rec/s</th>
        <th>publish p50</th><th>p99</th><th>p99.9</th><th>max</th><th>e2e p50</th><th>p99</th><th>max</th><th>compression</th><th>host steal</th><th>errors</th></tr>
        \(rows.joined(separator: "\n"))
        </table>
        <h2>Latency by percentile</h2>

        """
        html += percentileChart(latencySeries)
        html += "\n<h2>Throughput over time (records/s, after warmup)</h2>\n"
        var bands: [(String, Double, Double)] = []
        for run in runs {
            for step in run.summary.steps {
                let prefix: String = multi ? run.label + " / " + step.name : step.name
                for w in step.faults ?? [] {
                    let label: String = prefix + ": " + w.fault
                    bands.append((label, w.atSeconds, w.atSeconds + w.durationSeconds))
                }
            }
        }
        html += lineChart(throughputSeries, xLabel: "seconds", yLabel: "records/s", bands: bands)
        html += "\n</body></html>\n"
        return html
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func formatMicros(_ us: Double) -> String {
        if us >= 1_000_000 { return String(format: "%.2f s", us / 1_000_000) }
        if us >= 1000 { return String(format: "%.2f ms", us / 1000) }
        return String(format: "%.1f µs", us)
    }

    static let width = 900.0, height = 420.0, left = 80.0, right = 250.0, top = 20.0, bottom = 50.0

    /// Latency (log y, µs) against percentile on a log "1/(1−p)" x axis: 0%, 90%, 99%, 99.9%…
    static func percentileChart(_ series: [(String, [(Double, Double)])]) -> String {
        let xs = series.flatMap { $0.1.map(\.0) }
        let ys = series.flatMap { $0.1.map(\.1) }
        let xMax = max(2, (xs.max() ?? 2).rounded(.up))
        let yLo = floor(log10(max(ys.min() ?? 1, 0.01)))
        let yHi = max(yLo + 1, ceil(log10(max(ys.max() ?? 10, 0.01))))
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + x / xMax * pw }
        func py(_ y: Double) -> Double { top + ph - (log10(max(y, 1e-3)) - yLo) / (yHi - yLo) * ph }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" class=\"percentile-chart\">\n"
        for d in 0...Int(xMax) {
            let x = px(Double(d))
            let text = d == 0 ? "0%" : d == 1 ? "90%" : "99" + (d > 2 ? "." + String(repeating: "9", count: d - 2) : "") + "%"
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + ph))\" stroke=\"#eee\"/><text x=\"\(f(x))\" y=\"\(f(top + ph + 16))\" font-size=\"11\" text-anchor=\"middle\">\(text)</text>\n"
        }
        var e = yLo
        while e <= yHi {
            let y = py(pow(10, e))
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + pw))\" y2=\"\(f(y))\" stroke=\"#eee\"/><text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" font-size=\"11\" text-anchor=\"end\">\(escape(formatMicros(pow(10, e))))</text>\n"
            e += 1
        }
        svg += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 8))\" font-size=\"12\" text-anchor=\"middle\">percentile (log scale of 1/(1−p))</text>\n"
        svg += "<text x=\"14\" y=\"\(f(top + ph / 2))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + ph / 2)))\">latency</text>\n"
        svg += polylines(series, px: px, py: py, legendX: left + pw + 12)
        svg += "</svg>"
        return svg
    }

    /// A line chart of `series`; `bands` (label, from, to in x units) shade the fault windows.
    static func lineChart(_ series: [(String, [(Double, Double)])], xLabel: String, yLabel: String,
                          bands: [(String, Double, Double)] = []) -> String {
        let xs = series.flatMap { $0.1.map(\.0) }
        let ys = series.flatMap { $0.1.map(\.1) }
        let xMax = max(1, xs.max() ?? 1)
        let yMax = niceCeiling(max(1, ys.max() ?? 1))
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + x / xMax * pw }
        func py(_ y: Double) -> Double { top + ph - y / yMax * ph }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" class=\"throughput-chart\">\n"
        for i in 0...5 {
            let v = yMax * Double(i) / 5
            let y = py(v)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + pw))\" y2=\"\(f(y))\" stroke=\"#eee\"/><text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" font-size=\"11\" text-anchor=\"end\">\(shortNumber(v))</text>\n"
            let xv = xMax * Double(i) / 5
            svg += "<text x=\"\(f(px(xv)))\" y=\"\(f(top + ph + 16))\" font-size=\"11\" text-anchor=\"middle\">\(String(format: "%.0f", xv))</text>\n"
        }
        svg += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 8))\" font-size=\"12\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(f(top + ph / 2))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + ph / 2)))\">\(escape(yLabel))</text>\n"
        for (label, from, to) in bands {
            let x0 = px(max(0, from)), x1 = px(min(xMax, max(to, from + 0.05)))
            svg += "<rect class=\"fault\" x=\"\(f(x0))\" y=\"\(f(top))\" width=\"\(f(max(1, x1 - x0)))\" height=\"\(f(ph))\" fill=\"#d62728\" fill-opacity=\"0.12\"><title>\(escape(label))</title></rect>"
            svg += "<text x=\"\(f(x0 + 2))\" y=\"\(f(top + 12))\" font-size=\"10\" fill=\"#d62728\">\(escape(label))</text>\n"
        }
        svg += polylines(series, px: px, py: py, legendX: left + pw + 12)
        svg += "</svg>"
        return svg
    }

    static func polylines(_ series: [(String, [(Double, Double)])], px: (Double) -> Double, py: (Double) -> Double, legendX: Double) -> String {
        var svg = ""
        for (i, (name, points)) in series.enumerated() {
            let color = palette[i % palette.count]
            let dash = i / palette.count > 0 ? " stroke-dasharray=\"5,3\"" : ""
            let pts = points.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(dash) points=\"\(pts)\"><title>\(escape(name))</title></polyline>\n"
            let ly = top + 14 + Double(i) * 16
            svg += "<line x1=\"\(f(legendX))\" y1=\"\(f(ly - 4))\" x2=\"\(f(legendX + 18))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/><text x=\"\(f(legendX + 24))\" y=\"\(f(ly))\" font-size=\"11\">\(escape(name))</text>\n"
        }
        return svg
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v.isFinite ? v : 0) }

    static func niceCeiling(_ v: Double) -> Double {
        let e = pow(10, floor(log10(v)))
        for m in [1.0, 2, 2.5, 5, 10] where m * e >= v { return m * e }
        return 10 * e
    }

    static func shortNumber(_ v: Double) -> String {
        if v >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if v >= 1e3 { return String(format: "%.0fk", v / 1e3) }
        return String(format: "%.0f", v)
    }
}
