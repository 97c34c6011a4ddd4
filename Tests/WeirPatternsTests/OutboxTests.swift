import Foundation
import Synchronization
import Testing
import WeirClient
import WeirFormat
import WeirLog
import WeirPatterns

/// A temporary embedded log and SQLite database for one test, removed at `cleanup()`.
final class DBSandbox: @unchecked Sendable {
    let dir: String
    let log: LogDirectory
    let client: any MessagingClient
    let dbPath: String
    let db: SQLiteDatabase

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-db-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        log = try LogDirectory.open(path: dir + "/log")
        client = EmbeddedMessaging(logDirectory: log)
        dbPath = dir + "/app.db"
        db = try SQLiteDatabase(path: dbPath)
    }

    func cleanup() {
        db.close()
        try? log.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Every record of `topic` from the beginning (polls until `count` arrived or 5 s passed).
    func readAll(_ topic: String, count: Int) async throws -> [ConsumerRecord] {
        let n = try await client.partitionCount(topic)
        let consumer = try await client.makeConsumer(properties: ["auto.offset.reset": "earliest"])
        try await consumer.assign((0..<n).map { TopicPartition(topic, Int32($0)) })
        var out: [ConsumerRecord] = []
        for _ in 0..<50 where out.count < count { out += try await consumer.poll(timeout: .milliseconds(100)) }
        await consumer.close()
        return out
    }
}

extension ConsumerRecord {
    func header(_ key: String) -> String? {
        headers.last { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

@Suite(.serialized) struct OutboxTests {
    static let topic = "shop.order.created"

    /// Writes an order row and its outbox row in one transaction.
    static func placeOrder(_ s: DBSandbox, _ outbox: OutboxStore, aggregate: String, seq: Int, size: Int = 16) throws {
        try s.db.transaction { (tx) throws(SQLiteError) in
            try tx.run("INSERT INTO orders (aggregate, seq) VALUES (?, ?)", [.text(aggregate), .integer(Int64(seq))])
            var value = Array("\(aggregate):\(seq):".utf8)
            value += [UInt8](repeating: 0x2a, count: max(0, size - value.count))
            try outbox.write(in: tx, aggregateId: aggregate, topic: topic, key: nil, value: value,
                             headers: [RecordHeader(key: "seq", value: Array(String(seq).utf8))])
        }
    }

    static func setup(_ s: DBSandbox, partitions: Int = 3) async throws -> OutboxStore {
        try s.db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, aggregate TEXT, seq INTEGER)")
        try await s.client.ensureTopic(topic, partitions: partitions, configs: [:])
        return try OutboxStore(database: s.db)
    }

    @Test func entityAndOutboxRowCommitOrRollBackTogether() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let outbox = try await Self.setup(s)
        try Self.placeOrder(s, outbox, aggregate: "o-1", seq: 0)
        struct Declined: Error {}
        #expect(throws: SQLiteTransactionError<any Error>.self) {
            try s.db.transaction { (tx) throws(any Error) in
                try tx.run("INSERT INTO orders (aggregate, seq) VALUES ('o-2', 0)")
                try outbox.write(in: tx, aggregateId: "o-2", topic: Self.topic, key: nil, value: [1])
                throw Declined()
            }
        }
        #expect(try s.db.query("SELECT count(*) FROM orders")[0][0].int64 == 1)
        let status = try outbox.status()
        #expect(status.unpublished == 1 && status.published == 0)
        let pending = try outbox.pending(limit: 10)
        #expect(pending.map(\.aggregateId) == ["o-1"])
        #expect(pending[0].headers == [RecordHeader(key: "seq", value: Array("0".utf8))])
    }

