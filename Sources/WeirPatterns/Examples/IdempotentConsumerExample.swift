import WeirClient
import WeirFormat
import WeirLog

/// `weir example idempotent-consumer`: payments delivered twice (a producer retry and a
/// redelivery after a crash before the offset commit) are charged once, because the message id
/// and the charge commit in one SQLite transaction.
let idempotentConsumerExample = PatternExample(
    name: "idempotent-consumer",
    summary: "processed ids in SQLite, marked in the handler's own transaction; redeliveries and duplicates skipped"
) { client, work, print in
    let topic = "bank.payment.requested"
    try await client.ensureTopic(topic, partitions: 1, configs: [:])
    let producer = try await client.makeProducer(properties: ["acks": "all"])
    for (id, amount) in [("p-1", 100), ("p-2", 250), ("p-1", 100), ("p-3", 75)] { // p-1 sent twice
        _ = try await producer.send(ProducerRecord(topic: topic, key: id, value: "{\"payment\":\"\(id)\",\"amount\":\(amount)}"))
    }
    await producer.close()

    let db = try SQLiteDatabase(path: work + "/bank.db")
    defer { db.close() }
    try db.execute("CREATE TABLE IF NOT EXISTS charges (payment TEXT, request TEXT)")
    func charge(_ record: ConsumerRecord, _ tx: SQLiteTransaction) throws {
        print("  charge \(record.keyString ?? "?") at offset \(record.offset)")
        try tx.run("INSERT INTO charges (payment, request) VALUES (?, ?)", [.text(record.keyString ?? ""), .text(record.valueString ?? "")])
    }

    // First run: processes everything, but "crashes" before committing offsets: we drop the
    // consumer and read the records again with a new one, as after a restart.
    for run in 1...2 {
        let consumer = try await client.makeConsumer(properties: ["group.id": "billing-\(run)", "auto.offset.reset": "earliest"])
        try await consumer.assign([TopicPartition(topic, 0)])
        let billing = try IdempotentConsumer(database: db, consumer: consumer, idStrategy: .key, scope: "billing")
        var records: [ConsumerRecord] = []
        for _ in 0..<50 where records.count < 4 { records += try await consumer.poll(timeout: .milliseconds(100)) }
        let r = try await billing.process(records, charge)
        print("delivery \(run): \(records.count) records, \(r.processed) charged, \(r.duplicates) skipped as duplicates")
        await consumer.close()
    }
    let total = try db.query("SELECT count(*) FROM charges")[0][0].int64 ?? 0
    print("charges in the database: \(total) (p-1, p-2, p-3 once each)")
    let idle = try await client.makeConsumer(properties: [:])
    let removed = try IdempotentConsumer(database: db, consumer: idle, idStrategy: .key).deleteProcessedIds(olderThan: .seconds(7 * 86400))
    await idle.close()
    print("retention (7 days) removed \(removed) ids")
}
