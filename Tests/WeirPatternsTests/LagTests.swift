import Foundation
import Synchronization
import Testing
import WeirClient
import WeirLog
@testable import WeirPatterns

@Suite struct LagTests {
    @Test func thresholdsAreValidated() throws {
        #expect(throws: ObservabilityError.self) { try LagThresholds(warningPerPartition: -1).validate() }
        #expect(throws: ObservabilityError.self) { try LagThresholds(warningPerPartition: 10, criticalPerPartition: 5).validate() }
        #expect(throws: ObservabilityError.self) { try LagThresholds(warningTotal: 10, criticalTotal: 5).validate() }
        try LagThresholds(warningPerPartition: 5, criticalPerPartition: 5).validate()
        let t = LagThresholds(warningPerPartition: 5, criticalPerPartition: 10)
        #expect([t.partitionLevel(4), t.partitionLevel(5), t.partitionLevel(10)] == [.ok, .warning, .critical])
        #expect(LagThresholds().partitionLevel(1_000_000) == .ok)
    }

    @Test func alertsFireOnCrossingsOnlyAndOnRecovery() async throws {
        let fixture = try await ObservedLog(partitions: 2)
        defer { fixture.close() }
        try await fixture.produce(10, partition: 0)
        try await fixture.produce(1, partition: 1)
        try fixture.commit("g", [TopicPartition("t", 0): 0])
        let alerts = Locked<[LagAlert]>([])
        let exporter = PrometheusExporter()
        let monitor = try LagMonitor(client: fixture.client, offsets: EmbeddedGroupOffsets(logDirectory: fixture.log), group: "g", topics: ["t"],
                                     thresholds: LagThresholds(warningPerPartition: 2, criticalPerPartition: 8, warningTotal: 5, criticalTotal: 50),
                                     metricsFactory: exporter.factory) { a in alerts.withLock { $0.append(a) } }
        var snap = try await monitor.check()
        #expect(snap.partitions.map(\.lag) == [10, 1])
        #expect(snap.partitions[1].committedOffset == nil)
        #expect(snap.totalLag == 11 && snap.totalLevel == .warning && snap.level == .critical)
        #expect(alerts.withLock { $0 }.map(\.description) == ["group g partition t-0 lag 10: ok → critical", "group g total lag 11: ok → warning"])
        #expect(exporter.render().contains("weir_consumer_lag{group=\"g\",topic=\"t\",partition=\"0\"} 10"))
        #expect(exporter.render().contains("weir_consumer_group_lag{group=\"g\"} 11"))

        // Same levels: no new alert (edge-triggered).
        try await monitor.check()
        #expect(alerts.withLock { $0 }.count == 2)

        try fixture.commit("g", [TopicPartition("t", 0): 7, TopicPartition("t", 1): 1])
        snap = try await monitor.check()
        #expect(snap.totalLag == 3)
        var all = alerts.withLock { $0 }
        #expect(all.count == 4)
        #expect(all[2].description == "group g partition t-0 lag 3: critical → warning (recovered)")
        #expect(all[2].isRecovery)
        #expect(all[3].scope == .total && all[3].current == .ok && all[3].isRecovery)

        try fixture.commit("g", [TopicPartition("t", 0): 10])
        try await monitor.check()
        all = alerts.withLock { $0 }
        #expect(all.count == 5)
        #expect(all[4].previous == .warning && all[4].current == .ok)
        #expect(exporter.render().contains("weir_consumer_lag{group=\"g\",topic=\"t\",partition=\"0\"} 0"))
    }

    @Test func monitorRunsAsAServiceUntilGracefulShutdown() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(4)
        try fixture.commit("g", [TopicPartition("t", 0): 1])
        let alerts = Locked<[LagAlert]>([])
        let monitor = try LagMonitor(client: fixture.client, offsets: EmbeddedGroupOffsets(logDirectory: fixture.log), group: "g",
                                     thresholds: LagThresholds(criticalPerPartition: 3), interval: .milliseconds(20),
                                     metricsFactory: PrometheusExporter().factory) { a in alerts.withLock { $0.append(a) } }
        let group = ServiceGroupForTests(monitor)
        let running = Task { try await group.run() }
        for _ in 0..<500 where alerts.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(alerts.withLock { $0 }.first?.current == .critical)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(throws: ObservabilityError.self) {
            try LagMonitor(client: fixture.client, offsets: EmbeddedGroupOffsets(logDirectory: fixture.log), group: "g",
                           thresholds: LagThresholds(), interval: .zero)
        }
    }
}
