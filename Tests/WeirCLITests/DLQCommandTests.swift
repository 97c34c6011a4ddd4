import Foundation
import Testing
import WeirClient
import WeirFormat
import WeirLog
import WeirPatterns
@testable import WeirCLI

/// A log directory with `order.payment.completed` and a DLQ holding two dead letters from it.
private func seededDLQ() async throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weircli-dlq-\(UUID().uuidString)").path
    let log = try LogDirectory.open(path: dir)
    let client = EmbeddedMessaging(logDirectory: log)
    try await client.ensureTopic("order.payment.completed", partitions: 1, configs: [:])
    try await client.ensureTopic("order.payment.completed.dlq", partitions: 1, configs: [:])
    let producer = try await client.makeProducer(properties: [:])
    for i in 0..<2 {
        _ = try await producer.send(ProducerRecord(topic: "order.payment.completed.dlq", key: Array("k\(i)".utf8), value: Array("v\(i)".utf8), headers: [
            RecordHeader(key: RetryHeaders.originalTopic, value: Array("order.payment.completed".utf8)),
            RecordHeader(key: RetryHeaders.retryCount, value: Array("3".utf8)),
            RecordHeader(key: RetryHeaders.errorMessage, value: Array("timeout".utf8)),
            RecordHeader(key: "app", value: Array("x".utf8)),
        ]))
    }
    await producer.close()
    try log.close()
    return dir
}

private func values(_ dir: String, _ topic: String) async throws -> [ConsumerRecord] {
    let log = try LogDirectory.open(path: dir)
    defer { try? log.close() }
    var out: [ConsumerRecord] = []
    try await DeadLetterReplay.read(topic, on: EmbeddedMessaging(logDirectory: log), groupId: nil, commit: false) { out.append($0) }
    return out
}

@Suite(.serialized) struct DLQCommandTests {
    @Test func replayDryRunThenOnceOnly() async throws {
        let dir = try await seededDLQ()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["dlq", "list", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["dlq", "show", "order.payment.completed.dlq", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["dlq", "show", "order.payment.completed.dlq", "--json", "--max", "1", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--dry-run", "--log-dir", dir]) == 0)
        #expect(try await values(dir, "order.payment.completed").isEmpty)
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--max", "1", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--log-dir", dir]) == 0)
        let source = try await values(dir, "order.payment.completed")
        #expect(source.map(\.valueString) == ["v0", "v1"])
        #expect(source.allSatisfy { $0.headers.map(\.key) == ["app"] })
        // Another group replays again, to another topic.
        #expect(await WeirCommand.run(arguments: ["topics", "create", "order.payment.manual", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--to", "order.payment.manual",
                                                  "--group", "manual", "--log-dir", dir]) == 0)
        #expect(try await values(dir, "order.payment.manual").count == 2)
    }

    @Test func usageAndFailureExitCodes() async throws {
        let dir = try await seededDLQ()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed", "--log-dir", dir]) == 2)      // not a .dlq
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--max", "0", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "nothing.here.at.dlq", "--log-dir", dir]) == 1)         // missing
        #expect(await WeirCommand.run(arguments: ["dlq", "replay", "order.payment.completed.dlq", "--to", "missing.topic.x", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["dlq", "show", "order.payment.completed", "--log-dir", dir]) == 2)
    }
}
