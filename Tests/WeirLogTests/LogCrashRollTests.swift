import Foundation
import Testing
import WeirFormat
@testable import WeirLog
import WeirTestSupport

/// Kill trials aimed at the roll and at write-back (`weir-log-crash-writer`'s `roll` and
/// `writeback` modes): after each SIGKILL the directory recovers, every acknowledged record is
/// there and intact, and the whole log verifies.
@Suite struct LogCrashRollTests {
    /// Runs up to `trials` kills of the writer in `mode` within `seconds`, recovering and
    /// verifying after each.
    func trials(mode: String, trials maxTrials: Int, seconds: Double, killAfter: ClosedRange<UInt32>) throws {
        let writer = try #require(crashWriterPath(), "build the weir-log-crash-writer product (swift build)")
        let tmp = TempDir(); defer { tmp.remove() }
        var acked: [ClosedRange<Int64>] = []
        var rng = SystemRandomNumberGenerator()
        let deadline = Date().addingTimeInterval(seconds)
        var trials = 0
        var segmentsSeen = 0
        while trials < maxTrials && Date() < deadline {
            trials += 1
            let child = Process()
            child.executableURL = URL(fileURLWithPath: writer)
            child.arguments = [tmp.path, String(UInt64.random(in: 1...UInt64.max, using: &rng)), mode]
            let out = Pipe()
            child.standardOutput = out
            try child.run()
            usleep(UInt32.random(in: killAfter, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]), line.count == "\(a) \(b)".count else { continue }
                acked.append(a...b)
            }
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            guard dir.topicNames.contains("crash") else {
                #expect(acked.isEmpty)
                try dir.close()
                continue
            }
            let log = try dir.partition("crash", 0)
            try verify(log, acked: acked)
            segmentsSeen = max(segmentsSeen, log.segments.count)
            try dir.close()
            let report = try LogInspector.verify(logDirectory: tmp.path)
            #expect(report.isValid, "\(report.problems)")
        }
        #expect(!acked.isEmpty)
        #expect(segmentsSeen > 2, "the trials must roll segments")
    }

    func verify(_ log: PartitionLog, acked: [ClosedRange<Int64>]) throws {
        let records = try readAll(log, maxBytes: 1 << 20)
        #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
        for r in records where r.value != crashValue(r.offset) {
            Issue.record("the value at offset \(r.offset) is not the one written")
            break
        }
        let last = acked.map(\.upperBound).max() ?? -1
        #expect(Int64(records.count) > last, "acknowledged up to \(last), recovered \(records.count) records")
    }

    /// acks=all with 4 KiB segments: most kills land within a few appends of a roll.
    @Test func killDuringRollsLosesNoAcknowledgedRecord() throws {
        try trials(mode: "roll", trials: 25, seconds: 15, killAfter: 30_000...200_000)
    }

    /// acks=1 appends of 30–60 KiB into 1 MiB segments, killed while write-back and roll
    /// flushes run: a process crash loses nothing acknowledged, even without an fsync.
    @Test func killDuringWritebackLosesNoAcknowledgedRecord() throws {
        try trials(mode: "writeback", trials: 15, seconds: 15, killAfter: 100_000...400_000)
    }
}
