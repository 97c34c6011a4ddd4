import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// Holes at the end of the log: the active (last) segment emptied or cut short after its
/// records were flushed, in plain and compacted topics. The recovery-point checkpoint is the
/// evidence: offsets below it were synced, so a log that ends before it lost them.
@Suite struct LogTailHoleTests {
    /// 1,000 records (200 batches of 5) in 8 KiB segments, closed cleanly; the segment files.
    func writeAndClose(_ path: String, compacted: Bool) async throws -> [String] {
        let dir = try LogDirectory.open(path: path, options: testOptions())
        var config = smallConfig(segmentBytes: 8 << 10)
        if compacted { config.cleanupPolicy = .compact }
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        for i in 0..<200 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, keys: compacted ? 50 : nil)) }
        if compacted { _ = try log.compact(now: Int64.max / 2) }
        try dir.close()
        return segmentFiles(path + "/t-0").map { path + "/t-0/" + $0 }
    }

    @Test(arguments: [false, true])
    func anEmptiedActiveSegmentIsAHole(compacted: Bool) async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path, compacted: compacted)
        let lastBase = try #require(LogInspector.baseOffset(ofSegmentFile: files.last!))
        #expect(lastBase > 0 && lastBase < 1000)
        #expect(truncate(files.last!, 0) == 0)
        // The raw files: verify sees the loss (the checkpoint says 1000 were flushed).
        let before = try LogInspector.verify(logDirectory: tmp.path)
        #expect(!before.isValid, "compacted: \(compacted)")

        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir.partition("t", 0)
        #expect(log.damage.map(\.offsets) == [lastBase..<1000], "compacted: \(compacted)")
        do {
            _ = try log.read(from: lastBase + 1, maxBytes: 1 << 16)
            Issue.record("a read inside the hole returned data")
        } catch {
            #expect(error.code == .corruptLog)
            #expect(error.message.contains("seek to 1000"))
        }
        // New records never get a lost offset: a consumer that had read up to 1000 sees them.
        let r = try await log.append(makeBatch(firstSeq: 1000, count: 5), acks: .all)
        #expect(r.baseOffset == 1000)
        #expect(try readAll(log, from: 1000).compactMap(sequence(of:)) == Array(1000..<1005))
        try dir.close()

        // After a reopen the hole is still reported, for a compacted topic too (the open that
        // found it recorded it in the damage checkpoint: the checkpoint has moved past it).
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        let reopened = try again.partition("t", 0)
        #expect(reopened.highWatermark == 1005)
        #expect(reopened.damage.map(\.offsets) == [lastBase..<1000], "compacted: \(compacted)")
        #expect(throws: LogError.self) { try reopened.read(from: lastBase, maxBytes: 1 << 16) }
        try again.close()
        #expect(try !LogInspector.verify(logDirectory: tmp.path).isValid, "compacted: \(compacted)")
    }

    /// A compacted topic's cut tail leaves a gap, which compaction leaves too: only the damage
    /// checkpoint keeps the hole after the open that found it. Deleting the records before the
    /// hole accepts the loss and removes the record.
    @Test func aCompactedTopicsCutTailStaysReportedUntilAccepted() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path, compacted: true)
        #expect(truncate(files.last!, off_t(fileSize(files.last!) - 50)) == 0)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try dir.partition("t", 0).damage.map(\.offsets) == [995..<1000])
        try dir.close()
        for _ in 0..<2 {
            let again = try LogDirectory.open(path: tmp.path, options: testOptions())
            let log = try again.partition("t", 0)
            #expect(log.damage.map(\.offsets) == [995..<1000])
            #expect(throws: LogError.self) { try log.read(from: 996, maxBytes: 1 << 16) }
            #expect(again.recovery.partitions[0].repairedDamage, "every open reports it")
            try again.close()
            let report = try LogInspector.verify(logDirectory: tmp.path)
            #expect(report.problems.contains { $0.contains("995..<1000") }, "\(report.problems)")
        }
        let dir2 = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir2.partition("t", 0)
        try log.deleteRecords(before: 1000)
        #expect(log.damage.isEmpty)
        try dir2.close()
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/t-0/" + _DamageFile.fileName))
        let dir3 = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try dir3.partition("t", 0).damage.isEmpty)
        try dir3.close()
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
    }

    @Test func aCutActiveSegmentIsAHoleAfterItsRecoveredRecords() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path, compacted: false)
        #expect(truncate(files.last!, off_t(fileSize(files.last!) - 50)) == 0)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir.partition("t", 0)
        #expect(log.damage.map(\.offsets) == [995..<1000], "the torn last batch was flushed: its offsets are a hole")
        #expect(try readUpToHole(log) == Array(0..<995))
        #expect(throws: LogError.self) { try log.read(from: 997, maxBytes: 1 << 16) }
        try dir.close()
    }

    /// No hole after a crash that lost nothing flushed: the checkpoint is at or below the end.
    @Test func anIntactLogHasNoTailHole() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        _ = try await writeAndClose(tmp.path, compacted: false)
        try FileManager.default.removeItem(atPath: tmp.path + "/" + LogDirectory.cleanShutdownFileName)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir.partition("t", 0)
        #expect(log.damage.isEmpty)
        #expect(log.highWatermark == 1000)
        try dir.close()
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
    }
}
