import Foundation
import Testing
import WeirClient
import WeirFormat
import WeirLog
@testable import WeirCLI
import WeirTestSupport

private func consumerTempDir() -> String { makeTemporaryDirectory("weircli-consume") }

private func lines(_ path: String) -> [String] {
    (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) ?? []
}

/// A log directory with topic `t` (2 partitions): partition 0 holds v0..v4, partition 1 holds w0..w2.
private func seeded() throws -> String {
    let dir = consumerTempDir()
    let log = try LogDirectory.open(path: dir)
    try log.createTopic("t", partitions: 2)
    for (p, prefix, n) in [(Int32(0), "v", 5), (1, "w", 3)] {
        let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 20)
        for i in 0..<n {
            _ = b.append(timestamp: 1_700_000_000_000 + Int64(i), key: Array("k\(i)".utf8), value: Array("\(prefix)\(i)".utf8),
                         headers: [RecordHeader(key: "src", value: Array("test".utf8))])
        }
        let bytes = try b.build()
        try bytes.withUnsafeBytes { _ = try log.partition("t", p).append($0) }
    }
    try log.close()
    return dir
}

@Suite(.serialized) struct ConsumeGroupsCommandTests {
    @Test func consumePrintsOneRecordPerLineWithFormats() async throws {
        let dir = try seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.txt"
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--partition", "0", "--offset", "beginning", "--max-messages", "5",
                                                  "--output", out, "--log-dir", dir]) == 0)
        #expect(lines(out) == ["v0", "v1", "v2", "v3", "v4"])
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--partition", "0", "--offset", "3", "--timeout-ms", "50",
                                                  "--format", "%t/%p@%o %k=%s (%K,%S) %T %h\\n", "--output", out, "--log-dir", dir]) == 0)
        #expect(lines(out) == ["t/0@3 k3=v3 (2,2) 1700000000003 src=test", "t/0@4 k4=v4 (2,2) 1700000000004 src=test"])
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--from-beginning", "--timeout-ms", "50", "--json", "--output", out, "--log-dir", dir]) == 0)
        let json = lines(out)
        #expect(json.count == 8)
        #expect(json.contains("{\"topic\":\"t\",\"partition\":1,\"offset\":2,\"timestamp\":1700000000002,\"key\":\"k2\",\"value\":\"w2\",\"headers\":{\"src\":\"test\"}}"))
        // Without --from-beginning, a reader starts at the end (as kafka-console-consumer does).
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--timeout-ms", "30", "--output", out, "--log-dir", dir]) == 0)
        #expect(lines(out).isEmpty)
    }

    @Test func consumeWithAGroupCommitsWhatItPrinted() async throws {
        let dir = try seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.txt"
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--group", "cli", "--from-beginning", "--max-messages", "6",
                                                  "--output", out, "--log-dir", dir]) == 0)
        let first = lines(out)
        #expect(first.count == 6)
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--group", "cli", "--from-beginning", "--timeout-ms", "100",
                                                  "--output", out, "--log-dir", dir]) == 0)
        let second = lines(out)
        // Together: every record exactly once.
        #expect((first + second).sorted() == ["v0", "v1", "v2", "v3", "v4", "w0", "w1", "w2"])
        #expect(await WeirCommand.run(arguments: ["groups", "list", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["groups", "describe", "cli", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["groups", "describe", "cli", "--json", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["groups", "describe", "nobody", "--log-dir", dir]) == 1)

        // Reset to the earliest: the group reads everything again.
        #expect(await WeirCommand.run(arguments: ["groups", "reset-offsets", "cli", "--topic", "t", "--to-earliest", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--group", "cli", "--timeout-ms", "100", "--output", out, "--log-dir", dir]) == 0)
        #expect(lines(out).count == 8)
        #expect(await WeirCommand.run(arguments: ["groups", "reset-offsets", "cli", "--topic", "t", "--partition", "0", "--to-offset", "3", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["groups", "reset-offsets", "cli", "--topic", "t", "--to-datetime", "2023-11-14T22:13:20.001Z", "--log-dir", dir]) == 0)
        let log = try LogDirectory.open(path: dir)
        let committed = GroupCoordinator.shared(for: log).committedOffsets(groupId: "cli")
        #expect(committed[TopicPartition("t", 0)]?.offset == 1)
        #expect(committed[TopicPartition("t", 1)]?.offset == 1)
        try log.close()
        #expect(await WeirCommand.run(arguments: ["groups", "delete", "cli", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["groups", "describe", "cli", "--log-dir", dir]) == 1)
    }

    @Test func usageErrorsExitTwoAndFailuresOne() async throws {
        let dir = try seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for bad in [["t", "--format", "%s", "--json"], ["t", "--group", "g", "--partition", "0"], ["t", "--offset", "3"],
                    ["t", "--partition", "0", "--offset", "x"], ["t", "--max-messages", "0"], ["t", "--isolation-level", "serializable"],
                    ["t", "--config", "max.poll.records=0"], ["t", "--config", "nope=1"], ["t", "--format", "%q"],
                    ["t", "--partition", "0", "--offset", "1", "--from-beginning"]] {
            #expect(await WeirCommand.run(arguments: ["consume"] + bad + ["--timeout-ms", "10", "--log-dir", dir]) == 2, "\(bad)")
        }
        #expect(await WeirCommand.run(arguments: ["consume", "missing", "--timeout-ms", "10", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--partition", "9", "--timeout-ms", "10", "--log-dir", dir]) == 1)
        for bad in [["--to-earliest", "--to-latest"], [], ["--to-offset", "-1"], ["--to-datetime", "yesterday"]] {
            #expect(await WeirCommand.run(arguments: ["groups", "reset-offsets", "g", "--topic", "t"] + bad + ["--log-dir", dir]) == 2, "\(bad)")
        }
        #expect(await WeirCommand.run(arguments: ["groups", "reset-offsets", "g", "--topic", "missing", "--to-latest", "--log-dir", dir]) == 1)
        // read_committed through the CLI (no transactions here: everything is visible).
        let out = dir + "/out.txt"
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "50",
                                                  "--output", out, "--log-dir", dir]) == 0)
        #expect(lines(out).count == 8)
    }
}
