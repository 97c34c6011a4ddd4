import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import WeirClient
import WeirLog
import WeirTestSupport
@testable import WeirPatterns

/// A ServiceGroup without signals and without log output.
func ServiceGroupForTests(_ services: any Service...) -> ServiceGroup {
    ServiceGroup(configuration: ServiceGroupConfiguration(services: services.map { .init(service: $0) },
                                                          logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }))
}

@Suite struct ShutdownTests {
    /// Reads everything `group` has not committed, with a fresh member.
    func drain(_ fixture: ObservedLog, group: String, topic: String = "t") async throws -> [ConsumerRecord] {
        let c = try await fixture.client.makeConsumer(properties: ["group.id": group, "auto.offset.reset": "earliest"])
        try await c.subscribe(topics: [topic], listener: nil)
        var out: [ConsumerRecord] = []
        var idle = 0
        while idle < 5 {
            let got = try await c.poll(timeout: .milliseconds(50))
            idle = got.isEmpty ? idle + 1 : 0
            out += got
        }
        await c.close()
        return out
    }

    @Test func gracefulShutdownWithMessagesInFlightLosesNothingAndCommitsWhatWasProcessed() async throws {
        let fixture = try await ObservedLog(partitions: 2)
        defer { fixture.close() }
        try await fixture.produce(100, partition: 0)
        try await fixture.produce(100, partition: 1)
        let processed = Locked<[TopicPartition: [Int64]]>([:])
        let consumer = try await fixture.client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest", "max.poll.records": "50"])
        let registry = HealthRegistry()
        let service = ConsumerService(consumer: consumer, configuration: .init(topics: ["t"]), health: registry) { record in
            try await Task.sleep(for: .milliseconds(1))
            processed.withLock { $0[TopicPartition(record.topic, record.partition), default: []].append(record.offset) }
        }
        let group = ServiceGroupForTests(service)
        let running = Task { try await group.run() }
        while service.processedCount < 30 { try await Task.sleep(for: .milliseconds(2)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(service.stopReason == .gracefulShutdown)
        let done = processed.withLock { $0 }
        let total = done.values.reduce(0) { $0 + $1.count }
        #expect(total >= 30 && total < 200, "shutdown came mid-stream")
        #expect(Int64(total) == service.processedCount)
        // Committed = last processed + 1, per partition.
        let committed = GroupCoordinator.shared(for: fixture.log).committedOffsets(groupId: "g").mapValues(\.offset)
        for (tp, offsets) in done {
            #expect(offsets == Array(0..<Int64(offsets.count)), "processed in order without gaps")
            #expect(committed[tp] == offsets.last! + 1)
        }
        // A restarted member resumes exactly after the last processed record.
        let rest = try await drain(fixture, group: "g")
        for p in Int32(0)...1 {
            let tp = TopicPartition("t", p)
            let before = done[tp] ?? []
            let after = rest.filter { $0.partition == p }.map(\.offset)
            #expect(before + after == Array(0..<100), "partition \(p): nothing lost, nothing twice")
        }
        #expect(await registry.check().checks.first?.message.hasPrefix("stopped (gracefulShutdown)") == true)
    }

    @Test func aSecondMemberJoiningMidStreamTakesOverFromTheRevokedCommits() async throws {
        let fixture = try await ObservedLog(partitions: 4)
        defer { fixture.close() }
        for p in Int32(0)..<4 { try await fixture.produce(100, partition: p) }
        let seen = Locked<[String: Int]>([:])
        func service() async throws -> ConsumerService {
            let consumer = try await fixture.client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest", "max.poll.records": "10",
                                                                              "heartbeat.interval.ms": "50"])
            return ConsumerService(consumer: consumer, configuration: .init(topics: ["t"])) { record in
                try await Task.sleep(for: .milliseconds(3))
                seen.withLock { $0["\(record.partition)/\(record.offset)", default: 0] += 1 }
            }
        }
        let a = try await service(), b = try await service()
        let groupA = ServiceGroupForTests(a), groupB = ServiceGroupForTests(b)
        let runningA = Task { try await groupA.run() }
        while a.processedCount < 20 { try await Task.sleep(for: .milliseconds(2)) }
        let runningB = Task { try await groupB.run() }
        while seen.withLock({ $0.count }) < 400 { try await Task.sleep(for: .milliseconds(5)) }
        await groupB.triggerGracefulShutdown()
        await groupA.triggerGracefulShutdown()
        try await runningA.value
        try await runningB.value
        #expect(b.processedCount > 0, "the second member got partitions")
        // Revoked partitions were committed before they moved: nothing twice, nothing lost.
        #expect(seen.withLock { $0 }.values.allSatisfy { $0 == 1 })
        #expect(a.processedCount + b.processedCount == 400)
        let committed = GroupCoordinator.shared(for: fixture.log).committedOffsets(groupId: "g")
        #expect((0..<4).allSatisfy { committed[TopicPartition("t", Int32($0))]?.offset == 100 })
    }

