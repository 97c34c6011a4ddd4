import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// Writes `batches` batches of 5 records into `t-0` with 8 KiB segments and closes the
/// directory cleanly (the clean-shutdown marker is left). Returns the segment files' paths.
private func writeAndClose(_ path: String, batches: Int = 200) async throws -> [String] {
    let dir = try LogDirectory.open(path: path, options: testOptions())
    try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 8 << 10))
    let log = try dir.partition("t", 0)
    for i in 0..<batches { try await log.append(makeBatch(firstSeq: i * 5, count: 5)) }
    try dir.close()
    return segmentFiles(path + "/t-0").map { path + "/t-0/" + $0 }
}

/// The sequence numbers read from the log-start offset until a read stops short of the
/// high-water mark (at a hole).
func readUpToHole(_ log: PartitionLog) throws -> [Int] {
    var next = log.logStartOffset
    var seen: [Int] = []
    while next < log.highWatermark, log.damage.first(where: { $0.offsets.contains(next) }) == nil {
        let r = try log.read(from: next, maxBytes: 1 << 16)
        if r.batches.isEmpty { break }
        for b in r.batches {
            seen += try b.withUnsafeBytes { try RecordBatchDecoder().decode($0).records }.filter { $0.offset >= next }.compactMap(sequence(of:))
        }
        next = r.nextOffset
    }
    return seen
}

private func truncateFile(_ path: String, to size: Int) {
    #expect(truncate(path, off_t(size)) == 0)
}

