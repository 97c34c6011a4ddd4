import Foundation
import Synchronization
import Testing
import WeirClient
import WeirPatterns
import WeirLog

@Suite struct PartitionStateTests {
    /// A loader/flusher pair over a shared durable map, recording what happened.
    final class Backing: Sendable {
        let saved = Mutex<[TopicPartition: Int]>([:])
        let log = Mutex<[String]>([])
        func store(_ member: String) -> PartitionStateStore<Int> {
            PartitionStateStore(loader: { [self] tp in
                log.withLock { $0.append("\(member) load \(tp.partition)") }
                return saved.withLock { $0[tp] ?? 0 }
            }, flusher: { [self] tp, count in
                log.withLock { $0.append("\(member) flush \(tp.partition)") }
                saved.withLock { $0[tp] = count }
            })
        }
    }

    /// A member polling in its own task (counting each record into its partition's state and
    /// committing) until `pause()`.
    final class Member: Sendable {
        final class Flag: Sendable { let stop = Atomic<Bool>(false) }
        let flag = Flag()
        let task: Mutex<Task<Void, Never>?> = Mutex(nil)

        init(_ c: any MessageConsumer, _ s: PartitionStateStore<Int>) {
            let flag = self.flag
            let t = Task {
                while !flag.stop.load(ordering: .relaxed) {
                    guard let records = try? await c.poll(timeout: .milliseconds(20)) else { continue }
                    var offsets: [TopicPartition: Int64] = [:]
                    for r in records {
                        guard (try? s.update(r.topicPartition) { $0 += 1 }) != nil else { continue }
                        offsets[r.topicPartition] = r.offset + 1
                    }
                    if !offsets.isEmpty { try? await c.commit(offsets) }
                }
            }
            task.withLock { $0 = t }
        }

        func pause() async {
            flag.stop.store(true, ordering: .relaxed)
            await task.withLock { $0 }?.value
        }
    }

    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    @Test func stateFollowsPartitionsBetweenTwoMembers() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let topic = "clicks.page.viewed"
        try await f.client.ensureTopic(topic, partitions: 4, configs: [:])
        let producer = try await f.client.makeProducer(properties: [:])
        for i in 0..<40 { _ = try await producer.send(ProducerRecord(topic: topic, partition: Int32(i % 4), key: "k", value: "\(i)")) }
        let backing = Backing()
        let props = ["group.id": "counter", "auto.offset.reset": "earliest", "partition.assignment.strategy": "roundrobin"]

        let stateA = backing.store("a"), stateB = backing.store("b")
        let a = try await f.client.makeConsumer(properties: props)
        try await a.subscribe(topics: [topic], listener: stateA)
        let runA = Member(a, stateA)
        try await waitFor { stateA.ownedPartitions.count == 4 && (try? stateA.state(TopicPartition(topic, 3))) == 10 }
        for p in 0..<Int32(4) { #expect(try stateA.state(TopicPartition(topic, p)) == 10) }

        // b joins; both poll concurrently (a join waits for every member to rejoin).
        let b = try await f.client.makeConsumer(properties: props)
        try await b.subscribe(topics: [topic], listener: stateB)
        let runB = Member(b, stateB)
        try await waitFor { stateB.ownedPartitions.count == 2 && stateA.ownedPartitions.count == 2 }
        await runA.pause()
        await runB.pause()
        let ownedA = Set(stateA.ownedPartitions), ownedB = Set(stateB.ownedPartitions)
        #expect(ownedA.count == 2 && ownedB.count == 2 && ownedA.isDisjoint(with: ownedB))
        // What b owns now was flushed by a when revoked and loaded by b: counts carried over.
        for tp in ownedB {
            #expect(try stateB.state(tp) == 10)
            #expect(backing.log.withLock { $0 }.contains("a flush \(tp.partition)"))
        }
        // a may not touch the partitions it gave away.
        let moved = try #require(ownedB.first)
        do { try stateA.update(moved) { $0 += 1 }; Issue.record("a updated a partition it no longer owns") } catch {
            #expect(error.code == .notOwned && error.partition == moved)
        }
        // More records after the move land in the right member's state.
        for i in 0..<8 { _ = try await producer.send(ProducerRecord(topic: topic, partition: Int32(i % 4), key: "k", value: "x")) }
        let resumedA = Member(a, stateA), resumedB = Member(b, stateB)
        try await waitFor { (ownedA.union(ownedB)).allSatisfy { tp in ((try? stateA.state(tp)) ?? (try? stateB.state(tp))) == 12 } }
        await resumedA.pause()
        await resumedB.pause()
        for tp in ownedA { #expect(try stateA.state(tp) == 12) }
        for tp in ownedB { #expect(try stateB.state(tp) == 12) }
        await a.close()
        await b.close()
        await producer.close()
    }

    @Test func lostPartitionsAreDroppedWithoutFlushing() async throws {
        let backing = Backing()
        let s = backing.store("m")
        let tp0 = TopicPartition("t", 0), tp1 = TopicPartition("t", 1)
        backing.saved.withLock { $0[tp0] = 5 }
        await s.partitionsAssigned([tp0, tp1])
        #expect(try s.state(tp0) == 5 && s.counts.loads == 2)
        try s.update(tp0) { $0 = 99 }
        await s.partitionsLost([tp0])
        #expect(backing.saved.withLock { $0[tp0] } == 5) // not flushed: the new owner's copy wins
        #expect(s.counts.dropsWithoutFlush == 1 && s.counts.flushes == 0)
        #expect(throws: PartitionStateError.self) { try s.state(tp0) }
        try s.update(tp1) { $0 = 7 }
        await s.partitionsRevoked([tp1])
        #expect(backing.saved.withLock { $0[tp1] } == 7 && s.counts.flushes == 1)
        #expect(s.ownedPartitions.isEmpty)
    }

    @Test func aFailedLoadIsATypedErrorNotAnEmptyState() async throws {
        struct Boom: Error {}
        let backing = Backing()
        let s = PartitionStateStore<Int>(loader: { _ in throw Boom() }, flusher: { _, _ in }, onError: { _, _ in backing.log.withLock { $0.append("error") } })
        await s.partitionsAssigned([TopicPartition("t", 0)])
        do { _ = try s.state(TopicPartition("t", 0)); Issue.record("state of a failed load returned") } catch {
            #expect(error.code == .loadFailed && error.isRetriable)
        }
        #expect(backing.log.withLock { $0 } == ["error"])
    }

    @Test func sqliteBackedStateSurvivesAReload() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-ps-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try SQLiteDatabase(path: dir + "/s.sqlite")
        let tp = TopicPartition("t", 2)
        let first = try PartitionStateStore<[String: Int]>.sqlite(db, initial: [:])
        await first.partitionsAssigned([tp])
        try first.update(tp) { $0["x", default: 0] += 3 }
        await first.partitionsRevoked([tp])
        let second = try PartitionStateStore<[String: Int]>.sqlite(db, initial: [:])
        await second.partitionsAssigned([tp])
        #expect(try second.state(tp) == ["x": 3])
        db.close()
    }
}
