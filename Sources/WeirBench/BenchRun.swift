import Foundation
public import WeirClientAPI

/// Runs the steps of a preset or workload file, one fresh client per step, and collects the
/// run's summary and results.
public struct BenchRun: Sendable {
    /// Makes the client of a step (its `backend`, `logDir` and `config` chosen): the caller
    /// names the backends (the CLI: embedded, kafka, null); the bench never does.
    public typealias ClientFactory = @Sendable (Workload) async throws(BenchError) -> any MessagingClient

    public var name: String
    public var steps: [Workload]
    public var progress: @Sendable (String) -> Void
    /// The client of each step; closed after the step.
    public var makeClient: ClientFactory
    /// `--metrics-listen`: every closed interval of every step goes here; nil = none.
    public var live: LiveMetrics?

    public init(name: String, steps: [Workload], progress: @escaping @Sendable (String) -> Void = { _ in }, makeClient: @escaping ClientFactory) {
        self.name = name
        self.steps = steps
        self.progress = progress
        self.makeClient = makeClient
    }

    /// Applies `--set key=value` and `--config key=value` overrides to every step.
    ///
    /// - Throws: `.usage` naming a malformed pair or an unknown field.
    public static func applyOverrides(_ steps: [Workload], set: [String], config: [String]) throws(BenchError) -> [Workload] {
        var out = steps
        for i in out.indices {
            for pair in set {
                let (k, v) = try split(pair, flag: "--set")
                try out[i].set(k, v)
            }
            for pair in config {
                let (k, v) = try split(pair, flag: "--config")
                out[i].config[k] = v
            }
            try out[i].validate()
        }
        return out
    }

