import Synchronization
import WeirClientAPI
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
    .metricsOverhead,
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
) { workload, client throws(BenchError) in
    let mode = workload.patternOptions?["instrument"] ?? "metrics"
    guard mode == "metrics" || mode == "none" else {
        throw BenchError(.usage, "pattern.instrument: '\(mode)' is not valid; allowed: metrics, none.")
    }
    let instrument = mode == "metrics"
    let exporter = PrometheusExporter()
    var scenario = _ScenarioClient(base: client)
    if instrument {
        scenario.wrapConsumer = { consumer, group in
            _InstrumentedConsumer(base: consumer, recorder: ProcessingMetrics(group: group, factory: exporter.factory).recorder(topic: workload.topicNames.first ?? "", partition: nil))
        }
    }
    scenario.moreDetails = {
        var d = ["instrument": instrument ? "metrics" : "none"]
        if instrument {
            // The histogram's sample count: every consumed record was recorded.
            let count = exporter.render().split(separator: "\n")
                .first { $0.hasPrefix(WeirMetricNames.processingDuration + "_count") }?.split(separator: " ").last
            d["metrics_recorded"] = count.map(String.init) ?? "0"
        }
        return d
    }
    return scenario
}

/// A consumer whose thread-path records are timed, per record, into a `ProcessingMetrics`
/// recorder (the generator's own per-record work is the handler).
struct _InstrumentedConsumer: MessageConsumer {
    let base: any MessageConsumer
    let recorder: ProcessingMetrics.Recorder

    func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
        try base.pollBlocking(timeout: timeout) { record in
            let start = monotonicNanos()
            body(record)
            recorder.record(nanoseconds: Int64(monotonicNanos() &- start))
        }
    }

    func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
        try await base.subscribe(topics: topics, listener: listener)
    }
    func assign(_ partitions: [TopicPartition]) async throws(ClientError) { try await base.assign(partitions) }
    func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] { try await base.poll(timeout: timeout) }
    func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) { try await base.commit(offsets) }
    func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? { try await base.committed(partition) }
    func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) { try await base.seek(partition, to: offset) }
    func pause(_ partitions: [TopicPartition]) async throws(ClientError) { try await base.pause(partitions) }
    func resume(_ partitions: [TopicPartition]) async throws(ClientError) { try await base.resume(partitions) }
    func assignment() async -> [TopicPartition] { await base.assignment() }
    func close() async { await base.close() }
}