@Suite struct LogDamageTests {
    /// Issue 16, defect 1: a damaged active segment with the clean-shutdown marker present.
    @Test func aCleanShutdownMarkerDoesNotHideATruncatedActiveSegment() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path)
        #expect(files.count >= 3)
        #expect(FileManager.default.fileExists(atPath: tmp.path + "/" + LogDirectory.cleanShutdownFileName))
        let active = files.last!
        truncateFile(active, to: fileSize(active) - 50)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(dir.recovery.wasCleanShutdown)
        let report = try #require(dir.recovery.partitions.first)
        #expect(report.bytesTruncated > 0)
        #expect(report.messages.contains { $0.contains("although the shutdown was clean") })
        let log = try dir.partition("t", 0)
        // The torn last batch (5 records) is cut, nothing else; its offsets were flushed, so
        // they are a hole (LogTailHoleTests), and appends continue after it.
        #expect(log.damage.map(\.offsets) == [995..<1000])
        #expect(try readUpToHole(log) == Array(0..<995))
        let r = try await log.append(makeBatch(firstSeq: 1000, count: 5), acks: .all)
        #expect(r.baseOffset == 1000)
        #expect(try readAll(log, from: 1000).compactMap(sequence(of:)) == Array(1000..<1005))
        try dir.close()
        #expect(!(try LogInspector.verify(logDirectory: tmp.path).isValid), "the hole stays reported")
    }

    /// Issue 16, defect 2: an emptied closed segment is a hole, reported and never skipped.
    @Test func anEmptiedClosedSegmentIsAHoleThatReadersAndVerifySee() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path)
        let secondBase = try #require(LogInspector.baseOffset(ofSegmentFile: files[1]))
        truncateFile(files[0], to: 0)
        for round in 0..<2 {
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            let log = try dir.partition("t", 0)
            #expect(log.damage.map(\.offsets) == [0..<secondBase], "round \(round)")
            #expect(throws: LogError.self) { try log.read(from: 0, maxBytes: 1 << 16) }
            do { _ = try log.read(from: 3, maxBytes: 1 << 16) } catch {
                #expect(error.code == .corruptLog)
                #expect(error.message.contains("seek to \(secondBase)"))
            }
            // Offsets after the hole read normally.
            #expect(try readAll(log, from: secondBase).first.flatMap(sequence(of:)) == Int(secondBase))
            try dir.close()
            let verify = try LogInspector.verify(logDirectory: tmp.path)
            #expect(verify.problems.contains { $0.contains("no batches") }, "round \(round): \(verify.problems)")
        }
        // Accepting the loss: the log-start offset moves past the hole.
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir.partition("t", 0)
        _ = try log.deleteRecords(before: secondBase)
        #expect(log.damage.isEmpty)
        try dir.close()
        let reopened = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try reopened.partition("t", 0).damage.isEmpty)
        try reopened.close()
    }

    /// A missing first segment after a clean shutdown: the log-start checkpoint shows the loss.
    @Test func aDeletedFirstSegmentIsAHole() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path)
        let secondBase = try #require(LogInspector.baseOffset(ofSegmentFile: files[1]))
        for suffix in [".log", ".index", ".timeindex"] {
            try FileManager.default.removeItem(atPath: String(files[0].dropLast(4)) + suffix)
        }
        for _ in 0..<2 {
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            let log = try dir.partition("t", 0)
            #expect(log.damage.map(\.offsets) == [0..<secondBase])
            #expect(throws: LogError.self) { try log.read(from: 0, maxBytes: 1 << 16) }
            try dir.close()
            #expect(!(try LogInspector.verify(logDirectory: tmp.path).isValid))
        }
    }

    /// A closed segment cut short: recovery keeps the later segments (their records are intact)
    /// and the lost offsets become a hole; a reader stops at it, then gets the error.
    @Test func aTruncatedClosedSegmentKeepsTheLaterSegments() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try await writeAndClose(tmp.path)
        let secondBase = try #require(LogInspector.baseOffset(ofSegmentFile: files[2]))
        truncateFile(files[1], to: fileSize(files[1]) - 30)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let log = try dir.partition("t", 0)
        #expect(segmentFiles(tmp.path + "/t-0").count == files.count)
        #expect(log.highWatermark == 1000)
        let hole = try #require(log.damage.first)
        #expect(hole.offsets == (secondBase - 5)..<secondBase)
        #expect(try readUpToHole(log) == Array(0..<Int(hole.offsets.lowerBound)))
        let next = hole.offsets.lowerBound
        do { _ = try log.read(from: next, maxBytes: 1 << 16); Issue.record("a read in the hole must throw") } catch {
            #expect(error.code == .corruptLog)
        }
        #expect(try readAll(log, from: secondBase).compactMap(sequence(of:)) == Array(Int(secondBase)..<1000))
        try dir.close()
    }

    /// Issue 16, defect 3: another process shrinking a mapped segment is a typed error, not SIGBUS.
    @Test func aSegmentShrunkWhileMappedIsATypedErrorNotASignal() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 64 << 10))
        let log = try dir.partition("t", 0)
        for i in 0..<400 { try await log.append(makeBatch(firstSeq: i * 5, count: 5)) }
        try log.roll()
        try await log.flush()
        let first = tmp.path + "/t-0/" + segmentFiles(tmp.path + "/t-0")[0]
        // As `truncate -s 0` from another process would (the mapping stays in place).
        truncateFile(first, to: 0)
        do {
            _ = try log.read(from: 0, maxBytes: 1 << 20)
            Issue.record("reading a shrunk segment must throw")
        } catch {
            #expect(error.code == .corruptLog)
            #expect(error.message.contains("truncated by another process"))
        }
        // The tools read the file as it is now (empty): no signal either.
        let scan = try LogInspector.scanLogFile(first)
        #expect(scan.batchCount == 0)
        try? dir.close()
    }

    /// The SIGBUS guard and the tools: a file shrunk while `scanLogFile` holds it mapped.
    @Test func theGuardTurnsAFaultIntoZerosAndAFlag() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let path = tmp.path + "/00000000000000000000.log"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 1 << 16)))
        let file = try _MappedFile(path: path, create: false, writable: false)
        #expect(!file.isDamaged)
        truncateFile(path, to: 4096)
        let p = UnsafeRawPointer(file.base!)
        #expect(p.load(fromByteOffset: 100, as: UInt8.self) == 7)
        #expect(p.load(fromByteOffset: 40_000, as: UInt8.self) == 0, "past the new end: a zero page, not SIGBUS")
        #expect(file.isDamaged)
    }

    /// Issue 16, defect 5: a topic whose creation fails on a full disk leaves nothing behind.
    @Test func aFailedCreateLeavesNoHalfMadeTopic() async throws {
        let ran = try await withTinyFileSystem { path in
            let dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
            #expect(throws: LogError.self) {
                var config = LogConfig(segmentBytes: 768 << 10, segmentIndexBytes: 4096)
                config.preallocate = true  // Kafka's `preallocate`: the create reserves each segment
                try dir.createTopic("big", partitions: 2, config: config)
            }
            #expect(dir.topicNames.isEmpty)
            let left = try FileManager.default.contentsOfDirectory(atPath: path + "/logs").filter { !$0.hasPrefix(".") && !$0.contains("checkpoint") }
            #expect(left.isEmpty, "\(left)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/logs/.topics").isEmpty)
            // The directory still works: another topic, a reopen.
            try dir.createTopic("small", partitions: 1, config: LogConfig(segmentBytes: 64 << 10, segmentIndexBytes: 4096))
            try await dir.partition("small", 0).append(makeBatch(firstSeq: 0, count: 5))
            try dir.close()
            let again = try LogDirectory.open(path: path + "/logs", options: testOptions())
            #expect(again.topicNames == ["small"])
            try again.close()
        }
        if !ran { print("LogDamageTests: the full-disk case skipped (cannot mount a tmpfs here)") }
    }

    /// Issue 16, defect 7: the topic-name limit comes from Weir's own file names.
    @Test func topicNamesFitWeirsFileNames() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let longest = String(repeating: "a", count: LogDirectory.maxTopicNameLength)
        try dir.createTopic(longest, partitions: 1, config: smallConfig())
        try dir.alterTopicConfig(longest, smallConfig(segmentBytes: 32 << 10))
        #expect(throws: LogError.self) { try dir.createTopic(longest + "a", partitions: 1) }
        do { try LogDirectory.validateTopicName("bø") } catch {
            #expect(error.message.contains("'ø'"))
            #expect(!error.message.contains("Ã"))
        }
        try dir.close()
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(again.topicNames == [longest])
        try again.close()
    }
}
