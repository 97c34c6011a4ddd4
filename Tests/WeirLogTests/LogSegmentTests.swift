import Foundation
import Testing
import WeirCompression
import WeirFormat
@testable import WeirLog

@Suite struct LogSegmentTests {
    @Test func appendAndReadRoundTripAcrossRolls() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("orders", partitions: 2, config: smallConfig())
        let log = try dir.partition("orders", 1)
        var seq = 0
        for i in 0..<200 {
            let n = 1 + i % 7
            let r = try await log.append(makeBatch(firstSeq: seq, count: n), acks: .leader)
            #expect(r.baseOffset == Int64(seq))
            #expect(r.lastOffset == Int64(seq + n - 1))
            seq += n
        }
        #expect(log.highWatermark == Int64(seq))
        #expect(log.logEndOffset == Int64(seq))
        #expect(log.segments.count > 3, "small segment.bytes rolls")
        let records = try readAll(log)
        #expect(records.count == seq)
        for (i, r) in records.enumerated() {
            #expect(r.offset == Int64(i))
            #expect(sequence(of: r) == i)
            #expect(r.value == testValue(i))
        }
        // Kafka's names, and closed segments trimmed to their real size (by the background
        // flush a roll schedules; `flush()` waits for it).
        try await log.flush()
        let files = segmentFiles(log.directory)
        #expect(files.first == "00000000000000000000.log")
        #expect(files.allSatisfy { $0.count == 24 })
        for s in log.segments.dropLast() {
            #expect(fileSize(s.logPath) == s.sizeInBytes)
            #expect(fileSize(s.logPath.replacingOccurrences(of: ".log", with: ".index")) == s.offsetIndexEntries * 8)
            #expect(String(s.logPath.suffix(24)) == String(repeating: "0", count: 20 - String(s.baseOffset).count) + "\(s.baseOffset).log")
        }
        // The active segment grows with its data (preallocate=false, Kafka's default).
        #expect(fileSize(log.segments.last!.logPath) == log.segments.last!.sizeInBytes)
        try dir.close()
        // Close trims the active segment too.
        let last = log.segments.last!
        #expect(fileSize(last.logPath) == last.sizeInBytes)
    }

    /// A roll leaves trimming the closed segment to the background flush, off the appending
    /// thread. A crash before that flush leaves a closed segment with a zeroed preallocated tail
    /// in front of a segment that already holds records: recovery must trim the tail and keep
    /// every later record.
    @Test func aCrashBeforeTheRolledSegmentIsTrimmedLosesNothing() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig())
        let log = try dir.partition("t", 0)
        var seq = 0
        // Fill the first segment until it rolls, then write a few more batches into the next.
        while log.segments.count < 2 {
            try await log.append(makeBatch(firstSeq: seq, count: 5), acks: .leader)
            seq += 5
        }
        for _ in 0..<3 {
            try await log.append(makeBatch(firstSeq: seq, count: 5), acks: .leader)
            seq += 5
        }
        // The state a crash would leave: the files as they are now (the rolled segment may still
        // be preallocated, if its flush has not run), without a clean-shutdown marker.
        let copy = TempDir(); defer { copy.remove() }
        try? FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: tmp.path, toPath: copy.path)
        let copiedPartition = copy.path + "/" + (log.directory as NSString).lastPathComponent
        let first = log.segments[0]
        // Make the copy's rolled segment untrimmed for certain: pad it back to segment.bytes.
        let rolled = copiedPartition + "/" + (first.logPath as NSString).lastPathComponent
        let handle = try #require(FileHandle(forWritingAtPath: rolled))
        try handle.truncate(atOffset: UInt64(16 << 10))
        try handle.close()
        try dir.close()

        let reopened = try LogDirectory.open(path: copy.path, options: testOptions())
        defer { try? reopened.close() }
        let recovered = try reopened.partition("t", 0)
        #expect(recovered.logEndOffset == Int64(seq))
        let records = try readAll(recovered)
        #expect(records.count == seq)
        #expect(records.enumerated().allSatisfy { i, r in r.offset == Int64(i) && sequence(of: r) == i })
        #expect(fileSize(recovered.segments[0].logPath) == recovered.segments[0].sizeInBytes)
    }

    @Test func readStartsAtTheBatchContainingTheOffset() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig())
        let log = try dir.partition("t", 0)
        for i in 0..<50 { try await log.append(makeBatch(firstSeq: i * 10, count: 10), acks: .leader) }
        for offset in [0, 1, 9, 10, 15, 255, 499] as [Int64] {
            let r = try log.read(from: offset, maxBytes: 1)
            #expect(r.batches.count == 1, "at least one batch even above maxBytes")
            let b = try #require(r.batches.first)
            #expect(b.baseOffset <= offset && offset <= b.lastOffset)
            #expect(r.nextOffset == b.lastOffset + 1)
        }
        // maxBytes bounds the answer; whole batches only.
        let r = try log.read(from: 0, maxBytes: 3000)
        #expect(r.byteCount <= 3000 && r.batches.count >= 1)
        // At the high-water mark: empty. Past it or below the start: out of range.
        #expect(try log.read(from: 500, maxBytes: 100).batches.isEmpty)
        #expect(throws: LogError.self) { try log.read(from: 501, maxBytes: 100) }
        do throws(LogError) {
            _ = try log.read(from: -1, maxBytes: 100)
            Issue.record("expected offsetOutOfRange")
        } catch {
            #expect(error.code == .offsetOutOfRange)
        }
        // maxOffset bounds the read (read_committed uses the last stable offset).
        let bounded = try log.read(from: 0, maxBytes: 1 << 20, maxOffset: 100)
        #expect(bounded.batches.last!.lastOffset == 99)
        try dir.close()
    }

    @Test func multipleBatchesInOneAppendGetConsecutiveOffsets() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        let bytes = makeBatch(firstSeq: 0, count: 3) + makeBatch(firstSeq: 3, count: 4) + makeBatch(firstSeq: 7, count: 1)
        let r = try await log.append(bytes, acks: .leader)
        #expect(r.baseOffset == 0 && r.lastOffset == 7 && r.batchCount == 3 && r.recordCount == 8)
        let records = try readAll(log)
        #expect(records.map(\.offset) == Array(0...7))
        #expect(records.compactMap(sequence(of:)) == Array(0...7))
        try dir.close()
    }

    @Test func invalidAppendsAreRejected() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 1 << 20, maxMessageBytes: 2000))
        let log = try dir.partition("t", 0)
        var bad = makeBatch(firstSeq: 0, count: 2)
        bad[bad.count - 1] ^= 0xFF
        do throws(LogError) { try await log.append(bad); Issue.record("accepted a bad CRC") } catch { #expect(error.code == .corruptRecord) }
        do throws(LogError) { try await log.append(Array(makeBatch(firstSeq: 0, count: 2).dropLast())) } catch { #expect(error.code == .corruptRecord) }
        do throws(LogError) { try await log.append(makeBatch(firstSeq: 0, count: 100)) } catch { #expect(error.code == .recordBatchTooLarge) }
        #expect(log.highWatermark == 0)
        try dir.close()
    }

    @Test func raisingSegmentBytesLetsALargerBatchIntoAnEmptyActiveSegment() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 4096, maxMessageBytes: 1 << 20))
        let log = try dir.partition("t", 0)
        let big = makeBatch(firstSeq: 0, count: 200)
        #expect(big.count > 4096)
        do throws(LogError) { try await log.append(big); Issue.record("accepted") } catch { #expect(error.code == .recordBatchTooLarge) }
        try dir.alterTopicConfig("t", LogConfig(segmentBytes: 1 << 20, maxMessageBytes: 1 << 20))
        try await log.append(big)
        #expect(log.segments.count == 1)
        #expect(try readAll(log).count == 200)
        try dir.close()
    }

    @Test func compressedBatchesRoundTrip() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig())
        let log = try dir.partition("t", 0)
        for (i, codec) in [CompressionCodec.gzip, .snappy, .lz4, .zstd].enumerated() {
            try await log.append(makeBatch(firstSeq: i * 20, count: 20, codec: codec))
        }
        let records = try readAll(log)
        #expect(records.count == 80)
        #expect(records.compactMap(sequence(of:)) == Array(0..<80))
        try dir.close()
    }

    /// `seal()` turns the segment inactive before it writes the last time-index entry; a
    /// background flush that trimmed it in between left that write past the end of the trimmed
    /// file (SIGBUS). Only a finished seal makes a segment trimmable, and a trim runs once.
    @Test func aSegmentIsNotTrimmedUntilItsSealHasFinished() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        var config = smallConfig(segmentBytes: 64 << 10)
        config.preallocate = true
        let s = try _Segment.create(directory: tmp.path, baseOffset: 0, config: config)
        let batch = makeBatch(firstSeq: 0, count: 3)
        _ = try batch._withBytes { (b) throws(LogError) in try s.append(b, firstOffset: 0, indexIntervalBytes: config.indexIntervalBytes) }
        // The moment inside seal() after the segment stopped being active.
        s._active.store(false, ordering: .releasing)
        #expect(!s.needsTrim)
        try s.trimFiles()
        #expect(fileSize(tmp.path + "/00000000000000000000.log") == 64 << 10)
        s._active.store(true, ordering: .releasing)
        try s.seal(trim: false)
        #expect(s.needsTrim)
        try s.trimFiles()
        try s.trimFiles()
        #expect(!s.needsTrim)
        #expect(fileSize(tmp.path + "/00000000000000000000.log") == batch.count)
        #expect(fileSize(tmp.path + "/00000000000000000000.timeindex") == 12)
    }

    @Test func segmentMsRollsAnOldSegment() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 1 << 20, segmentMs: 1))
        let log = try dir.partition("t", 0)
        try await log.append(makeBatch(firstSeq: 0, count: 1))
        try await Task.sleep(for: .milliseconds(5))
        try await log.append(makeBatch(firstSeq: 1, count: 1))
        #expect(log.segments.count == 2)
        #expect(log.segments.last!.baseOffset == 1)
        try dir.close()
    }

    @Test func reopenAfterCleanCloseContinuesOffsets() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        do {
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            try dir.createTopic("t", partitions: 3, config: smallConfig())
            for i in 0..<30 { try await dir.partition("t", 1).append(makeBatch(firstSeq: i * 5, count: 5)) }
            try dir.close()
        }
        #expect(FileManager.default.fileExists(atPath: tmp.path + "/.kafka_cleanshutdown"))
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(dir.recovery.wasCleanShutdown)
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/.kafka_cleanshutdown"))
        #expect(try dir.partitionCount("t") == 3)
        #expect(try dir.topicConfig("t") == smallConfig())
        let log = try dir.partition("t", 1)
        #expect(log.highWatermark == 150)
        try await log.append(makeBatch(firstSeq: 150, count: 5))
        let records = try readAll(log)
        #expect(records.compactMap(sequence(of:)) == Array(0..<155))
        #expect(records.map(\.offset) == (0..<155).map(Int64.init))
        try dir.close()
    }

    @Test func topicNamesAndPartitionsAreValidated() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        for bad in ["", ".", "..", "a/b", "with space", String(repeating: "x", count: 250)] {
            do throws(LogError) {
                try dir.createTopic(bad, partitions: 1)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.code == .invalidTopic)
            }
        }
        do throws(LogError) { try dir.createTopic("ok", partitions: 0) } catch { #expect(error.code == .invalidTopic) }
        try dir.createTopic("ok.name_1-x", partitions: 1)
        do throws(LogError) { try dir.createTopic("ok.name_1-x", partitions: 1) } catch { #expect(error.code == .topicAlreadyExists) }
        do throws(LogError) { _ = try dir.partition("ok.name_1-x", 1) } catch { #expect(error.code == .unknownTopicOrPartition) }
        try dir.deleteTopic("ok.name_1-x")
        #expect(dir.topicNames.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/ok.name_1-x-0"))
        try dir.close()
    }
}
