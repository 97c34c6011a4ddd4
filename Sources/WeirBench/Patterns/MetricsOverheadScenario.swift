import Synchronization
import WeirClient
import WeirPatterns

/// `pattern: metrics-overhead`: the cost of instrumenting a consumer's handler with
/// `ProcessingMetrics` (a swift-metrics Timer per record, recorded into swift-prometheus'
/// histogram through `PrometheusExporter`).
///
/// The wrapped consumer times the generator's own per-record work (its end-to-end latency
/// recording) and records that time per record, exactly as `ProcessingMetrics.instrument` does
/// for a real handler; with `pattern.instrument=none` it passes records straight through. Run
/// the `metrics-overhead` preset and compare the two steps' throughput and end-to-end latency
/// (measured in the same run).
let metricsOverheadScenario = PatternScenario(
    name: "metrics-overhead",
    summary: "consumer handler instrumented with ProcessingMetrics (Prometheus histogram per record) vs. not",
    options: [("instrument", "metrics (default) or none")],
    presets: [
        Preset(name: "metrics-overhead", summary: "≤12 s: max rate, 100 B, 1 partition; handler metrics off, then on; embedded", steps: [
            Preset.step(named: "handler-uninstrumented") {
                $0.pattern = "metrics-overhead"; $0.patternOptions = ["instrument": "none"]
                $0.partitionsPerTopic = 1; $0.producerRate = 0; $0.messageSize = 100
                $0.warmupSeconds = 1; $0.durationSeconds = 6; $0.config = ["linger.ms": "5"]
            },
            Preset.step(named: "handler-metrics") {
                $0.pattern = "metrics-overhead"; $0.patternOptions = ["instrument": "metrics"]
                $0.partitionsPerTopic = 1; $0.producerRate = 0; $0.messageSize = 100
                $0.warmupSeconds = 1; $0.durationSeconds = 6; $0.config = ["linger.ms": "5"]
            },
        ]),
    ]
) { workload, backend, _ throws(BenchError) in
    let mode = workload.patternOptions?["instrument"] ?? "metrics"
    guard mode == "metrics" || mode == "none" else {
        throw BenchError(.usage, "pattern.instrument: '\(mode)' is not valid; allowed: metrics, none.")
    }
    return _MetricsOverheadBackend(base: backend, instrument: mode == "metrics")
}

/// The step's backend with instrumented consumers.
struct _MetricsOverheadBackend: BenchBackend {
    let base: any BenchBackend
    let instrument: Bool
    let exporter = PrometheusExporter()

    var name: String { base.name }
    func createTopics(_ names: [String], partitions: Int) async throws(BenchError) { try await base.createTopics(names, partitions: partitions) }
    func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        try await base.makeProducer(topic: topic, index: index, sink: sink)
    }
    func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        let consumer = try await base.makeConsumer(topic: topic, group: group, member: member, members: members)
        guard instrument else { return consumer }
        let recorder = ProcessingMetrics(group: group, factory: exporter.factory).recorder(topic: topic, partition: nil)
        return _InstrumentedConsumer(base: consumer, recorder: recorder)
    }
    func statistics() async -> BackendStatistics { await base.statistics() }
    func shutdown() async { await base.shutdown() }
    func details() async -> [String: String] {
        var d = await base.details()
        d["instrument"] = instrument ? "metrics" : "none"
        if instrument {
            // The histogram's sample count: every consumed record was recorded.
            let count = exporter.render().split(separator: "\n")
                .first { $0.hasPrefix(WeirMetricNames.processingDuration + "_count") }?.split(separator: " ").last
            d["metrics_recorded"] = count.map(String.init) ?? "0"
        }
        return d
    }
}

struct _InstrumentedConsumer: BenchConsumer {
    let base: any BenchConsumer
    let recorder: ProcessingMetrics.Recorder

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        base.poll(timeoutNanos: timeoutNanos) { value in
            let start = monotonicNanos()
            body(value)
            recorder.record(nanoseconds: Int64(monotonicNanos() &- start))
        }
    }

    func close() async { await base.close() }
}
