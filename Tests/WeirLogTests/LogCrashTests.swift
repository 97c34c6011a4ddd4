import Foundation
import Testing
import WeirFormat
@testable import WeirLog
import WeirTestSupport


/// The crash writer next to the test bundle in the build products folder.
func crashWriterPath() -> String? {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("weir-log-crash-writer").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

@Suite struct LogCrashTests {
    /// A child appends with acks=all and prints each acknowledged range; the parent kills it with
    /// SIGKILL at a random moment, reopens the directory (recovery) and checks that every
    /// acknowledged record is present and intact and that the whole log verifies.
    @Test func killedWriterLosesNoAcknowledgedRecord() throws {
        let writer = try #require(crashWriterPath(), "build the weir-log-crash-writer product (swift build)")
        let tmp = TempDir(); defer { tmp.remove() }
        var acked: [ClosedRange<Int64>] = []
        var rng = SystemRandomNumberGenerator()
        let deadline = Date().addingTimeInterval(20)
        var trials = 0, unclean = 0
        while trials < 40 && Date() < deadline {
            trials += 1
            let child = Process()
            child.executableURL = URL(fileURLWithPath: writer)
            child.arguments = [tmp.path, String(UInt64.random(in: 1...UInt64.max, using: &rng))]
            let out = Pipe()
            child.standardOutput = out
            try child.run()
            usleep(UInt32.random(in: 20_000...250_000, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                // A line cut by the kill is not an acknowledgement.
                guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]), line.count == "\(a) \(b)".count else { continue }
                acked.append(a...b)
            }
            // Verify after most kills; sometimes let the next child recover instead.
            if trials % 3 == 0 { continue }
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            if !dir.recovery.wasCleanShutdown { unclean += 1 }
            // A kill before the child created its topic leaves nothing to check yet.
            guard dir.topicNames.contains("crash") else {
                #expect(acked.isEmpty)
                try dir.close()
                continue
            }
            let log = try dir.partition("crash", 0)
            try verify(log, acked: acked)
            try dir.close()
            let report = try LogInspector.verify(logDirectory: tmp.path)
            #expect(report.isValid, "\(report.problems)")
        }
        #expect(unclean > 0)
        #expect(!acked.isEmpty)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try verify(try dir.partition("crash", 0), acked: acked)
        try dir.close()
    }

    func verify(_ log: PartitionLog, acked: [ClosedRange<Int64>]) throws {
        let records = try readAll(log)
        // The log verifies: consecutive offsets from 0, every CRC valid (readAll checks), values intact.
        #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
        for r in records { #expect(r.value == crashValue(r.offset)) }
        // Every acknowledged record is there.
        let last = acked.map(\.upperBound).max() ?? -1
        #expect(Int64(records.count) > last, "acknowledged up to \(last), recovered \(records.count) records")
    }
}