    @Test func relayPublishesInOrderPerAggregateAndMarks() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let outbox = try await Self.setup(s)
        let aggregates = ["a", "b", "c", "d"]
        for seq in 0..<10 { for a in aggregates { try Self.placeOrder(s, outbox, aggregate: a, seq: seq) } }
        var config = OutboxRelayConfiguration()
        config.batchSize = 7
        let relay = OutboxRelay(store: outbox, client: s.client, configuration: config)
        var total = 0
        while true {
            let n = try await relay.publishPending()
            if n == 0 { break }
            total += n
        }
        #expect(total == 40)
        #expect(relay.statistics.published == 40 && relay.statistics.lag == 0)
        #expect(try outbox.status().unpublished == 0)
        let records = try await s.readAll(Self.topic, count: 40)
        #expect(records.count == 40)
        for a in aggregates {
            let mine = records.filter { $0.keyString == a }
            #expect(mine.map { $0.header("seq") } == (0..<10).map { String($0) })
            #expect(Set(mine.map(\.partition)).count == 1)
            #expect(mine.allSatisfy { $0.header(OutboxStore.aggregateHeader) == a && $0.header(OutboxStore.idHeader)?.hasPrefix(outbox.source + ":") == true })
        }
        await relay.closeForTests()
    }

    @Test func aFailedRowHoldsBackItsAggregateOnlyAndTheErrorIsThrown() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let outbox = try await Self.setup(s)
        try Self.placeOrder(s, outbox, aggregate: "a", seq: 0)
        try Self.placeOrder(s, outbox, aggregate: "a", seq: 1, size: 2 << 20) // larger than max.request.size
        try Self.placeOrder(s, outbox, aggregate: "a", seq: 2)
        try Self.placeOrder(s, outbox, aggregate: "b", seq: 0)
        try Self.placeOrder(s, outbox, aggregate: "b", seq: 1)
        let relay = OutboxRelay(store: outbox, client: s.client)
        do {
            try await relay.publishPending()
            Issue.record("a failed publish was swallowed")
        } catch {
            #expect(error.code == .publish && !error.isRetriable)
        }
        let left = try outbox.pending(limit: 10)
        #expect(left.map(\.aggregateId) == ["a", "a"])
        let records = try await s.readAll(Self.topic, count: 3)
        #expect(records.map { "\($0.keyString!):\($0.header("seq")!)" }.sorted() == ["a:0", "b:0", "b:1"])
        #expect(relay.statistics.errors == 1 && relay.statistics.lag == 2)
        // `run()` throws the non-retriable error instead of looping past it.
        await #expect(throws: OutboxError.self) { try await relay.run() }
    }

    @Test func crashBetweenPublishAndMarkRepublishesWithTheSameOutboxId() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let outbox = try await Self.setup(s, partitions: 1)
        for seq in 0..<5 { try Self.placeOrder(s, outbox, aggregate: "a", seq: seq) }
        var crashing = OutboxRelayConfiguration()
        crashing.faultInjection = { point in
            if case .afterPublishBeforeMark(let ids) = point { return !ids.isEmpty }
            return false
        }
        let first = OutboxRelay(store: outbox, client: s.client, configuration: crashing)
        do {
            try await first.publishPending()
            Issue.record("the fault hook did not crash the relay")
        } catch {
            #expect(error.code == .relayCrashed)
        }
        #expect(try outbox.status().unpublished == 5)
        await #expect(throws: OutboxError.self) { try await first.publishPending() }

        let second = OutboxRelay(store: outbox, client: s.client)
        #expect(try await second.publishPending() == 5)
        #expect(try outbox.status().unpublished == 0)
        let records = try await s.readAll(Self.topic, count: 10)
        #expect(records.count == 10)
        #expect(records.map { $0.header("seq")! } == ["0", "1", "2", "3", "4", "0", "1", "2", "3", "4"])
        #expect(records.prefix(5).map { $0.header(OutboxStore.idHeader) } == records.suffix(5).map { $0.header(OutboxStore.idHeader) })

        // An idempotent consumer keyed on the outbox id applies each order once.
        try s.db.execute("CREATE TABLE shipments (seq TEXT)")
        let consumer = try await s.client.makeConsumer(properties: ["group.id": "shipping", "auto.offset.reset": "earliest"])
        try await consumer.assign([TopicPartition(Self.topic, 0)])
        let idem = try IdempotentConsumer(database: s.db, consumer: consumer, idStrategy: .header(OutboxStore.idHeader), scope: "shipping")
        var processed = 0, duplicates = 0
        for _ in 0..<50 where processed + duplicates < 10 {
            let r = try await idem.pollAndProcess(timeout: .milliseconds(100)) { record, tx in
                try tx.run("INSERT INTO shipments (seq) VALUES (?)", [.text(record.header("seq")!)])
            }
            processed += r.processed
            duplicates += r.duplicates
        }
        #expect(processed == 5 && duplicates == 5)
        #expect(try s.db.query("SELECT count(*) FROM shipments")[0][0].int64 == 5)
        await consumer.close()
        await second.closeForTests()
    }

    @Test func runWakesOnWriteAndRetentionKeepsUnpublishedRows() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let outbox = try await Self.setup(s, partitions: 1)
        var config = OutboxRelayConfiguration()
        config.pollInterval = .seconds(30) // only a write can wake it in time
        let relay = OutboxRelay(store: outbox, client: s.client, configuration: config)
        let running = Task { try await relay.run() }
        try await Task.sleep(for: .milliseconds(50))
        try Self.placeOrder(s, outbox, aggregate: "a", seq: 0)
        let records = try await s.readAll(Self.topic, count: 1)
        #expect(records.count == 1)
        relay.stop()
        try await running.value
        try Self.placeOrder(s, outbox, aggregate: "a", seq: 1)
        #expect(try outbox.deletePublished(olderThan: .zero) == 1)
        let status = try outbox.status()
        #expect(status.published == 0 && status.unpublished == 1)
    }

    @Test func badConfigurationIsRejected() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        #expect(throws: OutboxError.self) { try OutboxStore(database: s.db, table: "outbox; DROP TABLE x") }
        let outbox = try await Self.setup(s)
        try Self.placeOrder(s, outbox, aggregate: "a", seq: 0)
        var config = OutboxRelayConfiguration()
        config.producerProperties = ["enable.idempotence": "false"]
        let relay = OutboxRelay(store: outbox, client: s.client, configuration: config)
        do {
            try await relay.publishPending()
            Issue.record("enable.idempotence=false accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
        }
        #expect(try outbox.status().unpublished == 1)
    }
}

extension OutboxRelay {
    /// Stops the relay and releases its producer.
    func closeForTests() async {
        stop()
        try? await run()
    }
}
