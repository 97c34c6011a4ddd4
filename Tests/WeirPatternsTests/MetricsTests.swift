import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import WeirClient
import Prometheus
import WeirLog
import WeirTestSupport
@testable import WeirPatterns

@Suite struct MetricsTests {
    @Test func producerMetricsCountSendsErrorsAndTimes() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        let exporter = PrometheusExporter()
        let base = try await fixture.client.makeProducer(properties: [:])
        let producer = MetricsProducer(base, factory: exporter.factory)
        for i in 0..<3 { _ = try await producer.send(ProducerRecord(topic: "t", value: "v\(i)")) }
        await base.close()
        await #expect(throws: ClientError.self) { _ = try await producer.send(ProducerRecord(topic: "t", value: "late")) }
        let text = exporter.render()
        #expect(text.contains("weir_producer_records_total{topic=\"t\"} 3"))
        #expect(text.contains("weir_producer_errors_total{topic=\"t\",code=\"producerClosed\"} 1"))
        #expect(text.contains("weir_producer_send_duration_seconds_count{topic=\"t\"} 3"))
        #expect(text.contains("weir_producer_send_duration_seconds_bucket{topic=\"t\",le=\"0.00005\"}"))
    }

    @Test func consumerAndHandlerMetricsAreLabelledByTopicPartitionGroup() async throws {
        let fixture = try await ObservedLog(partitions: 2)
        defer { fixture.close() }
        try await fixture.produce(3, partition: 0)
        try await fixture.produce(2, partition: 1)
        let exporter = PrometheusExporter()
        let consumer = MetricsConsumer(try await fixture.client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest"]),
                                       group: "g", factory: exporter.factory)
        try await consumer.subscribe(topics: ["t"], listener: nil)
        var records: [ConsumerRecord] = []
        for _ in 0..<100 where records.count < 5 { records += try await consumer.poll(timeout: .milliseconds(50)) }
        let metrics = ProcessingMetrics(group: "g", factory: exporter.factory)
        struct Bad: Error {}
        let handler = metrics.instrument { record in if record.offset == 1 && record.partition == 0 { throw Bad() } }
        var failures = 0
        for r in records { do { try await handler(r) } catch { failures += 1 } }
        #expect(failures == 1)
        await consumer.close()
        // A commit without group.id fails: counted as a consumer error.
        let groupless = MetricsConsumer(try await fixture.client.makeConsumer(properties: [:]), group: "g", factory: exporter.factory)
        await #expect(throws: ClientError.self) { try await groupless.commit([TopicPartition("t", 0): 1]) }
        await groupless.close()
        let text = exporter.render()
        #expect(text.contains("weir_consumer_records_total{topic=\"t\",partition=\"0\",group=\"g\"} 3"))
        #expect(text.contains("weir_consumer_records_total{topic=\"t\",partition=\"1\",group=\"g\"} 2"))
        #expect(text.contains("weir_consumer_processing_errors_total{topic=\"t\",partition=\"0\",group=\"g\"} 1"))
        #expect(text.contains("weir_consumer_processing_duration_seconds_count{topic=\"t\",partition=\"0\",group=\"g\"} 3"))
        #expect(text.contains("weir_consumer_errors_total{group=\"g\","))
    }

    @Test func recorderRecordsTimesAndFailuresForSynchronousLoops() {
        let exporter = PrometheusExporter()
        let metrics = ProcessingMetrics(group: "g", factory: exporter.factory)
        let r = metrics.recorder(topic: "t", partition: nil)
        r.record(nanoseconds: 1_000)
        r.record(nanoseconds: 2_000_000, failed: true)
        let text = exporter.render()
        #expect(text.contains("weir_consumer_processing_duration_seconds_count{topic=\"t\",partition=\"all\",group=\"g\"} 2"))
        #expect(text.contains("weir_consumer_processing_errors_total{topic=\"t\",partition=\"all\",group=\"g\"} 1"))
        #expect(text.contains("weir_consumer_processing_duration_seconds_bucket{topic=\"t\",partition=\"all\",group=\"g\",le=\"0.00005\"} 1"))
    }

    @Test func httpServerServesTheExpositionAndRejectsOtherRequests() async throws {
        let exporter = PrometheusExporter()
        exporter.registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "weir_test_total", unitName: "", helpText: "test")).increment(by: Int64(7))
        let server = MetricsHTTPServer(port: 0) { exporter.render() }
        let port = try server.start()
        #expect(port != 0)
        let ok = httpRequest(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(ok.contains("weir_test_total 7"))
        #expect(httpRequest(port: port, "GET / HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        #expect(httpRequest(port: port, "POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405"))
        // The port is taken now.
        #expect(throws: ObservabilityError.self) { try MetricsHTTPServer(port: port) { "" }.start() }
        server.stop()
        await server.waitUntilStopped()
        #expect(httpRequest(port: port, "GET /metrics HTTP/1.1\r\n\r\n") == "connect failed")
        #expect(throws: ObservabilityError.self) { try MetricsHTTPServer.parseAddress("localhost") }
        #expect(throws: ObservabilityError.self) { try MetricsHTTPServer.parseAddress("example.com:80") }
        #expect(try MetricsHTTPServer.parseAddress(":9464") == ("127.0.0.1", 9464))
    }

    @Test func expositionFileIsWrittenAtomicallyOrFailsWithAnIOError() throws {
        let exporter = PrometheusExporter()
        exporter.registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "weir_g", unitName: "", helpText: "g")).set(Double(2))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-prom-\(UUID().uuidString).prom").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try exporter.write(toFile: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("weir_g 2"))
        #expect(throws: ObservabilityError.self) { try exporter.write(toFile: "/nonexistent-dir/x.prom") }
    }

    @Test func logDirectoryMetricsFromTheOpenDirectoryAndFromItsFiles() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(5)
        try fixture.commit("g", [TopicPartition("t", 0): 2])
        let exporter = PrometheusExporter()
        let collector = LogDirectoryMetrics(registry: exporter.registry)
        collector.update(fixture.log)
        var text = exporter.render()
        #expect(text.contains("weir_log_end_offset{topic=\"t\",partition=\"0\"} 5"))
        #expect(text.contains("weir_consumer_lag{group=\"g\",topic=\"t\",partition=\"0\"} 3"))
        #expect(text.contains("weir_log_directory_in_use 0"))
        // A lag monitor on the same registry shares the lag gauges.
        let monitor = try LagMonitor(client: fixture.client, offsets: EmbeddedGroupOffsets(logDirectory: fixture.log), group: "g",
                                     thresholds: LagThresholds(), metricsFactory: exporter.factory)
        try await monitor.check()
        collector.update(fixture.log)
        collector.updateFromFiles(path: fixture.path)
        text = exporter.render()
        #expect(text.contains("weir_log_directory_in_use 1"))
        #expect(text.contains("weir_log_segments{topic=\"t\",partition=\"0\"} 1"))
    }
}
