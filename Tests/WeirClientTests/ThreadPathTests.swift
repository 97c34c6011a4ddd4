import Foundation
import Synchronization
import Testing
import WeirFormat
import WeirLog
@testable import WeirClient

/// The thread paths: `Producer.produceNow` with `onDelivery`, and `Consumer.pollBlocking` in a
/// group whose members poll from their own threads.
@Suite struct ThreadPathTests {
    static func config(acks: Acks = .leader, linger: Int64 = 0) -> ProducerConfiguration {
        var c = ProducerConfiguration()
        c.acks = acks
        c.lingerMs = linger
        if acks != .all { c.enableIdempotence = false }
        return c
    }

    @Test func produceNowWithLingerZeroAppendsBeforeItReturnsAndReportsOpaques() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("t", partitions: 1)
        let producer = try Producer(configuration: Self.config(), logDirectory: t.dir)
        let reports = Mutex<[(Int64, [UInt64])]>([])
        producer.onDelivery { r in
            if case .success(let base) = r.result { reports._withLock { $0.append((base, r.opaques)) } }
        }
        let log = try t.dir.partition("t", 0)
        for i in 0..<20 {
            let v = Array("v\(i)".utf8)
            _ = try v.withUnsafeBytes { try producer.produceNow(topic: "t", key: nil, value: $0, opaque: UInt64(100 + i)) }
            // linger.ms=0, acks=1: the calling thread appended it; a consumer can see it now.
            #expect(log.highWatermark == Int64(i + 1))
        }
        let all = reports._withLock { $0 }
        #expect(all.flatMap(\.1) == (0..<20).map { UInt64(100 + $0) })
        for (base, opaques) in all { #expect(base == Int64(opaques[0] - 100)) }
        let values = try batches(log).flatMap(\.records).map { String(decoding: $0.value!, as: UTF8.self) }
        #expect(values == (0..<20).map { "v\($0)" })
        await producer.close()
    }

