import WeirClient
import WeirFormat
import WeirLog

/// `weir example outbox`: orders and their events in one SQLite transaction, a relay that
/// publishes them in order per order id, a crash between publish and mark, and an idempotent
/// consumer that drops the republished duplicates by their `outbox-id` header.
let outboxExample = PatternExample(
    name: "outbox",
    summary: "transactional outbox in SQLite, a relay in order per aggregate, a crash before mark, duplicates dropped by outbox-id"
) { client, work, print in
    let topic = "shop.order.created"
    try await client.ensureTopic(topic, partitions: 2, configs: [:])
    let db = try SQLiteDatabase(path: work + "/shop.db")
    defer { db.close() }
    try db.execute("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)")
    let outbox = try OutboxStore(database: db, source: "shop")

    // The application: each state change and its event in one transaction.
    for (order, status) in [("o-1", "created"), ("o-2", "created"), ("o-1", "paid"), ("o-1", "shipped"), ("o-2", "paid")] {
        try db.transaction { (tx) throws(SQLiteError) in
            try tx.run("INSERT INTO orders (id, status) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET status = excluded.status", [.text(order), .text(status)])
            try outbox.write(in: tx, aggregateId: order, topic: topic, key: nil, value: Array("{\"order\":\"\(order)\",\"status\":\"\(status)\"}".utf8))
        }
    }
    print("wrote 5 order changes with their outbox rows; unpublished: \(try outbox.status().unpublished)")

    // A relay that crashes after publishing and before marking the rows.
    var crashing = OutboxRelayConfiguration()
    crashing.faultInjection = { _ in true }
    do {
        try await OutboxRelay(store: outbox, client: client, configuration: crashing).publishPending()
    } catch {
        print("relay 1: \(error)")
    }
    print("after the crash: unpublished \(try outbox.status().unpublished) (published to the topic, not marked)")
    let relay = OutboxRelay(store: outbox, client: client)
    let n = try await relay.publishPending()
    print("relay 2 republished \(n) rows; unpublished now \(try outbox.status().unpublished)")
    relay.stop()
    try await relay.run()

    // The shipping service: applies each event once, keyed by the outbox id.
    try db.execute("CREATE TABLE IF NOT EXISTS shipping_log (order_id TEXT, event TEXT)")
    let consumer = try await client.makeConsumer(properties: ["group.id": "shipping", "auto.offset.reset": "earliest"])
    try await consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
    let shipping = try IdempotentConsumer(database: db, consumer: consumer, idStrategy: .header(OutboxStore.idHeader), scope: "shipping")
    var seen = 0
    for _ in 0..<50 where seen < 10 {
        let r = try await shipping.pollAndProcess(timeout: .milliseconds(100)) { record, tx in
            let id = record.headers.last { $0.key == OutboxStore.idHeader }?.value.map { String(decoding: $0, as: UTF8.self) } ?? "?"
            print("  apply \(id) \(record.valueString ?? "") (partition \(record.partition))")
            try tx.run("INSERT INTO shipping_log (order_id, event) VALUES (?, ?)", [.text(record.keyString ?? ""), .text(record.valueString ?? "")])
        }
        seen += r.processed + r.duplicates
    }
    await consumer.close()
    let s = shipping.statistics
    print("shipping applied \(s.processed) events and dropped \(s.duplicates) duplicates; o-1's events stayed in order on one partition")
}
