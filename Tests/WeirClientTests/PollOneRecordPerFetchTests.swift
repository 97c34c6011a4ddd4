import Foundation
import Synchronization
import Testing
import WeirFormat
import WeirLog
@testable import WeirClient

/// `pollBlocking` when every fetch finds one 1-record batch (a producer with linger.ms=0 and a
/// consumer keeping up): the single-partition fast path keeps offsets, auto-commit timing,
/// seeks, pauses and rebalances as the general path does.
@Suite struct PollOneRecordPerFetchTests {
    /// Appends one record "v<i>" in its own batch; returns its offset.
    static func appendOne(_ log: PartitionLog, _ i: Int) throws -> Int64 {
        let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 16)
        _ = b.append(timestamp: 1_700_000_000_000, key: nil, value: Array("v\(i)".utf8))
        return try b.build().withUnsafeBytes { try log.append($0) }.baseOffset
    }

    /// Runs `body` on a thread of its own (a group consumer's `pollBlocking` joins through a task,
    /// so a test task must not block a cooperative-pool thread with it) and waits for it.
    static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        let done = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        Thread {
            do { try body() } catch { failure._withLock { $0 = "\(error)" } }
            done.store(true, ordering: .releasing)
        }.start()
        try await waitUntil("the polling thread finished") { done.load(ordering: .acquiring) }
        #expect(failure._withLock { $0 } == nil)
    }

    /// Topic `t`, one partition, 2 KiB segments (a roll every few records).
    static func smallSegmentTopic(_ t: TestLog) throws -> (PartitionLog, TopicPartition) {
        try t.createTopic("t", partitions: 1, configs: ["segment.bytes": "2048"])
        return (try t.dir.partition("t", 0), TopicPartition("t", 0))
    }

    /// Group `g`, reading from the earliest offset.
    static func groupConfiguration() -> ConsumerConfiguration {
        var cc = ConsumerConfiguration(groupId: "g")
        cc.autoOffsetReset = .earliest
        return cc
    }

    /// Polls until one record comes (joining the group first when needed).
    static func pollOne(_ c: Consumer) throws -> [(Int64, String)] {
        var got: [(Int64, String)] = []
        for _ in 0..<500 where got.isEmpty {
            try c.pollBlocking(timeout: .milliseconds(20)) { b in
                for m in b { got.append((m.offset, String(decoding: m.value!, as: UTF8.self))) }
            }
        }
        return got
    }

    @Test func eachRecordOnceInOrderThroughSegmentRollsWithAutoCommitOnItsInterval() async throws {
        let t = try TestLog()
        defer { t.remove() }
        let (log, tp) = try Self.smallSegmentTopic(t)
        var cc = Self.groupConfiguration()
        cc.autoCommitIntervalMs = 200
        // Before the consumer exists: its auto-commit interval starts when it is made, so
        // nothing can be committed within 150 ms of this.
        let start = monotonicNanos()
        let c = try Consumer(configuration: cc, logDirectory: t.dir)
        try c.subscribe(topics: ["t"])
        try await Self.onThread {
            var lastCommitted: Int64? = nil
            for i in 0..<300 {
                let offset = try Self.appendOne(log, i)
                let got = try Self.pollOne(c)
                #expect(got.count == 1 && got.first?.0 == offset && got.first?.1 == "v\(i)")
                // Auto-commit: nothing before the first interval has passed; afterwards the
                // committed offset only moves forward, to at most the processed position.
                let committed = c.committed(tp)?.offset
                if monotonicNanos() - start < 150_000_000 { #expect(committed == nil) }
                if let committed {
                    #expect(committed <= offset + 1 && committed >= (lastCommitted ?? 0))
                    lastCommitted = committed
                }
                if i % 50 == 49 { usleep(110_000) }
            }
            #expect(log.segments.count > 3)
            // After an interval without polls, the next poll commits everything processed.
            usleep(250_000)
            #expect(try c.pollBlocking(timeout: .milliseconds(5)) { _ in } == 0)
            #expect(c.committed(tp)?.offset == log.highWatermark)
        }
        #expect(try c.position(tp) == log.highWatermark)
        await c.close()
    }

    @Test func seeksPausesAndANewMemberAreHonouredBetweenOneRecordFetches() async throws {
        let t = try TestLog()
        defer { t.remove() }
        let (log, tp) = try Self.smallSegmentTopic(t)
        var cc = Self.groupConfiguration()
        cc.enableAutoCommit = false
        let c = try Consumer(configuration: cc, logDirectory: t.dir)
        try c.subscribe(topics: ["t"])
        try await Self.onThread {
            for i in 0..<40 {
                let offset = try Self.appendOne(log, i)
                #expect(try Self.pollOne(c).map(\.0) == [offset])
            }
            // Back: the next fetch starts at the sought offset, then goes on one by one.
            try c.seek(tp, to: 5)
            var seen: [Int64] = []
            while seen.count < 35 {
                try c.pollBlocking(timeout: .milliseconds(20)) { b in for m in b { seen.append(m.offset) } }
            }
            #expect(seen == Array(5..<40))
            // Forward, past records not read yet.
            for i in 40..<60 { _ = try Self.appendOne(log, i) }
            try c.seek(tp, to: 55)
            #expect(try Self.pollOne(c).map(\.0) == Array(55..<60))
            // Paused: nothing, even with data there; resumed: from where it was.
            try c.pause([tp])
            let sixty = try Self.appendOne(log, 60)
            #expect(try c.pollBlocking(timeout: .milliseconds(30)) { _ in } == 0)
            try c.resume([tp])
            #expect(try Self.pollOne(c).map(\.0) == [sixty])
            try c.commit()
        }
        #expect(c.committed(tp)?.offset == 61)
        await c.close()
        // A new member starts from the committed offset (the position is resolved before the
        // first fetch), then reads one record per fetch.
        for i in 61..<64 { _ = try Self.appendOne(log, i) }
        let d = try Consumer(configuration: cc, logDirectory: t.dir)
        try d.subscribe(topics: ["t"])
        try await Self.onThread {
            var seen: [Int64] = []
            while seen.count < 3 {
                try d.pollBlocking(timeout: .milliseconds(20)) { b in for m in b { seen.append(m.offset) } }
            }
            #expect(seen == [61, 62, 63])
            let offset = try Self.appendOne(log, 64)
            #expect(try Self.pollOne(d).map(\.0) == [offset])
        }
        await d.close()
    }
}
