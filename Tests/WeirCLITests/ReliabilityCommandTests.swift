import Foundation
import Testing
import WeirLog
import WeirTestSupport
@testable import WeirCLI

private func tempDir() -> String { makeTemporaryDirectory("weircli-rel") }

private func write(_ text: String, in dir: String, _ name: String) -> String {
    let path = dir + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

/// Issue 16, defects 2 and 7, through the CLI.
@Suite(.serialized) struct ReliabilityCommandTests {
    @Test func consumeNegativeOffsetsCountFromTheEnd() async throws {
        let dir = tempDir(), scratch = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: scratch) }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "t", "--log-dir", dir]) == 0)
        let input = write((0..<10).map { "v\($0)" }.joined(separator: "\n") + "\n", in: scratch, "in.txt")
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--input", input, "--log-dir", dir]) == 0)
        let out = scratch + "/out.txt"
        for (arg, expected) in [("-3", ["v7", "v8", "v9"]), ("-1", ["v9"]), ("-50", (0..<10).map { "v\($0)" })] {
            #expect(await WeirCommand.run(arguments: ["consume", "t", "--partition", "0", "--offset", arg, "--timeout-ms", "100",
                                                      "--output", out, "--log-dir", dir]) == 0, "\(arg)")
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines == expected, "--offset \(arg)")
        }
    }

    @Test func readersDoNotCreateAMissingLogDirectory() async throws {
        let missing = tempDir() + "/not-there"
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--timeout-ms", "50", "--log-dir", missing]) == 1)
        #expect(await WeirCommand.run(arguments: ["topics", "list", "--log-dir", missing]) == 1)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "--log-dir", missing]) == 1)
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func logDumpOfAFIFOFailsInsteadOfBlocking() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/00000000000000000000.log"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(await WeirCommand.run(arguments: ["log", "dump", fifo]) == 1)
        let index = dir + "/00000000000000000000.index"
        #expect(mkfifo(index, 0o644) == 0)
        #expect(await WeirCommand.run(arguments: ["log", "dump", index]) == 1)
    }

    @Test func logAppendChecksTimestamps() async throws {
        let dir = tempDir(), scratch = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: scratch) }
        for bad in ["99999999999999999999", "-5", "1.5", "9223372036854775808"] {
            let input = write("{\"timestamp\": \(bad), \"value_text\": \"x\"}\n", in: scratch, "bad.jsonl")
            #expect(await WeirCommand.run(arguments: ["log", "append", "--topic", "t", "--input", input, "--log-dir", dir]) == 2, "\(bad)")
        }
        let good = write("{\"timestamp\": 1700000000000, \"value_text\": \"x\"}\n{\"timestamp\": 0, \"value_text\": \"y\"}\n", in: scratch, "good.jsonl")
        #expect(await WeirCommand.run(arguments: ["log", "append", "--topic", "t", "--input", good, "--log-dir", dir]) == 0)
    }

    @Test func topicNameLimitsAreChecked() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let longest = String(repeating: "n", count: LogDirectory.maxTopicNameLength)
        #expect(await WeirCommand.run(arguments: ["topics", "create", longest, "--log-dir", dir]) == 0)
        for n in [LogDirectory.maxTopicNameLength + 1, 249] {
            #expect(await WeirCommand.run(arguments: ["topics", "create", String(repeating: "m", count: n), "--log-dir", dir]) == 2, "\(n)")
        }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "bø", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["topics", "list", "--log-dir", dir]) == 0)
    }

    /// An emptied closed segment: consume stops with an error (exit 1) instead of jumping.
    @Test func consumeStopsAtAHole() async throws {
        let dir = tempDir(), scratch = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: scratch) }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "t", "--config", "segment.bytes=16384", "--log-dir", dir]) == 0)
        let input = write((0..<2000).map { "value-\($0)" }.joined(separator: "\n") + "\n", in: scratch, "in.txt")
        #expect(await WeirCommand.run(arguments: ["produce", "t", "--input", input, "--log-dir", dir]) == 0)
        let first = dir + "/t-0/00000000000000000000.log"
        #expect(truncate(first, 0) == 0)
        let out = scratch + "/out.txt"
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--from-beginning", "--timeout-ms", "200", "--output", out, "--log-dir", dir]) == 1)
        #expect(try String(contentsOfFile: out, encoding: .utf8).isEmpty)
        #expect(await WeirCommand.run(arguments: ["log", "verify", dir]) == 1)
    }

    /// What opening the directory did at the directory level reaches standard error: here a
    /// half-made topic removed (before, only damaged partitions were printed). `log verify`,
    /// which does not open the directory, names the half-made topic in a note.
    @Test func directoryLevelRecoveryMessagesArePrinted() async throws {
        let dir = tempDir(), scratch = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: scratch) }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "t", "--log-dir", dir]) == 0)
        let input = write("v\n", in: scratch, "in.txt")
        for command in [["topics", "describe"], ["produce", "t", "--input", input],
                        ["consume", "t", "--from-beginning", "--timeout-ms", "50"]] {
            try FileManager.default.createDirectory(atPath: dir + "/h-0", withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: dir + "/.topics/h.creating", contents: Data("partitions=2\n".utf8)))
            let (verifyCode, verifyOut) = await runCapturing(["log", "verify", dir])
            #expect(verifyCode == 0)
            #expect(verifyOut.contains("topic 'h' is half-made"), "\(verifyOut)")
            let (code, err) = await runCapturing(command + ["--log-dir", dir], fd: 2)
            #expect(code == 0, "\(command): \(err)")
            #expect(err.contains("removed the half-made topic 'h'") && err.contains("h-0"), "\(command): \(err)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/h-0"))
        }
    }
}