    @Test func produceNowWithAcksAllAndLingerDeliversThroughTheDrainer() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("t", partitions: 3)
        let producer = try Producer(configuration: Self.config(acks: .all, linger: 2), logDirectory: t.dir)
        let delivered = Mutex<Set<UInt64>>([])
        producer.onDelivery { r in
            if case .success = r.result { delivered._withLock { $0.formUnion(r.opaques) } }
        }
        for i in 0..<300 {
            let k = Array("k\(i % 7)".utf8), v = [UInt8](repeating: UInt8(i & 0xFF), count: 50)
            _ = try k.withUnsafeBytes { k in try v.withUnsafeBytes { v in
                try producer.produceNow(topic: "t", key: k, value: v, headers: [RecordHeader(key: "h", value: [1])], opaque: UInt64(i))
            } }
        }
        await producer.flush()
        #expect(delivered._withLock { $0 } == Set(0..<300))
        // Keys went where Kafka's partitioner puts them.
        for p in Int32(0)..<3 {
            for r in try batches(t.dir.partition("t", p)).flatMap(\.records) {
                #expect(kafkaDefaultPartition(forKey: r.key!, partitionCount: 3) == p)
                #expect(r.headers.first?.key == "h")
            }
        }
        await producer.close()
    }

    @Test func produceNowFailuresAreTypedErrors() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("t", partitions: 1)
        var c = Self.config()
        c.allowAutoCreateTopics = false
        let producer = try Producer(configuration: c, logDirectory: t.dir)
        let v: [UInt8] = [1, 2, 3]
        #expect(throws: ClientError.self) { try v.withUnsafeBytes { try producer.produceNow(topic: "missing", key: nil, value: $0) } }
        #expect(throws: ClientError.self) { try v.withUnsafeBytes { try producer.produceNow(topic: "t", partition: 5, key: nil, value: $0) } }
        let big = [UInt8](repeating: 0, count: 2 << 20)
        #expect(throws: ClientError.self) { try big.withUnsafeBytes { try producer.produceNow(topic: "t", key: nil, value: $0) } }
        await producer.close()
        do {
            _ = try v.withUnsafeBytes { try producer.produceNow(topic: "t", key: nil, value: $0) }
            Issue.record("a closed producer accepted a record")
        } catch let e as ClientError {
            #expect(e.code == .producerClosed)
        }
    }

    /// Several members joining at once from their own threads converge on one generation
    /// (a member whose sync failed rejoins under its id instead of leaving an orphan behind),
    /// and every record is consumed exactly once.
    @Test func membersPollingFromThreadsJoinTogetherAndConsumeEverythingOnce() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("t", partitions: 6)
        var cc = ConsumerConfiguration(groupId: "g")
        cc.autoOffsetReset = .earliest
        cc.heartbeatIntervalMs = 100
        cc.sessionTimeoutMs = 30_000
        let members = try (0..<4).map { _ in try Consumer(configuration: cc, logDirectory: t.dir) }
        for m in members { try m.subscribe(topics: ["t"]) }
        let total = 2_000
        let seen = Mutex<[String: Int]>([:])
        let count = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        // Counted, not a semaphore: a test body must not block a cooperative-pool thread (the
        // members' joins run as tasks on that pool).
        let finished = Atomic<Int>(0)
        for m in members {
            Thread {
                while !stop.load(ordering: .relaxed) {
                    _ = try? m.pollBlocking(timeout: .milliseconds(20)) { batch in
                        for msg in batch {
                            seen._withLock { $0["\(msg.partition):\(msg.offset)", default: 0] += 1 }
                            count.add(1, ordering: .relaxed)
                        }
                    }
                }
                finished.add(1, ordering: .releasing)
            }.start()
        }
        let producer = try Producer(configuration: Self.config(), logDirectory: t.dir)
        for i in 0..<total {
            let k = Array("k\(i)".utf8)
            _ = try k.withUnsafeBytes { try producer.produceNow(topic: "t", key: $0, value: $0) }
        }
        await producer.close()
        try await waitUntil("all consumed") { count.load(ordering: .relaxed) >= total }
        let d = members[0].coordinator.describeGroup("g")
        #expect(d.state == .stable)
        #expect(d.members.count == 4)
        stop.store(true, ordering: .relaxed)
        try await waitUntil("poll threads stopped") { finished.load(ordering: .acquiring) == members.count }
        #expect(count.load(ordering: .relaxed) == total)
        #expect(seen._withLock { $0.values.allSatisfy { $0 == 1 } })
        for m in members { try? m.commit() }
        var committed: Int64 = 0
        for (_, o) in members[0].coordinator.committedOffsets(groupId: "g") { committed += o.offset }
        #expect(committed == Int64(total))
        for m in members { await m.close() }
    }

    @Test func aBlockedPollWakesForARebalance() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("t", partitions: 2)
        var cc = ConsumerConfiguration(groupId: "g")
        cc.sessionTimeoutMs = 200_000
        cc.heartbeatIntervalMs = 60_000  // the heartbeat would be too late: the coordinator wakes it
        let a = try Consumer(configuration: cc, logDirectory: t.dir)
        try a.subscribe(topics: ["t"])
        // pollBlocking blocks its thread, so it runs on threads of its own, never in the test's
        // task (whose cooperative-pool thread the join needs).
        let joined = Atomic<Bool>(false)
        Thread {
            _ = try? a.pollBlocking(timeout: .milliseconds(1)) { _ in }
            joined.store(true, ordering: .releasing)
        }.start()
        try await waitUntil("a joined") { joined.load(ordering: .acquiring) }
        #expect(a.assignment().count == 2)
        let done = Atomic<Bool>(false)
        let stop = Atomic<Bool>(false)
        Thread {
            while !stop.load(ordering: .relaxed) { _ = try? a.pollBlocking(timeout: .seconds(30)) { _ in } }
            done.store(true, ordering: .releasing)
        }.start()
        let b = try Consumer(configuration: cc, logDirectory: t.dir)
        try b.subscribe(topics: ["t"])
        // b's join completes only once a has rejoined, which its blocked poll does when woken.
        _ = try await b.poll(timeout: .milliseconds(1))
        try await waitUntil("both assigned") { a.assignment().count == 1 && b.assignment().count == 1 }
        stop.store(true, ordering: .relaxed)
        a.wakeup()
        try await waitUntil("poll thread stopped") { done.load(ordering: .acquiring) }
        await b.close()
        await a.close()
    }

    /// The same for a task in `poll`: the coordinator's hook ends its wait for data, so it
    /// rejoins long before fetch.max.wait.ms or the next heartbeat.
    @Test func anAsyncPollWaitingForDataWakesForARebalance() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("t", partitions: 2)
        var cc = ConsumerConfiguration(groupId: "g")
        cc.sessionTimeoutMs = 200_000
        cc.heartbeatIntervalMs = 60_000
        cc.fetchMaxWaitMs = 60_000
        let a = try Consumer(configuration: cc, logDirectory: t.dir)
        try a.subscribe(topics: ["t"])
        _ = try await a.poll(timeout: .milliseconds(1))
        #expect(a.assignment().count == 2)
        let polling = Task { _ = try? await a.poll(timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        let b = try Consumer(configuration: cc, logDirectory: t.dir)
        try b.subscribe(topics: ["t"])
        _ = try await b.poll(timeout: .milliseconds(1))
        try await waitUntil("both assigned") { a.assignment().count == 1 && b.assignment().count == 1 }
        await b.close()
        await a.close()
        polling.cancel()
        _ = await polling.value
    }
}