    static func split(_ pair: String, flag: String) throws(BenchError) -> (String, String) {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw .usage("\(flag) '\(pair)' is not key=value.")
        }
        return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
    }

    /// Runs every step. Each step gets a fresh client (a fresh temporary log directory).
    public func run() async throws(BenchError) -> (RunSummary, [StepResult]) {
        var summary = RunSummary(preset: name)
        let t0 = monotonicNanos()
        var results: [StepResult] = []
        for (i, w) in steps.enumerated() {
            progress("[\(i + 1)/\(steps.count)] \(w.name): \(describe(w))")
            let r: StepResult
            if w.mode == .findMaxRate {
                r = try await findMaxRate(w)
            } else {
                r = try await runStep(w)
            }
            progress(SummaryTable.line(r.summary))
            results.append(r)
            summary.steps.append(r.summary)
        }
        summary.wallSeconds = Double(monotonicNanos() - t0) / 1e9
        return (summary, results)
    }

    func runStep(_ w: Workload) async throws(BenchError) -> StepResult {
        try w.checkRunnable()
        if w.pattern != nil && w.backend == "null" {
            throw .usage("pattern: '\(w.pattern!)' needs a client stack; the null backend has none. Use backend embedded or kafka.")
        }
        var client = try await makeClient(w)
        if let name = w.pattern, let scenario = PatternScenario.named(name) {
            do {
                client = try await scenario.wrap(w, client)
            } catch {
                await client.close()
                throw error
            }
        }
        do {
            var generator = LoadGenerator(workload: w, client: client, progress: progress)
            generator.live = live
            let r = try await generator.run()
            await client.close()
            return r
        } catch {
            await client.close()
            throw error
        }
    }

    /// Searches the highest rate whose publish p99 stays under `maxP99Millis` and whose
    /// achieved rate stays within 5% of the target: doubles from `producerRate` until a probe
    /// fails (or halves until one holds), then bisects 4 times. Each probe is a fresh short run.
    func findMaxRate(_ w: Workload) async throws(BenchError) -> StepResult {
        var probes: [RateProbe] = []
        var best: StepResult?
        var lo = 0.0
        var hi: Double?
        var rate = max(w.producerRate, 1000)
        func probe(_ r: Double) async throws(BenchError) -> Bool {
            var pw = w
            pw.mode = .fixed
            pw.producerRate = r
            pw.name = "\(w.name)@\(Int(r))"
            let result = try await runStep(pw)
            let p99 = (result.summary.latency["publish"]?.p99 ?? .infinity) / 1000
            let achieved = result.summary.produce.recordsPerSec
            let ok = p99 <= w.maxP99Millis && achieved >= 0.95 * r && result.summary.errors == 0
            probes.append(RateProbe(rate: r, achievedRate: achieved, p99Millis: p99, ok: ok))
            progress(String(format: "find-max-rate: %.0f rec/s → achieved %.0f, p99 %.2f ms: ", r, achieved, p99) + (ok ? "holds" : "fails"))
            if ok && r > lo { lo = r; best = result }
            return ok
        }
        // Up from the start rate while the bound holds; when the start rate already fails,
        // down by halves until it holds.
        for _ in 0..<12 {
            if try await probe(rate) { rate *= 2 } else { hi = rate; break }
        }
        if lo == 0, let h = hi {
            var down = h / 2
            while down >= 100, lo == 0 {
                if try await !probe(down) { hi = down }
                down /= 2
            }
        }
        if let h = hi {
            var upper = h
            for _ in 0..<4 {
                let mid = (lo + upper) / 2
                guard mid > 0, upper - lo > 0.05 * upper else { break }
                if try await !probe(mid) { upper = mid }
            }
        }
        guard var result = best else {
            throw BenchError(.backend, String(format: "find-max-rate: even %.0f rec/s exceeded p99 %.2f ms; lower producerRate or raise maxP99Millis.", rate, w.maxP99Millis))
        }
        result.summary.name = w.name
        result.summary.workload = w
        result.summary.probes = probes
        result.summary.maxSustainableRate = lo
        return result
    }

    func describe(_ w: Workload) -> String {
        var parts = ["\(w.backend)", "\(w.topics)×\(w.partitionsPerTopic) partitions", "\(w.producersPerTopic) producer(s)/topic"]
        if w.subscriptionsPerTopic > 0 { parts.append("\(w.subscriptionsPerTopic) group(s) × \(w.consumerPerSubscription) consumer(s)") }
        parts.append(w.isMaxRate ? "max rate" : String(format: "%.0f rec/s", w.producerRate))
        parts.append(w.messageSizeMax > w.messageSize ? "\(w.messageSize)–\(w.messageSizeMax) B" : "\(w.messageSize) B")
        parts.append(String(format: "warmup %.0f s, ", w.warmupSeconds) + (w.records > 0 ? "\(w.records) records" : String(format: "%.0f s", w.durationSeconds)))
        if !w.config.isEmpty { parts.append(w.config.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
        return parts.joined(separator: ", ")
    }
}

/// The final summary table.
public enum SummaryTable {
    /// One line per step: throughput, publish and end-to-end latency.
    public static func render(_ summary: RunSummary) -> String {
        // The step column is as wide as the longest name (sweeps name steps after their grid
        // point, e.g. "batch.size=262144 linger.ms=20"), so the columns stay aligned.
        let nameWidth = max(26, (summary.steps.map(\.name.count).max() ?? 0) + 2)
        var lines = [
            pad("step", nameWidth) + pad("target", 9, right: true) + pad("prod rec/s", 12, right: true) + pad("MB/s", 8, right: true)
                + pad("cons rec/s", 12, right: true) + pad("pub p50", 10, right: true) + pad("p99", 10, right: true)
                + pad("p99.9", 10, right: true) + pad("max", 10, right: true) + pad("e2e p50", 10, right: true)
                + pad("p99", 10, right: true) + pad("ratio", 7, right: true) + pad("cpu s/GB", 9, right: true) + pad("err", 5, right: true),
        ]
        for s in summary.steps {
            let pub = s.latency["publish"], e2e = s.latency["end_to_end"]
            func us(_ v: Double?) -> String { v.map { HTMLReport.formatMicros($0) } ?? "-" }
            lines.append(
                pad(s.name, nameWidth) + pad(s.targetRate > 0 ? formatRate(s.targetRate) : "max", 9, right: true)
                    + pad(String(format: "%.0f", s.produce.recordsPerSec), 12, right: true) + pad(String(format: "%.1f", s.produce.mbPerSec), 8, right: true)
                    + pad(s.workload.subscriptionsPerTopic > 0 ? String(format: "%.0f", s.consume.recordsPerSec) : "-", 12, right: true)
                    + pad(us(pub?.p50), 10, right: true) + pad(us(pub?.p99), 10, right: true) + pad(us(pub?.p99_9), 10, right: true)
                    + pad(us(pub?.max), 10, right: true) + pad(us(e2e?.p50), 10, right: true) + pad(us(e2e?.p99), 10, right: true)
                    + pad(s.compressionRatio.map { String(format: "%.2f", $0) } ?? "-", 7, right: true)
                    + pad(String(format: "%.2f", s.cpuSecondsPerGB), 9, right: true) + pad(String(s.errors), 5, right: true))
            if let m = s.maxSustainableRate { lines.append("  max sustainable rate: \(String(format: "%.0f", m)) rec/s (publish p99 ≤ \(s.workload.maxP99Millis) ms)") }
            if let b = s.backlog {
                lines.append(String(format: "  backlog: %.2f GB built in %.1f s, drained in ", Double(b.backlogBytes) / 1e9, b.buildSeconds) + (b.drainSeconds.map { String(format: "%.1f s", $0) } ?? "(not caught up)"))
            }
            if s.undrained > 0 { lines.append("  \(s.undrained) records were not consumed before drainTimeoutSeconds") }
            if let u = s.unsent, u > 0 { lines.append("  \(u) scheduled records were not sent: the producers fell behind the target rate (lower producerRate, or 0 for max rate)") }
            for f in s.faults ?? [] {
                let kind = f.p99Micros["end_to_end"] != nil ? "end_to_end" : "publish"
                lines.append(String(format: "  fault %@ at %.1f s for %.1f s: ", f.fault, f.atSeconds, f.durationSeconds)
                    + "\(kind == "end_to_end" ? "e2e" : "publish") p99 \(f.p99Micros[kind].map(HTMLReport.formatMicros) ?? "-"), max \(f.maxMicros[kind].map(HTMLReport.formatMicros) ?? "-"); "
                    + (f.recoverySeconds.map { String(format: "recovered %.1f s after it ended", $0) } ?? "not recovered within the step"))
            }
            if let steal = s.hostStealSeconds, steal > 0 {
                lines.append("  host steal: the hypervisor took \(HTMLReport.formatMicros(steal * 1e6)) of CPU time from this machine's CPUs in the window; "
                    + "threads stop while it does, and the latency tail shows it (per second: host_steal_ms in intervals.csv)")
            }
        }
        lines.append(String(format: "wall %.1f s", summary.wallSeconds))
        return lines.joined(separator: "\n")
    }

    /// A one-line result for progress output.
    public static func line(_ s: StepSummary) -> String {
        var out = String(format: "  → %.0f rec/s (%.1f MB/s) produced", s.produce.recordsPerSec, s.produce.mbPerSec)
        if let p = s.latency["publish"] { out += ", publish p50 \(HTMLReport.formatMicros(p.p50)) p99 \(HTMLReport.formatMicros(p.p99)) max \(HTMLReport.formatMicros(p.max))" }
        if s.workload.subscriptionsPerTopic > 0 { out += String(format: "; %.0f rec/s consumed", s.consume.recordsPerSec) }
        if let e = s.latency["end_to_end"] { out += ", e2e p99 \(HTMLReport.formatMicros(e.p99))" }
        return out
    }
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let n = s.count
    guard n < width else { return " " + s }
    let fill = String(repeating: " ", count: width - n)
    return right ? fill + s : s + fill
}

/// 12.3M / 456.7k style.
func formatRate(_ v: Double) -> String {
    switch v {
    case 1e9...: String(format: "%.2fG", v / 1e9)
    case 1e6...: String(format: "%.2fM", v / 1e6)
    case 1e3...: String(format: "%.1fk", v / 1e3)
    default: String(format: "%.1f", v)
    }
}
