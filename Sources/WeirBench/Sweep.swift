import Foundation

/// `weir bench sweep`: a grid of Kafka properties (or workload fields) over one base workload.
public enum Sweep {
    /// Parses `--param key=v1,v2,...`.
    public static func parse(_ params: [String]) throws(BenchError) -> [(key: String, values: [String])] {
        var out: [(key: String, values: [String])] = []
        for p in params {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw .usage("--param '\(p)' is not key=v1,v2,…; e.g. --param batch.size=16384,65536.")
            }
            let values = p[p.index(after: eq)...].split(separator: ",").map(String.init)
            guard !values.isEmpty else { throw .usage("--param '\(p)' has no values.") }
            out.append((String(p[..<eq]), values))
        }
        guard !out.isEmpty else { throw .usage("give at least one --param key=v1,v2,….") }
        return out
    }

    /// The cartesian product of `params` applied to `base`: a workload field (`producerRate`,
    /// `partitionsPerTopic`, …) is set as such, anything else is a Kafka property (`--config`).
    public static func grid(base: Workload, params: [(key: String, values: [String])]) throws(BenchError) -> [Workload] {
        var steps = [base]
        for (key, values) in params {
            var next: [Workload] = []
            for w in steps {
                for v in values {
                    var x = w
                    if Workload.table.spec(key) != nil { try x.set(key, v) } else { x.config[key] = v }
                    next.append(x)
                }
            }
            steps = next
        }
        for i in steps.indices {
            steps[i].name = params.map { p in "\(p.key)=\(steps[i].fieldText(p.key))" }.joined(separator: " ")
            try steps[i].validate()
        }
        return steps
    }

    /// The best step per objective: highest produce throughput, lowest publish p99, lowest
    /// end-to-end p99.
    public static func best(_ summary: RunSummary) -> String {
        var lines: [String] = []
        if let t = summary.steps.max(by: { $0.produce.recordsPerSec < $1.produce.recordsPerSec }) {
            lines.append("best throughput: \(t.name) (" + String(format: "%.0f rec/s, %.1f MB/s)", t.produce.recordsPerSec, t.produce.mbPerSec))
        }
        let withP99 = summary.steps.filter { $0.latency["publish"] != nil }
        if let l = withP99.min(by: { $0.latency["publish"]!.p99 < $1.latency["publish"]!.p99 }) {
            lines.append("best publish p99: \(l.name) (\(HTMLReport.formatMicros(l.latency["publish"]!.p99)))")
        }
        let withE2E = summary.steps.filter { $0.latency["end_to_end"] != nil }
        if let e = withE2E.min(by: { $0.latency["end_to_end"]!.p99 < $1.latency["end_to_end"]!.p99 }) {
            lines.append("best end-to-end p99: \(e.name) (\(HTMLReport.formatMicros(e.latency["end_to_end"]!.p99)))")
        }
        return lines.joined(separator: "\n")
    }
}

extension Workload {
    /// A field's or Kafka property's value as text, for step names.
    func fieldText(_ key: String) -> String {
        Self.table.spec(key).map { $0.get(self) } ?? config[key] ?? "?"
    }
}
