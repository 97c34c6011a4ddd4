import Foundation
import Testing
import WeirFormat
@testable import WeirLog

@Suite struct LogIndexTests {
    @Test func offsetIndexIsSparseAndLookupsMatchAScan() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 64 << 10, indexIntervalBytes: 1024))
        let log = try dir.partition("t", 0)
        for i in 0..<300 { try await log.append(makeBatch(firstSeq: i * 4, count: 4)) }
        let segments = log._segments.withLock { $0 }
        #expect(segments.count > 1)
        for s in segments {
            let n = s.offsetIndex.file.count
            #expect(n > 0)
            // About one entry per index.interval.bytes of log.
            #expect(n <= s.end / 1024 + 1)
            var last: Int64 = -1
            for i in 0..<n {
                let off = s.baseOffset + s.offsetIndex.relativeOffset(i)
                #expect(off > last)
                last = off
                // The entry points at the batch whose last offset it names (Kafka's rule).
                let h = RecordBatchHeader(unsafeUncheckedBytes: UnsafeRawPointer(s.log.base!) + s.offsetIndex.position(i))
                #expect(h.lastOffset == off)
            }
            // Lookup: the last entry at or below the target, so a forward scan finds it.
            for target in stride(from: s.baseOffset, to: s.nextOffset, by: 3) {
                let p = s.position(of: target, end: s.end)
                let h = RecordBatchHeader(unsafeUncheckedBytes: UnsafeRawPointer(s.log.base!) + p)
                #expect(h.baseOffset <= target && target <= h.lastOffset)
                #expect(s.offsetIndex.lookup(target) <= p)
            }
        }
        try dir.close()
        // After close the index files hold exactly their entries, and reopening agrees.
        for s in segments {
            #expect(fileSize(s.offsetIndex.file.path) == s.offsetIndex.file.count * 8)
            #expect(fileSize(s.timeIndex.file.path) == s.timeIndex.file.count * 12)
        }
    }

    @Test func offsetsForTimesFindsTheEarliestRecordAtOrAfterT() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 8 << 10, indexIntervalBytes: 256))
        let log = try dir.partition("t", 0)
        // Batch i has 5 records with timestamps 10_000 + 10*i + 0...4.
        for i in 0..<200 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, timestamp: 10_000 + Int64(i) * 10)) }
        #expect(log.segments.count > 2)
        #expect(log.segments.allSatisfy { $0.timeIndexEntries > 0 })
        for i in [0, 1, 57, 123, 199] {
            for d in 0..<5 {
                let t = 10_000 + Int64(i) * 10 + Int64(d)
                let hit = try #require(log.offset(forTimestamp: t))
                #expect(hit.offset == Int64(i * 5 + d))
                #expect(hit.timestamp == t)
            }
            // Between two batches: the first record of the next one.
            let gap = 10_000 + Int64(i) * 10 + 7
            if i < 199 { #expect(log.offset(forTimestamp: gap)?.offset == Int64((i + 1) * 5)) }
        }
        #expect(log.offset(forTimestamp: 0)?.offset == 0)
        #expect(log.offset(forTimestamp: 99_999) == nil)
        try dir.close()
        // Still right after reopening (time index read from disk, last entry written on close).
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try again.partition("t", 0).offset(forTimestamp: 10_000 + 1234)?.offset == 619)
        try again.close()
    }
}

@Suite struct LogInspectorTests {
    @Test func dumpsBatchesAndIndexEntries() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 8 << 10, indexIntervalBytes: 256))
        let log = try dir.partition("t", 0)
        for i in 0..<100 { try await log.append(makeBatch(firstSeq: i * 3, count: 3)) }
        try dir.close()
        let report = try LogInspector.verify(logDirectory: tmp.path)
        #expect(report.isValid, "\(report.problems)")
        #expect(report.batchesChecked == 100)
        let first = log.segments[0]
        var batches: [LogInspector.Batch] = []
        let scan = try LogInspector.scanLogFile(first.logPath) { (b, bytes) throws(LogError) in
            #expect(bytes.count == b.header.totalSize)
            batches.append(b)
        }
        #expect(scan.problem == nil && scan.zeroTailBytes == 0 && scan.validBytes == first.sizeInBytes)
        #expect(batches.first?.header.baseOffset == 0 && batches.allSatisfy(\.isChecksumValid))
        #expect(LogInspector.baseOffset(ofSegmentFile: log.segments[1].logPath) == log.segments[1].baseOffset)
        let index = try LogInspector.offsetIndexEntries(first.logPath.replacingOccurrences(of: ".log", with: ".index"))
        #expect(index.count == first.offsetIndexEntries && index.allSatisfy { e in batches.contains { $0.position == e.position && $0.header.lastOffset == e.offset } })
        let times = try LogInspector.timeIndexEntries(first.logPath.replacingOccurrences(of: ".log", with: ".timeindex"))
        #expect(times.count == first.timeIndexEntries && !times.isEmpty)
    }
}
