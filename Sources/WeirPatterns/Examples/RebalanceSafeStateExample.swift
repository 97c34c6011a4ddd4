import Foundation
import WeirClient
import WeirLog

/// `weir example rebalance-safe-state`: per-partition counters that follow their partitions.
let rebalanceSafeStateExample = PatternExample(
    name: "rebalance-safe-state",
    summary: "PartitionStateStore: per-partition state loaded on assignment, flushed on revocation, dropped on loss (SQLite-backed)"
) { client, workDirectory, output in
    let topic = "clicks.page.viewed"
    try await client.ensureTopic(topic, partitions: 4, configs: [:])
    let database = try SQLiteDatabase(path: workDirectory + "/state.sqlite")
    let producer = try await client.makeProducer(properties: [:])
    for i in 0..<40 { _ = try await producer.send(ProducerRecord(topic: topic, partition: Int32(i % 4), key: "k\(i)", value: "v")) }

    func member(_ name: String) async throws -> (any MessageConsumer, PartitionStateStore<Int>) {
        let state = try PartitionStateStore<Int>.sqlite(database, table: "view_counts", initial: 0)
        let c = try await client.makeConsumer(properties: ["group.id": "view-counter", "auto.offset.reset": "earliest",
                                                           "partition.assignment.strategy": "roundrobin"])
        try await c.subscribe(topics: [topic], listener: state)
        return (c, state)
    }
    func drain(_ c: any MessageConsumer, _ state: PartitionStateStore<Int>, rounds: Int) async throws -> Int {
        var n = 0
        for _ in 0..<rounds {
            let records = try await c.poll(timeout: .milliseconds(50))
            for r in records {
                do throws(PartitionStateError) { try state.update(r.topicPartition) { $0 += 1 }; n += 1 } catch { output("skipped \(r.topicPartition): \(error.code.rawValue)") }
            }
            if !records.isEmpty {
                var offsets: [TopicPartition: Int64] = [:]
                for r in records { offsets[r.topicPartition] = r.offset + 1 }
                try await c.commit(offsets)
            }
        }
        return n
    }
    let (a, stateA) = try await member("a")
    let countedA = try await drain(a, stateA, rounds: 10)
    output("member a owns \(stateA.ownedPartitions.count) partitions and counted \(countedA) records")
    let (b, stateB) = try await member("b")
    // Both poll so the group rebalances: a flushes the partitions it gives up, b loads them.
    for _ in 0..<20 { _ = try await drain(a, stateA, rounds: 1); _ = try await drain(b, stateB, rounds: 1) }
    output("after the rebalance: a owns \(stateA.ownedPartitions.map(\.partition).sorted()), b owns \(stateB.ownedPartitions.map(\.partition).sorted())")
    for tp in stateB.ownedPartitions.sorted(by: { $0.partition < $1.partition }) {
        let count = try stateB.state(tp)
        output("b loaded \(tp): count \(count) (flushed by a on revocation)")
    }
    try await stateA.flushAll()
    try await stateB.flushAll()
    await a.close()
    await b.close()
    await producer.close()
}
