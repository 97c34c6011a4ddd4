import Foundation
import Histogram

/// `weir bench merge RUN…`: merges run directories of the same preset or workload that ran at
/// the same time (the workers of one benchmark, one per host or process) into one summary and
/// report.
///
/// Latency histograms are merged exactly from each run's interval logs (`.hlog`), per second
/// and in total; counts, bytes, errors and CPU time are summed, rates added (the workers ran
/// in parallel). Every run must have the same steps.
///
/// End-to-end latency is measured where the record is consumed, against the send time the
/// record carries: across hosts it is only as good as the hosts' clock sync (NTP: typically
/// 0.1–10 ms; PTP: µs), and the merged summary says so when the runs came from several hosts.
public enum RunMerge {
    /// Reads and merges `directories`.
    ///
    /// - Throws: `.usage` when fewer than two runs are given or their steps differ; `.io`
    ///   when a run lacks its summary or interval logs.
    public static func merge(directories: [String]) throws(BenchError) -> (RunSummary, [StepResult], notes: [String]) {
        guard directories.count >= 2 else { throw .usage("give at least two run directories to merge.") }
        var runs: [RunSummary] = []
        for d in directories { runs.append(try RunWriter.readSummary(path: d + "/summary.json")) }
        let names = runs[0].steps.map(\.name)
        for (i, r) in runs.enumerated() where r.steps.map(\.name) != names {
            throw .usage("'\(directories[i])' has steps \(r.steps.map(\.name)); '\(directories[0])' has \(names). Merge runs of the same preset or workload.")
        }
        var summary = RunSummary(preset: runs[0].preset)
        summary.machine = runs[0].machine
        summary.startedAt = runs.map(\.startedAt).min() ?? summary.startedAt
        summary.wallSeconds = runs.map(\.wallSeconds).max() ?? 0
        var notes: [String] = []
        let hosts = Set(runs.map(\.machine.hostname))
        if hosts.count > 1 {
            notes.append("the runs came from \(hosts.count) hosts (\(hosts.sorted().joined(separator: ", "))): end-to-end latency compares clocks across hosts where producer and consumer differ, so it is only as accurate as their clock sync")
        }
        var results: [StepResult] = []
        let single = names.count == 1
        for (index, name) in names.enumerated() {
            let steps = runs.map { $0.steps[index] }
            var totals: [LatencyKind: Histogram<UInt64>] = [:]
            var perSecond: [LatencyKind: [Int: Histogram<UInt64>]] = [:]
            var entries: [IntervalHistogram] = []
            var starts: [Double] = []
            for d in directories {
                for kind in LatencyKind.allCases {
                    let file = d + "/" + (single ? "\(kind.rawValue).hlog" : "\(RunWriter.fileSafe(name))-\(kind.rawValue).hlog")
                    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
                    let log: (startEpoch: Double?, entries: [HistogramLog.Entry])
                    do { log = try HistogramLog.parse(text) } catch { throw BenchError(.io, "\(file): \(error.message)") }
                    if let s = log.startEpoch { starts.append(s) }
                    for e in log.entries {
                        let second = Int(e.startSeconds.rounded(.down))
                        if totals[kind] == nil { totals[kind] = e.histogram } else { totals[kind]!.add(e.histogram) }
                        if perSecond[kind]?[second] == nil { perSecond[kind, default: [:]][second] = e.histogram } else { perSecond[kind]![second]!.add(e.histogram) }
                    }
                }
            }
            let measured = steps.contains { $0.latency["publish"] != nil || $0.latency["end_to_end"] != nil }
            if measured && totals.isEmpty {
                throw BenchError(.io, "no interval log (.hlog) for step '\(name)' in the runs; merge needs runs written by a Weir with interval logs.")
            }
            for (kind, seconds) in perSecond {
                for (second, h) in seconds {
                    entries.append(IntervalHistogram(kind: kind, startSeconds: Double(second), lengthSeconds: 1, histogram: h))
                }
            }
            var s = steps[0]
            s.produce = sum(steps.map(\.produce))
            s.consume = sum(steps.map(\.consume))
            s.targetRate = steps.reduce(0) { $0 + $1.targetRate }
            s.durationSeconds = steps.map(\.durationSeconds).max() ?? 0
            s.errors = steps.reduce(0) { $0 + $1.errors }
            s.undrained = steps.reduce(0) { $0 + $1.undrained }
            s.cpuSeconds = steps.reduce(0) { $0 + $1.cpuSeconds }
            s.cpuSecondsPerGB = s.produce.bytes > 0 ? s.cpuSeconds / (Double(s.produce.bytes) / 1e9) : 0
            let steal = steps.compactMap(\.hostStealSeconds)
            s.hostStealSeconds = steal.isEmpty ? nil : steal.reduce(0, +)
            let weighted = steps.compactMap { st in st.compressionRatio.map { ($0, Double(st.produce.bytes)) } }
            let weight = weighted.reduce(0) { $0 + $1.1 }
            s.compressionRatio = weight > 0 ? weighted.reduce(0) { $0 + $1.0 * $1.1 } / weight : nil
            s.latency = [:]
            for (kind, h) in totals where h.totalCount > 0 { s.latency[kind.rawValue] = LatencyStats(h) }
            s.backendDetails = (s.backendDetails ?? [:]).merging(["merged_runs": String(directories.count)]) { $1 }
            s.probes = nil
            s.maxSustainableRate = nil
            let rows = try mergedRows(directories: directories, step: name, perSecond: perSecond)
            results.append(StepResult(summary: s, intervals: rows, histograms: totals, intervalHistograms: entries, measureStartEpoch: starts.min()))
            summary.steps.append(s)
        }
        return (summary, results, notes)
    }

