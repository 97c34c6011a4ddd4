import Foundation
import Synchronization
import WeirClient
import WeirLog
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
let outboxScenario = PatternScenario(
    name: "outbox",
    summary: "transactional outbox: entity+outbox rows in SQLite, relay publishes in order per aggregate",
    options: [
        ("aggregates", "distinct aggregate ids the records cycle through (default 64)"),
        ("relayBatch", "rows the relay reads per round (default 256)"),
        ("writeBatch", "records per SQLite transaction at most (default 64; 1 = one transaction per record)"),
    ],
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
) { workload, backend, client throws(BenchError) in
    let o = _PatternOptions(workload)
    return try _OutboxBackend(base: backend, client: client,
                              aggregates: o.int("aggregates", 64, 1...1_000_000),
                              relayBatch: o.int("relayBatch", 256, 1...100_000),
                              writeBatch: o.int("writeBatch", 64, 1...100_000))
}

final class _OutboxBackend: BenchBackend, @unchecked Sendable {
    let base: any BenchBackend
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

    init(base: any BenchBackend, client: any MessagingClient, aggregates: Int, relayBatch: Int, writeBatch: Int) throws(BenchError) {
        self.base = base
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

    var name: String { base.name }

    func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {
        try await base.createTopics(names, partitions: partitions)
        relayTask.withLock { t in
            guard t == nil else { return }
            t = Task { [relay, relayError] in
                do throws(OutboxError) { try await relay.run() } catch { relayError.set(error.message) }
            }
        }
    }

    func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        let w = _OutboxWriter(backend: self, topic: topic, index: index, sink: sink)
        writers.withLock { $0.append(w) }
        return w
    }

    func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        let consumer = try await _PatternConsumer.assignedAtEnd(client, topic: topic, group: group, member: member, members: members)
        return _PatternConsumer { deliver, stopped in
            while !stopped() {
                guard let records = try? await consumer.poll(timeout: .milliseconds(20)) else { continue }
                for r in records { deliver(r.value ?? []) }
            }
            await consumer.close()
        }
    }

    func statistics() async -> BackendStatistics {
        var s = await base.statistics()
        for w in writers.withLock({ $0 }) { s.failedRecords += Int64(w.failures.load(ordering: .relaxed)) }
        return s
    }

    func details() async -> [String: String] {
        var d = await base.details()
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
        await base.shutdown()
        db.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// One generator producer: queues stamped records; a writer thread commits them with their
/// outbox rows (group commit) and acknowledges them.
final class _OutboxWriter: BenchProducer, @unchecked Sendable {
    struct Item {
        var value: [UInt8]
        var intended: UInt64
    }

    let backend: _OutboxBackend
    let topic: String
    let index: Int
    let sink: DeliverySink
    let queue = Mutex<[Item]>([])
    let queued = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let transactions = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    var thread: _Joinable?
    var sequence = 0

    init(backend: _OutboxBackend, topic: String, index: Int, sink: DeliverySink) {
        self.backend = backend
        self.topic = topic
        self.index = index
        self.sink = sink
        thread = _spawn("weir-outbox-writer-\(index)") { [self] in loop() }
    }

    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
        let v = BenchStamp.stampedCopy(of: value, nanos: intendedNanos)
        queued.add(1, ordering: .relaxed)
        queue.withLock { $0.append(Item(value: v, intended: intendedNanos)) }
    }

    func loop() {
        var idle = 0
        while true {
            let batch = queue.withLock { q -> [Item] in
                let n = min(q.count, backend.writeBatch)
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
            let store = backend.store, aggregates = backend.aggregates, topic = self.topic, index = self.index
            var seq = sequence
            let r: Result<Void, SQLiteTransactionError<SQLiteError>> = Result { () throws(SQLiteTransactionError<SQLiteError>) in
                try backend.db.transaction { (tx) throws(SQLiteError) in
                    for item in batch {
                        let aggregate = "agg-\(index)-\(seq % aggregates)"
                        seq += 1
                        try tx.run("INSERT INTO bench_entity (aggregate_id, payload) VALUES (?, ?)", [.text(aggregate), .blob(item.value)])
                        try store.write(in: tx, aggregateId: aggregate, topic: topic, key: nil, value: item.value)
                    }
                }
            }
            let now = monotonicNanos()
            switch r {
            case .success:
                sequence = seq
                transactions.add(1, ordering: .relaxed)
                written.add(batch.count, ordering: .relaxed)
                for item in batch { sink.delivered(intendedNanos: item.intended, bytes: item.value.count, at: now) }
            case .failure:
                failures.add(batch.count, ordering: .relaxed)
                sink.failed(batch.count)
            }
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
