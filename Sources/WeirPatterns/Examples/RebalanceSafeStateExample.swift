import Foundation
import Synchronization
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

    /// A member of the group: polls in its own task (every member of a group must keep polling
    /// for a rebalance to complete), counts records per partition in its state, commits.
    final class Member: Sendable {
        let state: PartitionStateStore<Int>
        let consumer: any MessageConsumer
        let stop = Mutex(false)
        let task = Mutex<Task<Void, Never>?>(nil)

        init(_ client: any MessagingClient, _ database: SQLiteDatabase, topic: String, output: @escaping @Sendable (String) -> Void) async throws {
            state = try PartitionStateStore<Int>.sqlite(database, table: "view_counts", initial: 0)
            consumer = try await client.makeConsumer(properties: ["group.id": "view-counter", "auto.offset.reset": "earliest",
                                                                  "partition.assignment.strategy": "roundrobin"])
            try await consumer.subscribe(topics: [topic], listener: state)
            let (consumer, state) = (self.consumer, self.state)
            let t = Task { [self] in
                while !stop.withLock({ $0 }) {
                    guard let records = try? await consumer.poll(timeout: .milliseconds(20)) else { continue }
                    var offsets: [TopicPartition: Int64] = [:]
                    for r in records {
                        do throws(PartitionStateError) {
                            try state.update(r.topicPartition) { $0 += 1 }
                            offsets[r.topicPartition] = r.offset + 1
                        } catch {
                            output("skipped \(r.topicPartition): \(error.code.rawValue)")
                        }
                    }
                    if !offsets.isEmpty { try? await consumer.commit(offsets) }
                }
            }
            task.withLock { $0 = t }
        }

        func close() async throws {
            stop.withLock { $0 = true }
            await task.withLock { $0 }?.value
            try await state.flushAll()
            await consumer.close()
        }
    }

    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }
    let a = try await Member(client, database, topic: topic, output: output)
    try await waitFor { a.state.ownedPartitions.count == 4 && (try? a.state.state(TopicPartition(topic, 3))) == 10 }
    output("member a owns partitions \(a.state.ownedPartitions.map(\.partition).sorted()), 10 records counted in each")
    let b = try await Member(client, database, topic: topic, output: output)
    try await waitFor { b.state.ownedPartitions.count == 2 && a.state.ownedPartitions.count == 2 }
    output("after b joined: a owns \(a.state.ownedPartitions.map(\.partition).sorted()), b owns \(b.state.ownedPartitions.map(\.partition).sorted())")
    for tp in b.state.ownedPartitions.sorted(by: { $0.partition < $1.partition }) {
        let count = try b.state.state(tp)
        output("b loaded \(tp) with count \(count): a flushed it to SQLite when the partition was revoked")
    }
    output("a's state: loads \(a.state.counts.loads), flushes \(a.state.counts.flushes); b's: loads \(b.state.counts.loads)")
    if let moved = b.state.ownedPartitions.first {
        do throws(PartitionStateError) { _ = try a.state.state(moved) } catch { output("a reading \(moved): \(error.code.rawValue)") }
    }
    try await a.close()
    try await b.close()
    await producer.close()
}
