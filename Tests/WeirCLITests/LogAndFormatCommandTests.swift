import Foundation
import Testing
import WeirCLI
import WeirTestSupport

/// A fresh temporary directory for a CLI test.
func cliTempDir() -> String { makeTemporaryDirectory("weir-cli") }

@Suite struct LogAndFormatCommandTests {
    let records = """
        {"timestamp": 1700000000000, "key_text": "k1", "value_text": "hello"}
        {"timestamp": 1700000000001, "key": null, "value": null, "headers": [{"key": "h", "value_text": "v"}]}

        """

    @Test func usageErrorsExitWith2() async {
        #expect(await WeirCommand.run(arguments: ["--no-such-flag"]) == 2)
        #expect(await WeirCommand.run(arguments: ["log", "dump"]) == 2)
        #expect(await WeirCommand.run(arguments: ["log", "dump", "/nonexistent/file.log"]) == 2)
        #expect(await WeirCommand.run(arguments: ["format", "encode", "--codec", "brotli", "--input", "-", "--output", "/dev/null"]) == 2)
        #expect(await WeirCommand.run(arguments: ["log", "verify", "/nonexistent/dir"]) == 2)
    }

    @Test func encodeDumpAppendVerify() async throws {
        let dir = cliTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try records.write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)

        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            let out = dir + "/\(codec).bin"
            #expect(await WeirCommand.run(arguments: ["format", "encode", "--codec", codec, "--input", dir + "/in.jsonl", "--output", out]) == 0)
            #expect(await WeirCommand.run(arguments: ["log", "dump", out, "--deep", "--json"]) == 0)
        }
        // A bad level names the range.
        #expect(await WeirCommand.run(arguments: ["format", "encode", "--codec", "zstd", "--level", "99", "--input", dir + "/in.jsonl", "--output", dir + "/x.bin"]) == 2)

        // A torn batch file: dump prints what it can and exits 1.
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/none.bin"))
        try good.prefix(good.count - 3).write(to: URL(fileURLWithPath: dir + "/torn.bin"))
        #expect(await WeirCommand.run(arguments: ["log", "dump", dir + "/torn.bin"]) == 1)

        // Append into a log directory, verify it, damage it, verify again.
        let logDir = dir + "/log"
        #expect(await WeirCommand.run(arguments: ["log", "append", "--log-dir", logDir, "--topic", "t", "--input", dir + "/in.jsonl", "--codec", "lz4"]) == 0)
        #expect(await WeirCommand.run(arguments: ["log", "append", "--log-dir", logDir, "--topic", "t", "--input", dir + "/in.jsonl", "--acks", "all"]) == 0)
        #expect(await WeirCommand.run(arguments: ["log", "append", "--log-dir", logDir, "--topic", "t", "--input", dir + "/in.jsonl", "--acks", "2"]) == 2)
        #expect(await WeirCommand.run(arguments: ["log", "append", "--log-dir", logDir, "--topic", "u", "--input", dir + "/in.jsonl", "--config", "segment.bytes=1"]) == 2)
        #expect(await WeirCommand.run(arguments: ["log", "verify", logDir]) == 0)
        let segment = logDir + "/t-0/00000000000000000000.log"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[bytes.count - 5] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: segment))
        #expect(await WeirCommand.run(arguments: ["log", "verify", logDir]) == 1)
        #expect(await WeirCommand.run(arguments: ["log", "dump", segment]) == 1)
    }
}
