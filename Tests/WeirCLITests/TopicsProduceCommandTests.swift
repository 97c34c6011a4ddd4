import Foundation
import Testing
import WeirClient
import WeirLog
@testable import WeirCLI
import WeirTestSupport

private func tempDir() -> String { makeTemporaryDirectory("weircli") }

private func writeFile(_ text: String) -> String {
    let path = tempDir() + "/input.txt"
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

@Suite(.serialized) struct TopicsProduceCommandTests {
    @Test func topicsLifecycleAndUsageErrors() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "orders", "--partitions", "3", "--config", "retention.ms=60000", "--config", "segment.bytes=1048576", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "create", "orders", "--partitions", "3", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["topics", "create", "orders", "--if-not-exists", "--log-dir", dir]) == 0)
        for bad in [["bad/name"], [".."], ["ok", "--partitions", "0"], ["ok", "--config", "nope=1"], ["ok", "--config", "retention.ms=x"],
                    ["ok", "--config", "cleanup.policy=forever"], ["ok", "--config", "novalue"], ["ok", "--replication-factor", "3"]] {
            #expect(await WeirCommand.run(arguments: ["topics", "create"] + bad + ["--log-dir", dir]) == 2, "\(bad)")
        }
        #expect(await WeirCommand.run(arguments: ["topics", "list", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "orders", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "missing", "--log-dir", dir]) == 1)
        let log = try LogDirectory.open(path: dir)
        #expect(try log.partitionCount("orders") == 3)
        #expect(try log.topicConfig("orders").retentionMs == 60000)
        try log.close()
        #expect(await WeirCommand.run(arguments: ["topics", "delete", "orders", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "delete", "orders", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["topics", "delete", "orders", "--if-exists", "--log-dir", dir]) == 0)
    }

    @Test func produceLinesWithKeysHeadersAndFailures() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "t", "--partitions", "2", "--log-dir", dir]) == 0)
        let input = writeFile("k1:v1\nk2:v2\nk3:v:3\n")
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--key-separator", ":", "--header", "src=cli", "--compression", "lz4",
                                                  "--acks", "1", "--input", input, "--log-dir", dir]) == 0)
        let bad = writeFile("k1:v1\nnosep\n")
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--key-separator", ":", "--input", bad, "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["produce", "missing", "--input", input, "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--config", "linger.ms=-1", "--input", input, "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--acks", "2", "--input", input, "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--compression", "brotli", "--input", input, "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--partition", "5", "--input", input, "--log-dir", dir]) == 1)
        let abort = writeFile("a\nb\n")
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--partition", "0", "--transactional-id", "cli", "--abort", "--input", abort, "--log-dir", dir]) == 0)

        let log = try LogDirectory.open(path: dir)
        defer { try? log.close() }
        var values: [String: String] = [:]
        for p: Int32 in 0..<2 {
            let r = try log.partition("t", p).read(from: 0, maxBytes: 1 << 20, isolation: .readCommitted)
            for rec in r.records {
                values[String(decoding: rec.key!, as: UTF8.self)] = String(decoding: rec.value!, as: UTF8.self)
                #expect(rec.headers.first?.key == "src" || rec.headers.isEmpty)
            }
            for rec in r.records where String(decoding: rec.key!, as: UTF8.self) == "k1" {
                #expect(p == kafkaDefaultPartition(forKey: Array("k1".utf8), partitionCount: 2))
            }
        }
        #expect(values == ["k1": "v1", "k2": "v2", "k3": "v:3"])
    }
}
