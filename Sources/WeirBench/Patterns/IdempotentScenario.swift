import Foundation
import Synchronization
import WeirClientAPI
import WeirPatterns

/// `pattern: idempotent`: the idempotent consumer's cost against a plain consumer.
///
/// The producer side is the step's own. The consumer side polls the topic through the client
/// protocols and handles each poll batch in one SQLite transaction (`synchronous=FULL`) whose
/// handler inserts one effect row per record, then commits the offsets:
/// - `pattern.consumer=plain`: just that (a redelivered record applies its effect again);
/// - `pattern.consumer=idempotent`: through `IdempotentConsumer` (ids by topic-partition-offset,
///   one savepoint per record), so a redelivered record is skipped.
///
/// `pattern.duplicateRate` re-delivers that fraction of records once more in the next batch, as
/// a crash before the offset commit or a rebalance would. A record is reported to the generator
/// (end-to-end latency) once, when its first delivery committed. The counts (effects applied,
/// duplicates skipped, transactions) are in the step's `backend_details`.
let idempotentScenario = PatternScenario(
    .idempotent,
    presets: [
        Preset(name: "idempotent", summary: "idempotent consumer overhead: plain vs idempotent at 2000 rec/s of 512 B, 10% redelivered, SQLite synchronous=FULL; embedded", steps: ["plain", "idempotent"].map { mode in
            Preset.step(named: mode) {
                $0.pattern = "idempotent"
                $0.partitionsPerTopic = 4; $0.producerRate = 2000; $0.messageSize = 512
                $0.warmupSeconds = 2; $0.durationSeconds = 12
                $0.config = ["linger.ms": "1"]
                $0.patternOptions = ["consumer": mode, "duplicateRate": "0.1"]
            }
        }),
    ]
) { workload, client throws(BenchError) in
    let o = _PatternOptions(workload)
    let scenario = try _Idempotent(client: client,
                                   idempotent: o.choice("consumer", "idempotent", ["plain", "idempotent"]) == "idempotent",
                                   duplicateRate: o.double("duplicateRate", 0, 0...1))
    let members = workload.consumerPerSubscription
    var wrapped = _ScenarioClient(base: client)
    wrapped.makeFeed = { topic, group, member async throws(BenchError) in
        try await scenario.makeFeed(topic: topic, group: group, member: member, members: members)
    }
    wrapped.moreDetails = { scenario.details() }
    wrapped.onClose = { scenario.shutdown() }
    return wrapped
}

/// The scenario's SQLite database and counts, shared by its consumers.
final class _Idempotent: @unchecked Sendable {
    let client: any MessagingClient
    let idempotent: Bool
    let duplicateRate: Double
    let directory: String
    let db: SQLiteDatabase
    let effects = Atomic<Int>(0)
    let skipped = Atomic<Int>(0)
    let redelivered = Atomic<Int>(0)
    let transactions = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let lastError = _LastError()

    init(client: any MessagingClient, idempotent: Bool, duplicateRate: Double) throws(BenchError) {
        self.client = client
        self.idempotent = idempotent
        self.duplicateRate = duplicateRate
        (directory, db) = try _PatternOptions.openDatabase("idempotent", schema: "CREATE TABLE IF NOT EXISTS bench_effect (topic TEXT, partition INTEGER, offset INTEGER, payload BLOB)")
    }

    func makeFeed(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> (feed: any _Feed, partitions: [TopicPartition]) {
        let consumer = try await _PatternConsumer.assignedAtEnd(client, topic: topic, group: group, member: member, members: members)
        let idem: IdempotentConsumer?
        do {
            idem = idempotent ? try IdempotentConsumer(database: db, consumer: consumer, idStrategy: .topicPartitionOffset, scope: group) : nil
        } catch {
            throw BenchError(.backend, "idempotent scenario: \(error.message)")
        }
        let feed = _PatternConsumer { [self] deliver, stopped in
            var redeliver: [ConsumerRecord] = []
            while !stopped() {
                guard let fresh = try? await consumer.poll(timeout: .milliseconds(20)), !fresh.isEmpty || !redeliver.isEmpty else { continue }
                let batch = redeliver + fresh
                redeliver = duplicateRate > 0 ? fresh.filter { _ in Double.random(in: 0..<1) < duplicateRate } : []
                redelivered.add(redeliver.count, ordering: .relaxed)
                let ok = await handle(batch, consumer: consumer, idem: idem)
                if ok { for r in fresh { deliver(r.value ?? []) } }
            }
            await consumer.close()
        }
        return (feed, await consumer.assignment())
    }

    /// One poll batch in one transaction: an effect row per record (skipping processed ids when
    /// idempotent), then the offset commit.
    func handle(_ batch: [ConsumerRecord], consumer: any MessageConsumer, idem: IdempotentConsumer?) async -> Bool {
        func effect(_ r: ConsumerRecord, _ tx: SQLiteTransaction) throws(SQLiteError) {
            try tx.run("INSERT INTO bench_effect (topic, partition, offset, payload) VALUES (?, ?, ?, ?)",
                       [.text(r.topic), .integer(Int64(r.partition)), .integer(r.offset), .blob(r.value ?? [])])
        }
        do {
            if let idem {
                let result = try await idem.process(batch) { r, tx in try effect(r, tx) }
                effects.add(result.processed, ordering: .relaxed)
                skipped.add(result.duplicates, ordering: .relaxed)
            } else {
                try db.transaction { (tx) throws(SQLiteError) in for r in batch { try effect(r, tx) } }
                var next: [TopicPartition: Int64] = [:]
                for r in batch { next[r.topicPartition] = max(next[r.topicPartition] ?? 0, r.offset + 1) }
                try await consumer.commit(next)
                effects.add(batch.count, ordering: .relaxed)
            }
            transactions.add(1, ordering: .relaxed)
            return true
        } catch {
            errors.add(1, ordering: .relaxed)
            lastError.set("\(error)")
            return false
        }
    }

    func details() -> [String: String] {
        var d: [String: String] = [:]
        d["idempotent.consumer"] = idempotent ? "idempotent" : "plain"
        d["idempotent.duplicate_rate"] = String(duplicateRate)
        d["idempotent.redelivered"] = String(redelivered.load(ordering: .relaxed))
        d["idempotent.effects_applied"] = String(effects.load(ordering: .relaxed))
        d["idempotent.duplicates_skipped"] = String(skipped.load(ordering: .relaxed))
        d["idempotent.sqlite_transactions"] = String(transactions.load(ordering: .relaxed))
        d["idempotent.errors"] = String(errors.load(ordering: .relaxed))
        if let e = lastError.value { d["idempotent.last_error"] = e }
        return d
    }

    func shutdown() {
        db.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
