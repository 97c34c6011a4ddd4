import Testing
import WeirFormat
import WeirLog
@testable import WeirClient

@Suite struct TransactionTests {
    func txnProducer(_ t: TestLog, id: String = "tx-1", extra: [String: String] = [:]) throws -> Producer {
        try Producer(configuration: try config(["transactional.id": id, "linger.ms": "0"].merging(extra) { $1 }), logDirectory: t.dir)
    }

    @Test func committedVisibleAbortedInvisible() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("payments", partitions: 2)
        let p = try txnProducer(t)
        #expect { try p.beginTransaction() } throws: { ($0 as? ClientError)?.code == .invalidTransactionState }
        try await p.initTransactions()
        await #expect { try await p.produce(ProducerRecord(topic: "payments", key: "a", value: "outside")) } throws: {
            ($0 as? ClientError)?.code == .invalidTransactionState
        }

        try p.beginTransaction()
        for i in 0..<10 { try await p.produce(ProducerRecord(topic: "payments", key: "k\(i)", value: "committed-\(i)")) }
        try await p.commitTransaction()

        try p.beginTransaction()
        for i in 0..<10 { try await p.produce(ProducerRecord(topic: "payments", key: "k\(i)", value: "aborted-\(i)")) }
        await p.flush()
        // While the transaction is open, read_committed stops at its first offset.
        for part: Int32 in 0..<2 {
            let log = try t.dir.partition("payments", part)
            if let first = log.openTransactions[p.producerId] { #expect(log.lastStableOffset == first) }
        }
        try await p.abortTransaction()

        try p.beginTransaction()
        try await p.produce(ProducerRecord(topic: "payments", key: "k0", value: "committed-last"))
        try await p.commitTransaction()
        await p.close()

        var committed: [String] = [], uncommitted: [String] = []
        var markers = 0
        for part: Int32 in 0..<2 {
            let log = try t.dir.partition("payments", part)
            #expect(log.lastStableOffset == log.highWatermark)
            let rc = try log.read(from: 0, maxBytes: 1 << 20, isolation: .readCommitted)
            committed += rc.records.compactMap { text($0.value) }
            let ru = try log.read(from: 0, maxBytes: 1 << 20, isolation: .readUncommitted)
            uncommitted += ru.records.compactMap { text($0.value) }
            for b in try batches(log) where b.header.attributes.isControl {
                #expect(b.header.attributes.isTransactional && b.header.producerId == p.producerId)
                #expect(b.records.count == 1 && b.records[0].key?.count == 4)
                markers += 1
            }
        }
        #expect(Set(committed) == Set((0..<10).map { "committed-\($0)" } + ["committed-last"]))
        #expect(committed.count == 11)
        #expect(uncommitted.count == 21)
        // Three transactions; the first two touched both partitions, the last one.
        #expect(markers == 5)
    }

    @Test func initTransactionsFencesTheOlderProducerAndAbortsItsTransaction() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("fenced")
        let old = try txnProducer(t, id: "same")
        try await old.initTransactions()
        try old.beginTransaction()
        try await old.produce(ProducerRecord(topic: "fenced", value: "zombie"))
        await old.flush()
        let log = try t.dir.partition("fenced", 0)
        #expect(log.lastStableOffset == 0)

        let new = try txnProducer(t, id: "same")
        try await new.initTransactions()
        #expect(new.producerId == old.producerId && new.producerEpoch > old.producerEpoch)
        #expect(log.lastStableOffset == log.highWatermark, "the zombie's transaction was aborted")
        await #expect { try await old.commitTransaction() } throws: { ($0 as? ClientError)?.code == .producerFenced }

        try new.beginTransaction()
        try await new.produce(ProducerRecord(topic: "fenced", value: "fresh"))
        try await new.commitTransaction()
        let rc = try log.read(from: 0, maxBytes: 1 << 20, isolation: .readCommitted)
        #expect(rc.records.map { text($0.value) } == ["fresh"])
        await old.close()
        await new.close()
    }

    @Test func transactionTimeoutAborts() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("slow")
        let p = try txnProducer(t, id: "slowpoke", extra: ["transaction.timeout.ms": "50"])
        try await p.initTransactions()
        try p.beginTransaction()
        try await p.produce(ProducerRecord(topic: "slow", value: "too late"))
        await p.flush()
        let log = try t.dir.partition("slow", 0)
        // Wait for the coordinator's abort marker (no timed assertion: just wait for it).
        while log.lastStableOffset < log.highWatermark || log.highWatermark < 2 {
            _ = try await log.waitForHighWatermark(above: log.highWatermark - 1 + 1, timeout: .milliseconds(200))
        }
        await #expect { try await p.commitTransaction() } throws: { ($0 as? ClientError)?.code == .transactionTimedOut }
        #expect(try log.read(from: 0, maxBytes: 1 << 20, isolation: .readCommitted).records.isEmpty)
        await p.close()
    }

    @Test func sendOffsetsToTransactionWritesKafkaOffsetCommits() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("out")
        let p = try txnProducer(t, id: "eos")
        try await p.initTransactions()
        try p.beginTransaction()
        try await p.produce(ProducerRecord(topic: "out", value: "result"))
        try await p.sendOffsetsToTransaction([TopicPartition("in", 0): 42, TopicPartition("in", 1): 7], groupId: "group-a")
        try await p.commitTransaction()
        await p.close()
        let part = InternalTopics.offsetsPartition(forGroup: "group-a", partitionCount: InternalTopics.consumerOffsetsPartitionCount)
        let log = try t.dir.partition(InternalTopics.consumerOffsets, part)
        let rc = try log.read(from: 0, maxBytes: 1 << 20, isolation: .readCommitted)
        let commits = rc.records.compactMap { r -> String? in
            guard let k = InternalTopics.parseOffsetCommitKey(r.key!), let o = InternalTopics.parseOffsetCommitValue(r.value!)?.offset else { return nil }
            return "\(k.group)/\(k.topic)-\(k.partition)=\(o)"
        }
        #expect(commits == ["group-a/in-0=42", "group-a/in-1=7"])
        #expect(rc.controlBatches == 1)
        // Java's "group-a".hashCode() = 293427347, and 293427347 % 4 = 3.
        #expect(part == 3)
    }

    @Test func producerIdsStayUniqueAcrossReopen() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("ids")
        let a = try Producer(configuration: try config(), logDirectory: t.dir)
        try await a.send(ProducerRecord(topic: "ids", value: "a"))
        await a.close()
        let reopened = try t.reopen()
        defer { try? reopened.close() }
        let b = try Producer(configuration: try config(), logDirectory: reopened)
        #expect(b.producerId > a.producerId)
        try await b.send(ProducerRecord(topic: "ids", value: "b"))
        await b.close()
    }
}
