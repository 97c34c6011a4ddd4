import WeirRandom

/// Costs of the generator's hot-path operations on this machine, measured in a release loop
/// (`weir bench micro`); the package-benchmark targets under Benchmarks/ cover the log core.
public enum Microbenchmarks {
    public struct Figure: Sendable {
        public var name: String
        public var nanosPerOperation: Double
        /// The target from issue 6, when there is one.
        public var target: Double?
    }

    /// Measures: one `monotonicNanos()` read, recording one latency sample, one generator
    /// iteration on the null backend (max rate, 100 B, one thread).
    public static func run() async throws(BenchError) -> [Figure] {
        var figures: [Figure] = []
        let n = 20_000_000
        var sink: UInt64 = 0
        var t0 = monotonicNanos()
        for _ in 0..<n { sink &+= monotonicNanos() }
        figures.append(Figure(name: "clock read (CLOCK_MONOTONIC)", nanosPerOperation: Double(monotonicNanos() - t0) / Double(n)))

        let inbox = _Inbox()
        let recorder = LatencyRecorder(kind: .publish, counter: .acked, inbox: inbox, origin: 0, intervalNanos: UInt64.max / 2)
        var g = PayloadGenerator(seed: 3)
        var values = [UInt64](repeating: 0, count: 4096)
        for i in values.indices { values[i] = 10_000 + g.next() % 5_000_000 }
        let now = monotonicNanos()
        t0 = monotonicNanos()
        for i in 0..<n { recorder.record(latencyNanos: values[i & 4095], bytes: 100, now: now) }
        figures.append(Figure(name: "record one latency sample", nanosPerOperation: Double(monotonicNanos() - t0) / Double(n), target: 20))
        recorder.finish()
        sink &+= UInt64(inbox.take().count)

        var w = Workload()
        w.backend = "null"
        w.producerRate = 0
        w.messageSize = 100
        w.subscriptionsPerTopic = 0
        w.warmupSeconds = 0.2
        w.durationSeconds = 2
        let r = try await LoadGenerator(workload: w, client: NullClient()).run()
        let perRecord = 1e9 / max(r.summary.produce.recordsPerSec, 1)
        figures.append(Figure(name: "generator iteration, null backend, 1 thread", nanosPerOperation: perRecord, target: 100))
        w.producersPerTopic = 2
        let r2 = try await LoadGenerator(workload: w, client: NullClient()).run()
        figures.append(Figure(name: "generator, null backend, 2 threads (ns per record overall)", nanosPerOperation: 1e9 / max(r2.summary.produce.recordsPerSec, 1), target: 100))
        if sink == 42 { figures.append(Figure(name: "", nanosPerOperation: 0)) }
        return figures
    }
}
