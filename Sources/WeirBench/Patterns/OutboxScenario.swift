import Foundation
import Synchronization
import WeirClientAPI
import WeirPatterns

/// `pattern: outbox`: the transactional outbox under load.
///
/// Producer side: each generated record becomes an entity row and an outbox row, written in one
/// SQLite transaction (`synchronous=FULL`) by a writer thread that commits whatever queued during
/// the previous commit, up to `writeBatch` records per transaction (group commit: one fsync for
/// several records, each record's two rows still in one transaction). The acknowledgement, and so
/// `publish` latency, is the SQLite commit. An `OutboxRelay` (idempotent producer, `acks=all`)
/// publishes the rows to the step's topic in order per aggregate; the consumer side reads the
/// topic, so `end_to_end` = intended send → SQLite commit → relay publish → consumed.
/// The relay starts with the first producer (after the generator created the topics).
let outboxScenario = PatternScenario(
    .outbox,
    presets: [
        Preset(name: "outbox", summary: "outbox relay throughput: 1000 rec/s of 512 B through SQLite (synchronous=FULL) and the relay, 64 aggregates; embedded", steps: [
            Preset.step(named: "outbox-1k") {
                $0.pattern = "outbox"
                $0.partitionsPerTopic = 4; $0.producerRate = 1000; $0.messageSize = 512
                $0.warmupSeconds = 2; $0.durationSeconds = 12
                $0.patternOptions = ["aggregates": "64", "relayBatch": "256", "writeBatch": "64"]
            },
        ]),
    ]
) { workload, client throws(BenchError) in
    let o = _PatternOptions(workload)
    let outbox = try _Outbox(client: client,
                             aggregates: o.int("aggregates", 64, 1...1_000_000),
                             relayBatch: o.int("relayBatch", 256, 1...100_000),
                             writeBatch: o.int("writeBatch", 64, 1...100_000))
    let members = workload.consumerPerSubscription
    var scenario = _ScenarioClient(base: client)
    scenario.makeProducer = { _, onDelivery async throws(BenchError) in outbox.makeWriter(onDelivery: onDelivery) }
    scenario.makeFeed = { topic, group, member async throws(BenchError) in
        let consumer = try await _PatternConsumer.assignedAtEnd(client, topic: topic, group: group, member: member, members: members)
        let feed = _PatternConsumer { deliver, stopped in
            while !stopped() {
                guard let records = try? await consumer.poll(timeout: .milliseconds(20)) else { continue }
                for r in records { deliver(r.value ?? []) }
            }
            await consumer.close()
        }
        return (feed, await consumer.assignment())
    }
    scenario.moreDetails = { outbox.details() }
    scenario.onClose = { await outbox.shutdown() }
    return scenario
}

/// The scenario's SQLite database, outbox store and relay, shared by its writers.
final class _Outbox: @unchecked Sendable {
    let client: any MessagingClient
    let aggregates: Int
    let writeBatch: Int
    let directory: String
    let db: SQLiteDatabase
    let store: OutboxStore
    let relay: OutboxRelay
    let relayTask = Mutex<Task<Void, Never>?>(nil)
    let relayError = _LastError()
    let writers = Mutex<[_OutboxWriter]>([])

    init(client: any MessagingClient, aggregates: Int, relayBatch: Int, writeBatch: Int) throws(BenchError) {
        self.client = client
        self.aggregates = aggregates
        self.writeBatch = writeBatch
        (directory, db) = try _PatternOptions.openDatabase("outbox", schema: "CREATE TABLE IF NOT EXISTS bench_entity (id INTEGER PRIMARY KEY, aggregate_id TEXT NOT NULL, payload BLOB)")
        do { store = try OutboxStore(database: db, source: "bench") } catch {
            db.close()
            try? FileManager.default.removeItem(atPath: directory)
            throw BenchError(.backend, "outbox scenario: \(error.message)")
        }
        var config = OutboxRelayConfiguration()
        config.batchSize = relayBatch
        config.retention = nil
        config.onError = { [relayError] e in relayError.set(e.message) }
        relay = OutboxRelay(store: store, client: client, configuration: config)
    }

    /// A writer for the generator (the first one starts the relay).
    func makeWriter(onDelivery: DeliveryHandler?) -> _OutboxWriter {
        relayTask.withLock { t in
            guard t == nil else { return }
            t = Task { [relay, relayError] in
                do throws(OutboxError) { try await relay.run() } catch { relayError.set(error.message) }
            }
        }
        let w = writers.withLock { ws in
            let w = _OutboxWriter(outbox: self, index: ws.count, onDelivery: onDelivery)
            ws.append(w)
            return w
        }
        return w
    }