    @Test func aHandlerThatOutlivesTheShutdownTimeoutIsAbandonedAndItsRecordRedelivered() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(10)
        let started = Gate()
        let release = Gate()
        let consumer = try await fixture.client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest"])
        let service = ConsumerService(consumer: consumer, configuration: .init(topics: ["t"], shutdownTimeout: .milliseconds(100))) { record in
            if record.offset == 3 {
                started.open()
                await release.wait()  // ignores cancellation
            }
        }
        let group = ServiceGroupForTests(service)
        let running = Task { try await group.run() }
        await started.wait()
        await group.triggerGracefulShutdown()
        try await running.value
        release.open()
        #expect(service.stopReason == .handlerTimedOut)
        #expect(service.processedCount == 3)
        #expect(GroupCoordinator.shared(for: fixture.log).committedOffsets(groupId: "g")[TopicPartition("t", 0)]?.offset == 3)
        #expect(try await drain(fixture, group: "g").map(\.offset) == Array(3..<10))
    }

    @Test func aFailingHandlerStopsTheServiceAfterCommittingWhatWasProcessed() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        try await fixture.produce(5)
        struct Boom: Error {}
        let consumer = try await fixture.client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest"])
        let service = ConsumerService(consumer: consumer, configuration: .init(topics: ["t"])) { record in
            if record.offset == 2 { throw Boom() }
        }
        await #expect(throws: Boom.self) { try await service.run() }
        #expect(service.stopReason == .handlerFailed)
        #expect(GroupCoordinator.shared(for: fixture.log).committedOffsets(groupId: "g")[TopicPartition("t", 0)]?.offset == 2)
    }

    @Test func producerAndLogDirectoryServicesFlushAndCloseCleanlyOnShutdown() async throws {
        let fixture = try await ObservedLog()
        defer { try? FileManager.default.removeItem(atPath: fixture.path) }
        let producer = try await fixture.client.makeProducer(properties: ["linger.ms": "5000"])
        let group = ServiceGroupForTests(LogDirectoryService(fixture.log), ProducerService(producer))
        let running = Task { try await group.run() }
        let sent = Task { try await producer.send(ProducerRecord(topic: "t", value: "lingering")) }
        try await Task.sleep(for: .milliseconds(50))
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await sent.value.offset == 0)
        let reopened = try LogDirectory.open(path: fixture.path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        #expect(reopened.recovery.wasCleanShutdown)
        #expect(try reopened.partition("t", 0).highWatermark == 1)
        try reopened.close()
    }

    @Test func withSignalsExposesTheShutdownRequestToTheBody() async throws {
        let seen = await GracefulShutdownSignals.withSignals { request -> [Bool] in
            var seen = [ShutdownRequest.isRequested]
            ShutdownRequest.current?.request()
            seen.append(request.isRequested)
            seen.append(ShutdownRequest.isRequested)
            return seen
        }
        #expect(seen == [false, true, true])
        #expect(!ShutdownRequest.isRequested)
    }
}
