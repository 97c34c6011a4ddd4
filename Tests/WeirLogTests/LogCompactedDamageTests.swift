import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// Damage to a compacted topic's closed segments. Compaction leaves gaps between segments, so a
/// gap is no evidence there; an empty closed segment is, because compaction never empties one.
@Suite struct LogCompactedDamageTests {
    /// 1,000 records of 50 keys in 8 KiB segments, compacted (every closed segment but the
    /// last loses all its records) and closed cleanly; the segment files.
    func writeCompacted(_ path: String) async throws -> [String] {
        let dir = try LogDirectory.open(path: path, options: testOptions())
        var config = smallConfig(segmentBytes: 8 << 10)
        config.cleanupPolicy = .compact
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        for i in 0..<200 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, keys: 50)) }
        _ = try log.compact(now: Int64.max / 2)
        try dir.close()
        return segmentFiles(path + "/t-0").map { path + "/t-0/" + $0 }
    }

    /// A segment whose records compaction removed keeps its last batch's header (no records),
    /// so no closed segment is empty and an intact compacted log verifies.
    @Test func compactionNeverEmptiesASegment() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeCompacted(tmp.path)
        #expect(files.count >= 4)
        for file in files.dropLast() {
            #expect(fileSize(file) >= RecordBatchLayout.headerSize, "\(file)")
            var batches: [LogInspector.Batch] = []
            let scan = try LogInspector.scanLogFile(file) { (b, _) throws(LogError) in batches.append(b) }
            #expect(scan.problem == nil)
            let checksumsValid = batches.allSatisfy { $0.isChecksumValid }
            #expect(checksumsValid)
        }
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir.partition("t", 0)
        #expect(log.damage.isEmpty)
        // The kept headers hold no records: before the last closed segment, a read from 0
        // finds none, and the closed segments keep one record per key.
        let lastClosed = try #require(LogInspector.baseOffset(ofSegmentFile: files[files.count - 2]))
        let active = try #require(LogInspector.baseOffset(ofSegmentFile: files[files.count - 1]))
        let records = try readAll(log, from: 0)
        let early = records.filter { $0.offset < lastClosed }.count
        let closed = records.filter { $0.offset < active }.count
        #expect(early == 0)
        #expect(closed == 50)
        #expect(records.last?.offset == 999)
        // Compacting again changes nothing.
        #expect(try log.compact(now: Int64.max / 2).records == 0)
        try dir.close()
    }

    @Test(arguments: [true, false])
    func anEmptiedClosedSegmentOfACompactedTopicIsAHole(cleanShutdown: Bool) async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeCompacted(tmp.path)
        let base = try #require(LogInspector.baseOffset(ofSegmentFile: files[1]))
        let next = try #require(LogInspector.baseOffset(ofSegmentFile: files[2]))
        #expect(truncate(files[1], 0) == 0)
        if !cleanShutdown { try FileManager.default.removeItem(atPath: tmp.path + "/" + LogDirectory.cleanShutdownFileName) }
        #expect(try !LogInspector.verify(logDirectory: tmp.path).isValid)

        for _ in 0..<2 {
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            let log = try dir.partition("t", 0)
            #expect(log.damage.map(\.offsets) == [base..<next], "clean: \(cleanShutdown)")
            do {
                _ = try log.read(from: base, maxBytes: 1 << 16)
                Issue.record("a read inside the hole returned data")
            } catch {
                #expect(error.code == .corruptLog)
            }
            try dir.close()
            #expect(try !LogInspector.verify(logDirectory: tmp.path).isValid)
        }
    }

    /// A compacted closed segment cut short by recovery: the offsets from the cut to the next
    /// segment are a hole (they may have held records), on this open and the later ones.
    @Test func aCutClosedSegmentOfACompactedTopicIsAHole() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeCompacted(tmp.path)
        let last = files.count - 2  // the last closed segment: it holds the kept records
        let next = try #require(LogInspector.baseOffset(ofSegmentFile: files[last + 1]))
        #expect(truncate(files[last], off_t(fileSize(files[last]) - 30)) == 0)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let holes = try dir.partition("t", 0).damage
        #expect(holes.count == 1)
        #expect(holes.first?.offsets.upperBound == next)
        try dir.close()
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try again.partition("t", 0).damage.map(\.offsets) == holes.map(\.offsets))
        try again.close()
        #expect(try !LogInspector.verify(logDirectory: tmp.path).isValid)
    }
}
