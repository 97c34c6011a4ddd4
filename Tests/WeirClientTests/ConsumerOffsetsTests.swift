import Foundation
import Testing
import WeirFormat
import WeirLog
@testable import WeirClient

@Suite struct ConsumerOffsetsTests {
    @Test func committedOffsetsSurviveReopeningTheLogDirectory() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 3)
        for p in 0..<Int32(3) { try produce(d.log, "t", partition: p, count: 20) }
        var config = groupConfig("durable")
        config.maxPollRecords = 1000
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        var n = 0
        while n < 60 { n += try await c.poll(timeout: .seconds(5)).count }
        try c.commit([TopicPartition("t", 0): 20, TopicPartition("t", 1): 11])
        try c.commit([TopicPartition("t", 1): 15])   // a later commit wins
        await c.close()

        let reopened = try d.reopen()
        defer { try? reopened.close() }
        #expect(reopened.topicNames.contains("__consumer_offsets"))
        let coordinator = GroupCoordinator.shared(for: reopened)
        let committed = coordinator.committedOffsets(groupId: "durable")
        #expect(committed[TopicPartition("t", 0)]?.offset == 20)
        #expect(committed[TopicPartition("t", 1)]?.offset == 15)
        #expect(committed[TopicPartition("t", 2)] == nil)
        // A new member resumes from the committed offsets.
        let c2 = try Consumer(configuration: config, logDirectory: reopened)
        try c2.subscribe(topics: ["t"])
        var got: [ConsumerRecord] = []
        while got.count < 5 + 20 { got += try await c2.poll(timeout: .seconds(5)) }
        #expect(got.filter { $0.partition == 0 }.isEmpty)
        #expect(got.filter { $0.partition == 1 }.map(\.offset) == Array(15..<20))
        #expect(got.filter { $0.partition == 2 }.count == 20)
        // The records are Kafka's OffsetCommitKey v1 / OffsetCommitValue v3.
        let key = InternalTopics.offsetCommitKey(group: "durable", topic: "t", partition: 1)
        #expect(key.prefix(2) == [0, 1])
        #expect(coordinator.listGroups() == ["durable"])
        await c2.close()
    }

    @Test func autoCommitHonoursTheInterval() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        try produce(d.log, "t", partition: 0, count: 30)
        let tp = TopicPartition("t", 0)
        // A long interval: polling does not commit; close does.
        var slow = groupConfig("slow")
        slow.enableAutoCommit = true
        slow.autoCommitIntervalMs = 3_600_000
        slow.maxPollRecords = 10
        let c = try Consumer(configuration: slow, logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        var n = 0
        while n < 30 { n += try await c.poll(timeout: .seconds(5)).count }
        _ = try await c.poll(timeout: .milliseconds(5))
        #expect(c.committed(tp) == nil)
        await c.close()
        #expect(c.committed(tp)?.offset == 30)
        // Interval 0: each poll commits what the previous polls returned.
        var fast = groupConfig("fast")
        fast.enableAutoCommit = true
        fast.autoCommitIntervalMs = 0
        fast.maxPollRecords = 10
        let f = try Consumer(configuration: fast, logDirectory: d.log)
        try f.subscribe(topics: ["t"])
        var first: [ConsumerRecord] = []
        while first.isEmpty { first = try await f.poll(timeout: .seconds(5)) }
        #expect(f.committed(tp) == nil)
        _ = try await f.poll(timeout: .seconds(5))
        #expect(f.committed(tp)?.offset == first.last!.offset + 1)
        await f.close()
    }

    @Test func readCommittedHidesAbortedTransactions() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("payments", partitions: 1)
        var pc = ProducerConfiguration()
        pc.transactionalId = "tx"
        pc.lingerMs = 0
        let p = try Producer(configuration: pc, logDirectory: d.log)
        try await p.initTransactions()
        for (i, commit) in [true, false, true, false, true].enumerated() {
            try p.beginTransaction()
            for j in 0..<3 { try await p.produce(ProducerRecord(topic: "payments", partition: 0, key: "k", value: "\(commit ? "ok" : "aborted")-\(i)-\(j)")) }
            if commit { try await p.commitTransaction() } else { try await p.abortTransaction() }
        }
        // An open transaction: read_committed stops at its first offset.
        try p.beginTransaction()
        try await p.produce(ProducerRecord(topic: "payments", partition: 0, key: "k", value: "open"))
        await p.flush()
        func read(_ level: IsolationLevel) async throws -> [String] {
            var config = ConsumerConfiguration()
            config.autoOffsetReset = .earliest
            config.isolationLevel = level
            config.fetchMaxWaitMs = 5
            let c = try Consumer(configuration: config, logDirectory: d.log)
            try c.assign([TopicPartition("payments", 0)])
            var out: [String] = []
            while true {
                let r = try await c.poll(timeout: .milliseconds(50))
                if r.isEmpty { break }
                out += r.map(\.text)
            }
            return out
        }
        let committed = try await read(.readCommitted)
        #expect(committed == [0, 2, 4].flatMap { i in (0..<3).map { "ok-\(i)-\($0)" } })
        let uncommitted = try await read(.readUncommitted)
        #expect(uncommitted.count == 16)
        #expect(uncommitted.last == "open")
        try await p.commitTransaction()
        #expect(try await read(.readCommitted).last == "open")
        await p.close()
    }

    @Test func sendOffsetsToTransactionCommitsWithTheTransaction() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("in", partitions: 1)
        try d.log.createTopic("out", partitions: 1)
        try produce(d.log, "in", partition: 0, count: 10)
        let config = groupConfig("eos")
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.subscribe(topics: ["in"])
        var pc = ProducerConfiguration()
        pc.transactionalId = "eos-1"
        pc.lingerMs = 0
        let p = try Producer(configuration: pc, logDirectory: d.log)
        try await p.initTransactions()
        let tp = TopicPartition("in", 0)
        // Consume-transform-produce: outputs and the input offsets commit together...
        var records: [ConsumerRecord] = []
        while records.count < 10 { records += try await c.poll(timeout: .seconds(5)) }
        try p.beginTransaction()
        for r in records.prefix(5) { try await p.produce(ProducerRecord(topic: "out", partition: 0, value: r.value)) }
        try await p.sendOffsetsToTransaction([tp: records[4].offset + 1], groupId: "eos")
        try await p.commitTransaction()
        #expect(c.committed(tp)?.offset == 5)
        // ... or abort together.
        try p.beginTransaction()
        for r in records.suffix(5) { try await p.produce(ProducerRecord(topic: "out", partition: 0, value: r.value)) }
        try await p.sendOffsetsToTransaction([tp: 10], groupId: "eos")
        #expect(c.committed(tp)?.offset == 5)
        try await p.abortTransaction()
        #expect(c.committed(tp)?.offset == 5)
        await p.close()
        await c.close()
    }

    @Test func describeLagAndResetOffsets() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 2)
        try produce(d.log, "t", partition: 0, count: 50)
        try produce(d.log, "t", partition: 1, count: 20)
        let c = try Consumer(configuration: groupConfig("lag"), logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        _ = try await c.poll(timeout: .seconds(5))
        try c.commit([TopicPartition("t", 0): 30, TopicPartition("t", 1): 20])
        let coordinator = c.coordinator
        let desc = coordinator.describeGroup("lag")
        #expect(desc.state == .stable)
        #expect(desc.members.count == 1)
        #expect(desc.members[0].assignment == [TopicPartition("t", 0), TopicPartition("t", 1)])
        #expect(desc.offsets.map(\.lag) == [20, 0])
        #expect(desc.totalLag == 20)
        // Reset needs an inactive group.
        #expect(throws: ClientError.self) { try coordinator.resetOffsets(groupId: "lag", topic: "t", to: .earliest) }
        await c.close()
        #expect(coordinator.describeGroup("lag").state == .empty)
        try coordinator.resetOffsets(groupId: "lag", topic: "t", to: .earliest)
        #expect(coordinator.committedOffsets(groupId: "lag").values.map(\.offset) == [0, 0])
        try coordinator.resetOffsets(groupId: "lag", topic: "t", to: .latest)
        #expect(coordinator.lag(groupId: "lag").map(\.lag) == [0, 0])
        try coordinator.resetOffsets(groupId: "lag", topic: "t", partitions: [0], to: .offset(7))
        #expect(coordinator.committedOffsets(groupId: "lag")[TopicPartition("t", 0)]?.offset == 7)
        try coordinator.resetOffsets(groupId: "lag", topic: "t", to: .timestamp(1_700_000_000_000 + 12))
        #expect(coordinator.committedOffsets(groupId: "lag")[TopicPartition("t", 0)]?.offset == 12)
        #expect(coordinator.committedOffsets(groupId: "lag")[TopicPartition("t", 1)]?.offset == 12)
    }

    @Test func sessionTimeoutRemovesACrashedMemberAndItsPartitionsAreLostNotRevoked() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 4)
        let config = groupConfig("lost")
        let lost = Collected<[TopicPartition]>()
        let a = try Consumer(configuration: config, logDirectory: d.log)
        try a.subscribe(topics: ["t"], listener: RebalanceListener(onPartitionsLost: { p, _ in lost.append(p) }))
        _ = try await a.poll(timeout: .milliseconds(10))
        #expect(a.assignment().count == 4)
        // a stops heartbeating (its heartbeat task is gone) but keeps polling later.
        a._stopHeartbeat()
        let b = try Consumer(configuration: config, logDirectory: d.log)
        try b.subscribe(topics: ["t"])
        _ = try await b.poll(timeout: .milliseconds(10))
        #expect(b.assignment().count == 4)
        // a learns it was removed: its partitions are lost, then it rejoins.
        a._memberLost.store(a.coordinator.heartbeat(groupId: "lost", memberId: a.groupMetadata()!.memberId, generationId: 0) == .unknownMember, ordering: .relaxed)
        let poller = Task { while !Task.isCancelled { _ = try? await b.poll(timeout: .milliseconds(20)) } }
        _ = try await a.poll(timeout: .milliseconds(10))
        #expect(lost.all.first?.count == 4)
        poller.cancel()
        await a.close()
        await b.close()
    }
}
