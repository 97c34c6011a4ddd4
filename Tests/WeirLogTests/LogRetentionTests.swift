import Foundation
import Testing
import WeirCompression
import WeirFormat
@testable import WeirLog

@Suite struct LogRetentionTests {
    @Test func retentionMsDeletesOldClosedSegments() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 4 << 10)
        config.retentionMs = 60_000
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        let now: Int64 = 1_800_000_000_000
        // Old records (2 hours ago), then recent ones.
        for i in 0..<60 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, timestamp: now - 7_200_000)) }
        let oldEnd = log.highWatermark
        for i in 60..<120 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, timestamp: now - 1000)) }
        let before = log.segments.count
        let r = try log.enforceRetention(now: now)
        #expect(r.segmentsDeleted > 0)
        #expect(log.segments.count == before - r.segmentsDeleted)
        // Every deleted segment was entirely old; the first kept one holds the boundary or later.
        #expect(log.logStartOffset <= oldEnd)
        #expect(log.logStartOffset == log.segments.first!.baseOffset)
        #expect(segmentFiles(log.directory).count == log.segments.count)
        // Reading below the log-start offset is out of range; from it, everything is there.
        do throws(LogError) { _ = try log.read(from: 0, maxBytes: 100) } catch { #expect(error.code == .offsetOutOfRange) }
        let records = try readAll(log)
        #expect(records.first?.offset == log.logStartOffset)
        #expect(records.last?.offset == 599)
        // A second pass deletes nothing more.
        #expect(try log.enforceRetention(now: now).segmentsDeleted == 0)
        try dir.close()
        // The log-start offset is checkpointed in Kafka's format and survives a reopen.
        let text = try String(contentsOfFile: tmp.path + "/log-start-offset-checkpoint", encoding: .utf8)
        #expect(text == "0\n1\nt 0 \(log.logStartOffset)\n")
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try again.partition("t", 0).logStartOffset == log.logStartOffset)
        try again.close()
    }

    @Test func retentionBytesKeepsThePartitionUnderTheLimit() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 4 << 10)
        config.retentionBytes = 10_000
        config.retentionMs = -1
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        for i in 0..<200 { try await log.append(makeBatch(firstSeq: i * 5, count: 5)) }
        let r = try log.enforceRetention()
        #expect(r.segmentsDeleted > 0)
        #expect(log.sizeInBytes < 10_000 + (4 << 10))
        // Deleting one more segment would go below the limit.
        #expect(log.sizeInBytes - Int64(log.segments.first!.sizeInBytes) < 10_000)
        #expect(try readAll(log).last?.offset == 999)
        try dir.close()
    }

    @Test func deleteRecordsMovesTheLogStartOffset() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 4 << 10))
        let log = try dir.partition("t", 0)
        for i in 0..<100 { try await log.append(makeBatch(firstSeq: i * 5, count: 5)) }
        let start = try log.deleteRecords(before: 333)
        #expect(start == 333)
        #expect(log.segments.first!.baseOffset <= 333)
        #expect(try readAll(log).first?.offset == 333)
        try dir.close()
    }

    @Test func aDeletedSegmentStaysReadableWhileAViewHoldsIt() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 4 << 10))
        let log = try dir.partition("t", 0)
        for i in 0..<100 { try await log.append(makeBatch(firstSeq: i * 5, count: 5)) }
        let held = try log.read(from: 0, maxBytes: 1 << 20)
        let firstFile = log.segments.first!.logPath
        _ = try log.deleteRecords(before: log.highWatermark - 1)
        #expect(!FileManager.default.fileExists(atPath: firstFile))
        // The views still read the unlinked, still-mapped segment, with valid CRCs.
        let decoder = RecordBatchDecoder()
        var seqs: [Int] = []
        for b in held.batches where b.segmentBaseOffset == 0 {
            #expect(b.isChecksumValid)
            seqs += try b.withUnsafeBytes { try decoder.decode($0).records.compactMap(sequence(of:)) }
        }
        #expect(seqs == Array(0..<seqs.count) && seqs.count > 10)
        try dir.close()
    }

    @Test func maintenanceAppliesRetentionAndWritesCheckpoints() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 4 << 10)
        config.retentionMs = 1
        try dir.createTopic("t", partitions: 2, config: config)
        for i in 0..<100 { try await dir.partition("t", 1).append(makeBatch(firstSeq: i * 5, count: 5, timestamp: 1000)) }
        let results = try dir.runMaintenance(force: true)
        #expect(results.count == 1 && results[0].topicPartition == TopicPartition("t", 1))
        let text = try String(contentsOfFile: tmp.path + "/log-start-offset-checkpoint", encoding: .utf8)
        #expect(text.contains("t 1 \(try dir.partition("t", 1).logStartOffset)"))
        try dir.close()
    }
}