    static func sum(_ t: [ThroughputSummary]) -> ThroughputSummary {
        var out = ThroughputSummary()
        for x in t {
            out.records += x.records
            out.bytes += x.bytes
            out.recordsPerSec += x.recordsPerSec
            out.mbPerSec += x.mbPerSec
            out.errors += x.errors
        }
        return out
    }

    /// Per-second rows: counts summed from each run's `intervals.csv`, statistics from the
    /// merged interval histograms.
    static func mergedRows(directories: [String], step: String, perSecond: [LatencyKind: [Int: Histogram<UInt64>]]) throws(BenchError) -> [IntervalRow] {
        var rows: [Int: IntervalRow] = [:]
        for d in directories {
            let path = d + "/intervals.csv"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), let header = text.split(separator: "\n").first else {
                throw BenchError(.io, "cannot read '\(path)'.")
            }
            let columns = header.split(separator: ",").map(String.init)
            func col(_ name: String) -> Int? { columns.firstIndex(of: name) }
            guard let cSecond = col("second"), let cProduced = col("produced_records"), let cAcked = col("acked_records"),
                  let cConsumed = col("consumed_records"), let cErrors = col("errors"), let cPMB = col("produced_mb"), let cCMB = col("consumed_mb")
            else { throw BenchError(.io, "'\(path)' lacks the columns of intervals.csv.") }
            let cSteal = col("host_steal_ms")
            for f in HTMLReport.RunData.csvRows(path) where f.count == columns.count && f[0] == step {
                guard let second = Int(f[cSecond]) else { continue }
                var r = rows[second] ?? IntervalRow(second: second)
                r.produced += Int(f[cProduced]) ?? 0
                r.producedBytes += Int(((Double(f[cPMB]) ?? 0) * 1e6).rounded())
                r.acked += Int(f[cAcked]) ?? 0
                r.consumed += Int(f[cConsumed]) ?? 0
                r.consumedBytes += Int(((Double(f[cCMB]) ?? 0) * 1e6).rounded())
                r.errors += Int(f[cErrors]) ?? 0
                if let c = cSteal, let v = Double(f[c]) { r.stealMillis = (r.stealMillis ?? 0) + v }
                rows[second] = r
            }
        }
        for (kind, seconds) in perSecond {
            for (second, h) in seconds {
                var r = rows[second] ?? IntervalRow(second: second)
                r.latency[kind] = LatencyStats(h)
                rows[second] = r
            }
        }
        return rows.keys.sorted().map { rows[$0]! }
    }
}
