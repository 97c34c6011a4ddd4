import Foundation
import Testing
import WeirClient
import WeirFormat
import WeirLog
import WeirPatterns

@Suite(.serialized) struct IdempotentConsumerTests {
    static let topic = "bank.payment.requested"

    static func produce(_ s: DBSandbox, _ records: [(key: String?, value: String, headers: [RecordHeader])]) async throws {
        try await s.client.ensureTopic(topic, partitions: 1, configs: [:])
        let p = try await s.client.makeProducer(properties: ["acks": "all"])
        for r in records { _ = try await p.send(ProducerRecord(topic: topic, key: r.key.map { Array($0.utf8) }, value: Array(r.value.utf8), headers: r.headers)) }
        await p.close()
        try s.db.execute("CREATE TABLE IF NOT EXISTS payments (value TEXT)")
    }

    static func consumer(_ s: DBSandbox, group: String = "payments") async throws -> any MessageConsumer {
        let c = try await s.client.makeConsumer(properties: ["group.id": group, "auto.offset.reset": "earliest"])
        try await c.assign([TopicPartition(topic, 0)])
        return c
    }

    static func poll(_ c: any MessageConsumer, count: Int) async throws -> [ConsumerRecord] {
        var out: [ConsumerRecord] = []
        for _ in 0..<50 where out.count < count { out += try await c.poll(timeout: .milliseconds(100)) }
        return out
    }

    static func insert(_ record: ConsumerRecord, _ tx: SQLiteTransaction) throws {
        try tx.run("INSERT INTO payments (value) VALUES (?)", [.text(record.valueString ?? "")])
    }

    @Test func duplicatesByKeyAreSkippedAndTheirOffsetsCommitted() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        try await Self.produce(s, ["a", "b", "a", "c", "b"].map { (k: String) in (key: k, value: "pay-" + k, headers: []) })
        let c = try await Self.consumer(s)
        let idem = try IdempotentConsumer(database: s.db, consumer: c, idStrategy: .key, scope: "payments")
        let r = try await idem.process(try await Self.poll(c, count: 5), Self.insert)
        #expect(r.processed == 3 && r.duplicates == 2)
        #expect(r.committed == [TopicPartition(Self.topic, 0): 5])
        #expect(try await c.committed(TopicPartition(Self.topic, 0)) == 5)
        #expect(try s.db.query("SELECT value FROM payments ORDER BY rowid").map { $0[0].string } == ["pay-a", "pay-b", "pay-c"])
        #expect(try idem.isProcessed("a") && !idem.isProcessed("z"))
        #expect(idem.statistics.duplicates == 2)
        await c.close()
    }

    @Test func aFailingHandlerRollsBackItsRecordAndIsRedelivered() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        try await Self.produce(s, (0..<4).map { (key: nil, value: "v\($0)", headers: []) })
        let c = try await Self.consumer(s)
        let idem = try IdempotentConsumer(database: s.db, consumer: c, idStrategy: .topicPartitionOffset)
        struct Declined: Error {}
        let batch = try await Self.poll(c, count: 4)
        do throws(IdempotencyError) {
            try await idem.process(batch) { record, tx in
                try tx.run("INSERT INTO payments (value) VALUES (?)", [.text(record.valueString!)])
                if record.offset == 2 { throw Declined() }
            }
            Issue.record("the handler's error was swallowed")
        } catch {
            #expect(error.code == .handler && error.record?.offset == 2 && error.underlying is Declined)
        }
        #expect(try s.db.query("SELECT value FROM payments ORDER BY rowid").map { $0[0].string } == ["v0", "v1"])
        #expect(try await c.committed(TopicPartition(Self.topic, 0)) == 2)
        #expect(try !idem.isProcessed("\(Self.topic)-0@2"))
        // Positioned back: the failed record comes again, then the rest.
        let again = try await Self.poll(c, count: 2)
        #expect(again.map(\.offset) == [2, 3])
        let r = try await idem.process(again, Self.insert)
        #expect(r.processed == 2 && r.duplicates == 0)
        #expect(try s.db.query("SELECT count(*) FROM payments")[0][0].int64 == 4)
        await c.close()
    }

    @Test func aRecordWithoutAnIdIsRejected() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        try await Self.produce(s, [(key: nil, value: "x", headers: [RecordHeader(key: "other", value: [1])])])
        let c = try await Self.consumer(s)
        let idem = try IdempotentConsumer(database: s.db, consumer: c, idStrategy: .header("message-id"))
        await #expect(throws: IdempotencyError.self) { try await idem.process(try await Self.poll(c, count: 1), Self.insert) }
        #expect(try await c.committed(TopicPartition(Self.topic, 0)) == nil)
        #expect(throws: IdempotencyError.self) { try IdempotentConsumer(database: s.db, consumer: c, idStrategy: .key, table: "bad name") }
        await c.close()
    }

    @Test func processedIdsSurviveARestartUntilRetentionRemovesThem() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        try await Self.produce(s, (0..<3).map { (key: nil, value: "v\($0)", headers: [RecordHeader(key: "message-id", value: Array("m\($0)".utf8))]) })
        let c1 = try await Self.consumer(s)
        let first = try IdempotentConsumer(database: s.db, consumer: c1, idStrategy: .header("message-id"))
        #expect(try await first.process(try await Self.poll(c1, count: 3), Self.insert).processed == 3)
        await c1.close()
        s.db.close()

        // A new process: a new database connection and a consumer of another group that reads
        // the same records again (a redelivery).
        let db = try SQLiteDatabase(path: s.dbPath)
        defer { db.close() }
        let c2 = try await Self.consumer(s, group: "replay")
        let second = try IdempotentConsumer(database: db, consumer: c2, idStrategy: .header("message-id"))
        let r = try await second.process(try await Self.poll(c2, count: 3), Self.insert)
        #expect(r.processed == 0 && r.duplicates == 3)
        #expect(try db.query("SELECT count(*) FROM payments")[0][0].int64 == 3)
        #expect(try second.deleteProcessedIds(olderThan: .seconds(3600)) == 0)
        #expect(try second.deleteProcessedIds(olderThan: .zero) == 3)
        #expect(try !second.isProcessed("m0"))
        await c2.close()
    }
}
