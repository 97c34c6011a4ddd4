import Foundation
import Synchronization
import Testing
import WeirClient
import WeirLog
@testable import WeirPatterns

/// A fresh log directory for one test; `close()` closes and removes it.
final class ObservedLog: Sendable {
    let path: String
    let log: LogDirectory
    let client: EmbeddedMessaging

    init(topic: String = "t", partitions: Int = 1) async throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-obs-\(UUID().uuidString)").path
        log = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        client = EmbeddedMessaging(logDirectory: log)
        try await client.ensureTopic(topic, partitions: partitions, configs: [:])
    }

    /// Sends `count` records `v0…` to `partition`.
    func produce(_ count: Int, topic: String = "t", partition: Int32 = 0, producer: (any MessageProducer)? = nil) async throws {
        let p: any MessageProducer
        if let producer { p = producer } else { p = try await client.makeProducer(properties: [:]) }
        for i in 0..<count { _ = try await p.send(ProducerRecord(topic: topic, partition: partition, key: "k\(i)", value: "v\(i)")) }
        if producer == nil { await p.close() }
    }

    /// Commits `offsets` for `group` as an admin would (the group has no members).
    func commit(_ group: String, _ offsets: [TopicPartition: Int64]) throws {
        try GroupCoordinator.shared(for: log).commitOffsets(groupId: group, offsets.mapValues { OffsetAndMetadata(offset: $0) })
    }

    func close() {
        try? log.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

@Suite struct HealthTests {
    @Test func registryCombinesPullChecksAndPushedStatesIntoTheWorstStatus() async throws {
        let registry = HealthRegistry()
        #expect(await registry.check().status == .healthy)
        registry.register("custom") { HealthCheckResult(name: "custom", status: .healthy, message: "fine") }
        let component = registry.component("producer.p")
        component.healthy("sent")
        #expect(await registry.check().status == .healthy)
        component.failed(ClientError(.deliveryTimeout, "timed out", isRetriable: true), during: "send")
        var report = await registry.check()
        #expect(report.status == .degraded)
        #expect(report.checks.map(\.name) == ["custom", "producer.p"])
        component.failed(ClientError(.producerFenced, "fenced"), during: "send")
        report = await registry.check()
        #expect(report.status == .unhealthy)
        #expect(report.checks(.unhealthy).map(\.name) == ["producer.p"])
        // JSON round trip.
        let decoded = try JSONDecoder().decode(HealthReport.self, from: Data(report.json().utf8))
        #expect(decoded == report)
        #expect(report.text.hasPrefix("overall: unhealthy"))
        registry.remove("producer.p")
        #expect(await registry.check().status == .healthy)
    }

    @Test func closedLogDirectoryIsHealthyAndALockedOneNamesItsOwner() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(3)
        // Open (by this process): the file checks run without the lock.
        let open = HealthChecks.logDirectory(path: fixture.path)
        let lock = try #require(open.first { $0.name == "logDirectory.lock" })
        #expect(lock.message == "in use by process \(getpid()) (segments not verified while it runs)")
        #expect(lock.details["pid"] == String(getpid()))
        #expect(!open.contains { $0.name == "logDirectory.segments" })
        #expect(HealthChecks.lockState(ofLogDirectory: fixture.path) == .held(pid: String(getpid())))
        // In-process checks of the open directory.
        let inProcess = HealthChecks.logDirectory(fixture.log)
        #expect(inProcess.map(\.name) == ["logDirectory.open", "logDirectory.recovery", "logDirectory.writable", "logDirectory.diskSpace"])
        #expect(inProcess.allSatisfy { $0.status != .unhealthy })
        try fixture.log.close()
        let closed = HealthReport(checks: HealthChecks.logDirectory(path: fixture.path))
        #expect(HealthChecks.lockState(ofLogDirectory: fixture.path) == .free)
        #expect(closed.checks.first { $0.name == "logDirectory.lock" }?.message == "not in use; closed cleanly")
        #expect(closed.checks.first { $0.name == "logDirectory.segments" }?.details["batches"] == "3")
        #expect(closed.status != .unhealthy)
    }

    @Test func failurePathsAreUnhealthy() async throws {
        let missing = HealthChecks.logDirectory(path: "/nonexistent/weir-\(UUID().uuidString)")
        #expect(missing.map(\.name) == ["logDirectory.exists"])
        #expect(missing[0].status == .unhealthy)

        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(2)
        let disk = HealthChecks.diskSpace(path: fixture.path, minFreeBytes: Int64.max / 4)
        #expect(disk.status == .unhealthy)
        #expect(disk.message.contains("below the minimum"))
        try fixture.log.close()
        // Damage the first batch's CRC-covered bytes.
        let segment = fixture.path + "/t-0/00000000000000000000.log"
        let handle = try #require(FileHandle(forUpdatingAtPath: segment))
        try handle.seek(toOffset: 70)
        handle.write(Data([0xff, 0xfe, 0xfd]))
        try handle.close()
        let report = HealthReport(checks: HealthChecks.logDirectory(path: fixture.path))
        #expect(report.status == .unhealthy)
        #expect(report.checks(.unhealthy).map(\.name) == ["logDirectory.segments"])
        #expect(report.checks.first { $0.name == "logDirectory.segments" }?.message.contains("CRC-32C") == true)
    }

    @Test func consumerGroupCheckJudgesLagAgainstMaxLag() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(10)
        try fixture.commit("g", [TopicPartition("t", 0): 4])
        let offsets = EmbeddedGroupOffsets(logDirectory: fixture.log)
        let ok = await HealthChecks.consumerGroup("g", client: fixture.client, offsets: offsets, maxLag: 6)
        #expect(ok.status == .healthy)
        #expect(ok.details["totalLag"] == "6")
        #expect(ok.details["members"] == "0")
        let bad = await HealthChecks.consumerGroup("g", client: fixture.client, offsets: offsets, maxLag: 5)
        #expect(bad.status == .unhealthy)
        #expect(bad.message.contains("lag 6 on t-0 exceeds 5"))
    }

    @Test func healthTrackingProducerReportsSendsAndFailures() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        let registry = HealthRegistry()
        let producer = HealthTrackingProducer(try await fixture.client.makeProducer(properties: [:]), registry: registry, name: "orders")
        _ = try await producer.send(ProducerRecord(topic: "t", value: "x"))
        var state = try #require(await registry.check().checks.first)
        #expect(state.name == "producer.orders" && state.status == .healthy)
        await producer.base.close()
        await #expect(throws: ClientError.self) { _ = try await producer.send(ProducerRecord(topic: "t", value: "y")) }
        state = try #require(await registry.check().checks.first)
        #expect(state.status == .unhealthy)
        #expect(state.message.hasPrefix("send to t failed"))
    }
}

/// A Mutex in a class, so escaping closures can share it.
final class Locked<Value: Sendable>: Sendable {
    let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