@Suite struct LogCompactionTests {
    func values(_ log: PartitionLog) throws -> [String: (offset: Int64, value: [UInt8]?)] {
        var out: [String: (Int64, [UInt8]?)] = [:]
        for r in try readAll(log) { out[String(decoding: r.key!, as: UTF8.self)] = (r.offset, r.value) }
        return out
    }

    @Test func compactionKeepsTheLatestValuePerKeyAndPreservesOffsets() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 4 << 10)
        config.cleanupPolicy = .compact
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        // 600 records over 10 keys.
        for i in 0..<120 { try await log.append(makeBatch(firstSeq: i * 5, count: 5, keys: 10)) }
        let before = try readAll(log)
        let latestBefore = try values(log)
        let activeBase = log.segments.last!.baseOffset
        let r = try log.enforceRetention()
        #expect(r.segmentsCompacted > 0)
        #expect(r.recordsRemoved > 0)
        #expect(r.segmentsDeleted == 0)
        let after = try readAll(log)
        #expect(after.count == before.count - r.recordsRemoved)
        // The latest value of every key is unchanged, at its original offset.
        let latestAfter = try values(log)
        for (k, v) in latestBefore {
            #expect(latestAfter[k]?.offset == v.offset)
            #expect(latestAfter[k]?.value == v.value)
        }
        // Offsets are preserved and increasing; each record is the original one at that offset.
        let original = Dictionary(uniqueKeysWithValues: before.map { ($0.offset, $0) })
        var last: Int64 = -1
        for rec in after {
            #expect(rec.offset > last)
            last = rec.offset
            #expect(original[rec.offset]?.value == rec.value)
        }
        // In the compacted (closed) part, each key appears at most once.
        let closedKeys = after.filter { $0.offset < activeBase }.map { $0.key! }
        #expect(Set(closedKeys).count == closedKeys.count)
        // Reopening rebuilt nothing: the compacted segments and their indexes are consistent.
        try dir.close()
        let verified = try LogInspector.verify(logDirectory: tmp.path)
        #expect(verified.isValid, "\(verified.problems)")
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(again.recovery.partitions[0].indexesRebuilt == 0)
        #expect(try readAll(again.partition("t", 0)).map(\.offset) == after.map(\.offset))
        try again.close()
    }

    @Test func compressedBatchesAreCompactedWithTheirCodec() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 4 << 10)
        config.cleanupPolicy = .compact
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        for i in 0..<60 { try await log.append(makeBatch(firstSeq: i * 8, count: 8, keys: 3, codec: .zstd)) }
        let latest = try values(log)
        let r = try log.compact()
        #expect(r.segments > 0 && r.records > 0)
        let after = try values(log)
        for (k, v) in latest { #expect(after[k]?.offset == v.offset && after[k]?.value == v.value) }
        for b in try log.read(from: log.logStartOffset, maxBytes: 1 << 20).batches {
            // A segment whose records all went keeps its last batch's header, uncompressed (as
            // Kafka's cleaner writes an empty batch header).
            if b.header.recordCount > 0 {
                #expect(b.header.codec == .zstd)
            } else {
                #expect(b.header.codec == CompressionCodec.none)
            }
            #expect(b.isChecksumValid)
        }
        try dir.close()
    }

    @Test func tombstonesAreRemovedAfterDeleteRetentionMs() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 4 << 10)
        config.cleanupPolicy = .compact
        config.deleteRetentionMs = 1000
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        let t0: Int64 = 1_800_000_000_000
        // Keys 0..<4; every record with seq % 4 == 3 (always key-3) is a tombstone.
        for i in 0..<100 { try await log.append(makeBatch(firstSeq: i * 4, count: 4, timestamp: t0, keys: 4, tombstoneEvery: 4)) }
        for i in 0..<40 { try await log.append(makeBatch(firstSeq: 1000 + i, count: 1, timestamp: t0, keys: 4)) }
        // Within delete.retention.ms the latest tombstone stays.
        _ = try log.compact(now: t0 + 10)
        let closedBase = log.segments.last!.baseOffset
        // key-3's latest record is a tombstone in a closed segment unless the tail rewrote it.
        let early = try readAll(log).filter { $0.offset < closedBase && $0.value == nil }
        // After delete.retention.ms tombstones in closed segments are gone.
        _ = try log.compact(now: t0 + 10_000)
        let late = try readAll(log).filter { $0.offset < closedBase && $0.value == nil }
        #expect(late.isEmpty)
        #expect(early.count <= 1)
        try dir.close()
    }
}
