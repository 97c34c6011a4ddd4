import Foundation

extension Sweep {
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
