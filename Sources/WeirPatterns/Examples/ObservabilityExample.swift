import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WeirClient
import WeirLog

/// `weir example observability`: a producer and a consumer instrumented with metrics, tracing,
/// JSON logging and health, then the lag monitor.
let observabilityExample = PatternExample(
    name: "observability",
    summary: "Metrics (Prometheus), W3C tracing, JSON logs, health and lag alerts around a producer and a consumer."
) { client, _, output in
    let topic = "observability.orders"
    try await client.ensureTopic(topic, partitions: 2, configs: [:])
    let exporter = PrometheusExporter()
    let spans = InMemorySpanSink()
    let tracer = RecordingTracer(sink: spans)
    let health = HealthRegistry()
    let logger = Logger(label: "orders") { JSONLogHandler(label: $0, sink: JSONLogSink { output("log   " + $0) }, metadataProvider: nil) }

    // Producer: tracing innermost (it adds the header), then metrics, then health.
    let producer = HealthTrackingProducer(
        MetricsProducer(TracingProducer(try await client.makeProducer(properties: ["acks": "all"]), tracer: tracer), factory: exporter.factory),
        registry: health, name: "orders")
    for i in 0..<4 {
        _ = try await producer.send(ProducerRecord(topic: topic, key: "order-\(i)", value: "{\"amount\":\(10 * (i + 1))}"))
    }

    // Consumer: a ConsumerService whose handler is traced, timed and logged.
    let consumer = MetricsConsumer(try await client.makeConsumer(properties: ["group.id": "billing", "auto.offset.reset": "earliest"]),
                                   group: "billing", factory: exporter.factory)
    let metrics = ProcessingMetrics(group: "billing", factory: exporter.factory)
    let tracing = ProcessingTracing(tracer: tracer, group: "billing")
    let handler: RecordHandler = tracing.instrument(metrics.instrument { record in
        let start = monotonicNanos()
        try await Task.sleep(for: .milliseconds(2))
        logger.logConsumed(record, group: "billing", processingTime: .nanoseconds(Int64(monotonicNanos() - start)))
    })
    let service = ConsumerService(consumer: consumer, configuration: .init(topics: [topic], name: "billing"), health: health, handler: handler)
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: service)],
                                                                      logger: Logger(label: "example") { _ in SwiftLogNoOpLogHandler() }))
    let running = Task { try await group.run() }
    while service.processedCount < 4 { try await Task.sleep(for: .milliseconds(5)) }
    await group.triggerGracefulShutdown()
    try await running.value
    await producer.close()

    output("")
    output("spans (trace id, span ← parent):")
    for s in spans.spans {
        output("  \(s.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(s.traceId.prefix(8))…  \(s.spanId) ← \(s.parentSpanId ?? "root")")
    }

    output("")
    output("metrics (excerpt of the Prometheus exposition):")
    for line in exporter.render().split(separator: "\n")
    where line.hasPrefix("weir_producer_records_total") || line.hasPrefix("weir_consumer_records_total")
        || line.hasPrefix("weir_consumer_processing_duration_seconds_count") {
        output("  " + line)
    }

    if let embedded = client as? EmbeddedMessaging {
        health.register("logDirectory", many: { HealthChecks.logDirectory(embedded.logDirectory) })
        let offsets = EmbeddedGroupOffsets(logDirectory: embedded.logDirectory)
        health.register("group.billing") { await HealthChecks.consumerGroup("billing", client: client, offsets: offsets, maxLag: 100) }
        // The lag monitor: a backlog of 6 crosses the warning threshold, draining it recovers.
        let monitor = try LagMonitor(client: client, offsets: offsets, group: "billing", thresholds: LagThresholds(warningTotal: 5, criticalTotal: 50),
                                     metricsFactory: exporter.factory) { alert in output("alert \(alert)") }
        let backlog = try await client.makeProducer(properties: [:])
        for i in 0..<6 { _ = try await backlog.send(ProducerRecord(topic: topic, partition: 0, key: nil, value: "late-\(i)")) }
        await backlog.close()
        output("")
        try await monitor.check()
        try await monitor.check()  // no second alert: alerts fire on crossings only
        let catchUp = try await client.makeConsumer(properties: ["group.id": "billing"])
        try await catchUp.subscribe(topics: [topic], listener: nil)
        var done: [TopicPartition: Int64] = [:]
        var idle = 0
        while idle < 3 {
            let records = try await catchUp.poll(timeout: .milliseconds(50))
            idle = records.isEmpty ? idle + 1 : 0
            for r in records { done[TopicPartition(r.topic, r.partition)] = r.offset + 1 }
        }
        try await catchUp.commit(done)
        await catchUp.close()
        try await monitor.check()
    }

    output("")
    output("health:")
    for line in await health.check().text.split(separator: "\n") { output("  " + line) }
}