    func details() -> [String: String] {
        var d: [String: String] = [:]
        let failures = writers.withLock { $0 }.reduce(0) { $0 + $1.failures.load(ordering: .relaxed) }
        if failures > 0 { d["outbox.failed_records"] = String(failures) }
        let stats = relay.statistics
        let ws = writers.withLock { $0 }
        let tx = ws.reduce(0) { $0 + $1.transactions.load(ordering: .relaxed) }
        let rows = ws.reduce(0) { $0 + $1.written.load(ordering: .relaxed) }
        d["outbox.rows_written"] = String(rows)
        d["outbox.sqlite_transactions"] = String(tx)
        d["outbox.records_per_transaction"] = tx > 0 ? String(format: "%.1f", Double(rows) / Double(tx)) : "0"
        d["outbox.relay_published"] = String(stats.published)
        d["outbox.relay_rounds"] = String(stats.rounds)
        d["outbox.relay_errors"] = String(stats.errors)
        d["outbox.lag_at_end"] = String((try? store.status().unpublished) ?? -1)
        if let e = relayError.value { d["outbox.relay_last_error"] = e }
        return d
    }

    func shutdown() async {
        for w in writers.withLock({ $0 }) { await w.close() }
        relay.stop()
        if let t = relayTask.withLock({ $0 }) { await t.value }
        db.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// One generator producer: queues the stamped records; a writer thread commits them with their
/// outbox rows (group commit) and acknowledges them.
final class _OutboxWriter: MessageProducer, @unchecked Sendable {
    struct Item {
        var topic: String
        var value: [UInt8]
        var opaque: UInt64
    }

    let outbox: _Outbox
    let index: Int
    let onDelivery: DeliveryHandler?
    let queue = Mutex<[Item]>([])
    let queued = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let transactions = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    var thread: _Joinable?
    var sequence = 0

    init(outbox: _Outbox, index: Int, onDelivery: DeliveryHandler?) {
        self.outbox = outbox
        self.index = index
        self.onDelivery = onDelivery
        thread = _spawn("weir-outbox-writer-\(index)") { [self] in loop() }
    }

    func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        throw ClientError(.invalidState, "a pattern scenario's producer takes records through produceNow only.")
    }

    func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
        queued.add(1, ordering: .relaxed)
        queue.withLock { $0.append(Item(topic: topic, value: value.map { Array($0) } ?? [], opaque: opaque)) }
    }

    func loop() {
        var idle = 0
        while true {
            let batch = queue.withLock { q -> [Item] in
                let n = min(q.count, outbox.writeBatch)
                defer { q.removeFirst(n) }
                return Array(q.prefix(n))
            }
            if batch.isEmpty {
                if closed.load(ordering: .relaxed) { return }
                idle += 1
                sleepNanos(UInt64(min(200_000, 10_000 << min(idle, 5))))
                continue
            }
            idle = 0
            let store = outbox.store, aggregates = outbox.aggregates, index = self.index
            var seq = sequence
            let r: Result<Void, SQLiteTransactionError<SQLiteError>> = Result { () throws(SQLiteTransactionError<SQLiteError>) in
                try outbox.db.transaction { (tx) throws(SQLiteError) in
                    for item in batch {
                        let aggregate = "agg-\(index)-\(seq % aggregates)"
                        seq += 1
                        try tx.run("INSERT INTO bench_entity (aggregate_id, payload) VALUES (?, ?)", [.text(aggregate), .blob(item.value)])
                        try store.write(in: tx, aggregateId: aggregate, topic: item.topic, key: nil, value: item.value)
                    }
                }
            }
            switch r {
            case .success:
                sequence = seq
                transactions.add(1, ordering: .relaxed)
                written.add(batch.count, ordering: .relaxed)
            case .failure:
                failures.add(batch.count, ordering: .relaxed)
            }
            _report(onDelivery, topic: batch[0].topic, opaques: batch.map(\.opaque), ok: (try? r.get()) != nil)
            completed.add(batch.count, ordering: .relaxed)
        }
    }

    func flush() async {
        while completed.load(ordering: .relaxed) < queued.load(ordering: .relaxed) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    func close() async {
        if closed.exchange(true, ordering: .relaxed) { return }
        await flush()
        await thread?.join()
    }
}
