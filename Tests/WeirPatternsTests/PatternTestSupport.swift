import Foundation
import WeirClient
import WeirLog
import WeirPatterns

/// A fresh embedded log (and a work directory for SQLite files), removed by `remove()`.
struct EmbeddedFixture {
    let dir: String
    let log: LogDirectory
    let client: any MessagingClient

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-es-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/work", withIntermediateDirectories: true)
        log = try LogDirectory.open(path: dir + "/log")
        client = EmbeddedMessaging(logDirectory: log)
    }

    var work: String { dir + "/work" }

    func remove() {
        try? log.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Every record of `topic`'s partition `partition`, read without a group.
    func readAll(_ topic: String, partition: Int32 = 0, expecting count: Int) async throws -> [ConsumerRecord] {
        let c = try await client.makeConsumer(properties: ["auto.offset.reset": "earliest"])
        try await c.assign([TopicPartition(topic, partition)])
        try await c.seek(TopicPartition(topic, partition), to: 0)
        var out: [ConsumerRecord] = []
        for _ in 0..<100 where out.count < count { out += try await c.poll(timeout: .milliseconds(50)) }
        await c.close()
        return out
    }
}
