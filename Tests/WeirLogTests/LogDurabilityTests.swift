import Foundation
import Testing
import WeirFormat
@testable import WeirLog

@Suite struct LogDurabilityTests {
    @Test func acksAllAdvancesTheRecoveryPointAndGroupCommits() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 1 << 20))
        let log = try dir.partition("t", 0)
        #expect(log.recoveryPoint == 0)
        let r = try await log.append(makeBatch(firstSeq: 0, count: 5), acks: .all)
        #expect(log.recoveryPoint >= r.lastOffset + 1)
        // 64 concurrent acks=all appenders: every one acknowledged, far fewer syncs than appends.
        let syncsBefore = log._durability.flushCount
        try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for i in 0..<64 {
                group.addTask { try await log.append(makeBatch(firstSeq: 5 + i * 5, count: 5), acks: .all) }
            }
            var acked = 0
            for try await r in group {
                #expect(log.recoveryPoint > r.lastOffset)
                acked += 1
            }
            #expect(acked == 64)
        }
        #expect(log.highWatermark == 325)
        #expect(log._durability.flushCount - syncsBefore < 64)
        try dir.close()
    }

    @Test func flushMessagesFlushesWithoutAcksAll() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = LogConfig(segmentBytes: 1 << 20)
        config.flushMessages = 10
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        for i in 0..<4 { try await log.append(makeBatch(firstSeq: i * 5, count: 5), acks: .leader) }
        // The flush is asynchronous; wait for the recovery point to catch up.
        for _ in 0..<200 where log.recoveryPoint < 20 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(log.recoveryPoint >= 20)
        try dir.close()
    }

    @Test func flushMsFlushesOnTheMaintenanceTick() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: LogDirectory.Options(maintenanceIntervalMs: 10))
        var config = LogConfig(segmentBytes: 1 << 20)
        config.flushMs = 20
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        try await log.append(makeBatch(firstSeq: 0, count: 5), acks: .leader)
        for _ in 0..<400 where log.recoveryPoint < 5 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(log.recoveryPoint == 5)
        try dir.close()
    }

    @Test func acksParsesKafkaSpellings() {
        #expect(Acks(kafkaValue: "0") == Acks.none)
        #expect(Acks(kafkaValue: "1") == .leader)
        #expect(Acks(kafkaValue: "all") == .all)
        #expect(Acks(kafkaValue: "-1") == .all)
        #expect(Acks(kafkaValue: "2") == nil)
    }

    @Test func waitingForTheHighWatermark() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        // Times out when nothing arrives.
        #expect(try await log.waitForHighWatermark(above: 0, timeout: .milliseconds(20)) == false)
        // Wakes when an append moves the high-water mark past the offset.
        async let woke = log.waitForHighWatermark(above: 4, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(20))
        try await log.append(makeBatch(firstSeq: 0, count: 5))
        #expect(try await woke == true)
        // Already past: returns at once.
        #expect(try await log.waitForHighWatermark(above: 2) == true)
        // Cancellation ends the wait with `.cancelled`.
        let waiter = Task { () async -> Result<Bool, LogError> in
            do throws(LogError) { return .success(try await log.waitForHighWatermark(above: 100)) } catch { return .failure(error) }
        }
        try await Task.sleep(for: .milliseconds(10))
        waiter.cancel()
        do throws(LogError) { _ = try await waiter.value.get(); Issue.record("not cancelled") } catch { #expect(error.code == .cancelled) }
        // Closing the log ends waits with `.closed`.
        let closing = Task { () async -> Result<Bool, LogError> in
            do throws(LogError) { return .success(try await log.waitForHighWatermark(above: 100)) } catch { return .failure(error) }
        }
        try await Task.sleep(for: .milliseconds(10))
        try dir.close()
        do throws(LogError) { _ = try await closing.value.get(); Issue.record("not closed") } catch { #expect(error.code == .closed) }
    }
}
