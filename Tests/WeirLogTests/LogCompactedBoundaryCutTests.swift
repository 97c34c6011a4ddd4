import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// A compacted topic's closed segment cut exactly at a batch boundary. Compaction may leave a
/// closed segment ending before the next one's base, so the gap alone proves nothing there; the
/// evidence is the segment's `.index`, whose last entry (Weir indexes every closed segment's last
/// batch) then points past the end of the `.log` (`_Segment.lostEnd`).
@Suite struct LogCompactedBoundaryCutTests {
    /// 600 records of 600 distinct keys (nothing to compact away) in 8 KiB segments of a
    /// compacted topic, closed cleanly; the segment files.
    func writeCompactedTopic(_ path: String, keys: Int = 600) async throws -> [String] {
        let dir = try LogDirectory.open(path: path, options: testOptions())
        var config = smallConfig(segmentBytes: 8 << 10)
        config.cleanupPolicy = .compact
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        for i in 0..<120 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, keys: keys)) }
        try dir.close()
        return segmentFiles(path + "/t-0").map { path + "/t-0/" + $0 }
    }

    /// The batches of a `.log` file.
    func batches(_ file: String) throws -> [LogInspector.Batch] {
        var out: [LogInspector.Batch] = []
        _ = try LogInspector.scanLogFile(file) { (b, _) throws(LogError) in out.append(b) }
        return out
    }

    @Test(arguments: [true, false])
    func aClosedSegmentCutAtABatchBoundaryIsAHole(cleanShutdown: Bool) async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeCompactedTopic(tmp.path)
        #expect(files.count >= 3)
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
        let next = try #require(LogInspector.baseOffset(ofSegmentFile: files[2]))
        let last = try #require(try batches(files[1]).last)
        // Cut the second segment's last batch off, exactly at its start.
        #expect(truncate(files[1], off_t(last.position)) == 0)
        if !cleanShutdown { try FileManager.default.removeItem(atPath: tmp.path + "/" + LogDirectory.cleanShutdownFileName) }
        let before = try LogInspector.verify(logDirectory: tmp.path)
        #expect(!before.isValid)
        #expect(before.problems.contains { $0.contains("past the end of the .log") }, "\(before.problems)")

        for round in 0..<2 {
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            let log = try dir.partition("t", 0)
            #expect(log.damage.map(\.offsets) == [last.header.baseOffset..<next], "clean: \(cleanShutdown), open \(round)")
            do {
                _ = try log.read(from: last.header.baseOffset, maxBytes: 1 << 16)
                Issue.record("a read inside the hole returned data")
            } catch {
                #expect(error.code == .corruptLog)
            }
            try dir.close()
            #expect(try !LogInspector.verify(logDirectory: tmp.path).isValid, "open \(round)")
        }
    }

    /// No false report: compaction that removes a closed segment's last batch (every record of
    /// it superseded) leaves a gap before the next segment, and an index that matches.
    @Test func aGapThatCompactionLeftIsNoDamage() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 8 << 10)
        config.cleanupPolicy = .compact
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        // Unique keys, except that each batch of 5 repeats the keys of the one before it every
        // other time: compaction drops whole batches, some of them at a segment's end.
        for i in 0..<120 {
            let b = RecordBatchBuilder.testBatch(keys: (0..<5).map { "k\((i / 2) * 5 + $0)" })
            try await log.append(b)
        }
        _ = try log.compact(now: Int64.max / 2)
        try dir.close()
        let files = segmentFiles(tmp.path + "/t-0").map { tmp.path + "/t-0/" + $0 }
        var gaps = 0
        for (file, nextFile) in zip(files, files.dropFirst()) {
            let end = try #require(try batches(file).last).header.nextOffset
            if end < (try #require(LogInspector.baseOffset(ofSegmentFile: nextFile))) { gaps += 1 }
        }
        #expect(gaps > 0, "the test needs a compacted segment that ends before the next one's base")
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
        for _ in 0..<2 {
            let again = try LogDirectory.open(path: tmp.path, options: testOptions())
            #expect(try again.partition("t", 0).damage.isEmpty)
            try again.close()
        }
    }
}

extension RecordBatchBuilder {
    /// A batch of one record per key, with 40-byte values.
    static func testBatch(keys: [String]) -> [UInt8] {
        let b = try! RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 20)
        for k in keys { _ = b.append(timestamp: 1_700_000_000_000, key: Array(k.utf8), value: [UInt8](repeating: 0x61, count: 40)) }
        return try! b.build()
    }
}
