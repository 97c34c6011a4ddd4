import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// Writes `batches` batches of 5 records into topic `t` partition 0 and abandons the directory
/// without closing it (as a crashed process would: the data is in the shared mappings, no
/// clean-shutdown marker, the active segment still preallocated). Returns the batch sizes.
func writeAndAbandon(_ path: String, batches: Int, config: LogConfig = smallConfig(segmentBytes: 64 << 10),
                     flushAndCheckpoint: Bool = false) async throws -> [Int] {
    let dir = try LogDirectory.open(path: path, options: testOptions())
    if (try? dir.partitionCount("t")) == nil { try dir.createTopic("t", partitions: 1, config: config) }
    let log = try dir.partition("t", 0)
    var sizes: [Int] = []
    let first = Int(log.highWatermark)
    for i in 0..<batches {
        let b = makeBatch(firstSeq: first + i * 5, count: 5)
        sizes.append(b.count)
        try await log.append(b)
    }
    if flushAndCheckpoint {
        try await dir.flush()
    }
    // A killed process runs nothing more: wait for the background flush that the rolls
    // scheduled (it trims the rolled segments' files), so that it cannot run after the test has
    // damaged and recovered them (a late trim extended a segment that recovery had emptied back
    // to its old size with zeros: damageInAnEarlierSegmentKeepsTheLaterOnesAndLeavesAHole failed
    // about 1 run in 8 under load).
    log._durability.queue.sync {}
    // A crash releases the lock with the process. Here the directory object may outlive this
    // scope for a moment (deinit timing under load), so release the lock explicitly, as the
    // kernel would, without a clean close.
    dir._lock.release()
    return sizes
}

func activeLogPath(_ path: String) -> String {
    let dir = path + "/t-0"
    return dir + "/" + segmentFiles(dir).last!
}

func modify(_ file: String, _ body: (inout [UInt8]) -> Void) throws {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    body(&bytes)
    try Data(bytes).write(to: URL(fileURLWithPath: file))
}

@Suite struct LogRecoveryTests {
    @Test func uncleanShutdownWithAZeroedPreallocatedTailLosesNothing() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        var config = smallConfig(segmentBytes: 64 << 10)
        config.preallocate = true
        _ = try await writeAndAbandon(tmp.path, batches: 40, config: config)
        #expect(fileSize(activeLogPath(tmp.path)) == 64 << 10, "still preallocated")
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(!dir.recovery.wasCleanShutdown)
        let report = try #require(dir.recovery.partitions.first)
        #expect(report.segmentsRecovered >= 1)
        #expect(report.bytesTruncated == 0)
        #expect(report.segmentsDeleted.isEmpty)
        let log = try dir.partition("t", 0)
        #expect(log.highWatermark == 200)
        #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<200))
        try await log.append(makeBatch(firstSeq: 200, count: 5))
        #expect(try readAll(log).count == 205)
        try dir.close()
    }

    @Test func tornTailIsTruncatedAtTheFirstInvalidByte() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let sizes = try await writeAndAbandon(tmp.path, batches: 20)
        let valid = sizes.dropLast().reduce(0, +)
        // The file ends 30 bytes into the last batch.
        let fd = open(activeLogPath(tmp.path), O_WRONLY)
        ftruncate(fd, off_t(valid + 30))
        close(fd)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let report = dir.recovery.partitions[0]
        #expect(report.bytesTruncated == 30)
        #expect(report.messages.contains { $0.contains("truncated 30 bytes at position \(valid)") })
        let log = try dir.partition("t", 0)
        #expect(log.highWatermark == 95)
        #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<95))
        // Offsets continue after the truncation point.
        let r = try await log.append(makeBatch(firstSeq: 95, count: 5))
        #expect(r.baseOffset == 95)
        try dir.close()
        // And the repaired log reopens cleanly.
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(again.recovery.wasCleanShutdown)
        #expect(try readAll(again.partition("t", 0)).compactMap(sequence(of:)) == Array(0..<100))
        try again.close()
    }

    @Test func flippedBitInTheLastBatchIsCaughtByTheCRC() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let sizes = try await writeAndAbandon(tmp.path, batches: 20)
        let lastStart = sizes.dropLast().reduce(0, +)
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
        try modify(activeLogPath(tmp.path)) { $0[lastStart + 70] ^= 0x10 }
        let broken = try LogInspector.verify(logDirectory: tmp.path)
        #expect(!broken.isValid)
        #expect(broken.problems.contains { $0.contains("CRC-32C mismatch in the batch at position \(lastStart)") })
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let report = dir.recovery.partitions[0]
        #expect(report.bytesTruncated > sizes.last! - 8 && report.bytesTruncated <= sizes.last!, "the last batch, up to its last non-zero byte")
        #expect(report.messages.contains { $0.contains("CRC") })
        #expect(try dir.partition("t", 0).highWatermark == 95)
        try dir.close()
    }

    @Test func partlyZeroedLastBatchIsTruncated() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let sizes = try await writeAndAbandon(tmp.path, batches: 10)
        let total = sizes.reduce(0, +)
        // The last 100 bytes of the last batch never reached the disk.
        try modify(activeLogPath(tmp.path)) { b in for i in (total - 100)..<total { b[i] = 0 } }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(dir.recovery.partitions[0].bytesTruncated == sizes.last! - 100)
        #expect(try dir.partition("t", 0).highWatermark == 45)
        try dir.close()
    }

    @Test func damageInAnEarlierSegmentKeepsTheLaterOnesAndLeavesAHole() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        _ = try await writeAndAbandon(tmp.path, batches: 200, config: smallConfig(segmentBytes: 8 << 10))
        let files = segmentFiles(tmp.path + "/t-0")
        #expect(files.count >= 4)
        try modify(tmp.path + "/t-0/" + files[1]) { $0[200] ^= 0xFF }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let report = dir.recovery.partitions[0]
        #expect(report.segmentsDeleted.isEmpty, "the later segments' records are intact and kept")
        #expect(report.bytesTruncated > 0)
        #expect(segmentFiles(tmp.path + "/t-0").count == files.count)
        let log = try dir.partition("t", 0)
        let hole = try #require(log.damage.first)
        #expect(report.holes == log.damage)
        #expect(hole.offsets.upperBound == LogInspector.baseOffset(ofSegmentFile: files[2]))
        // Everything before the hole and everything after it is readable, in order.
        #expect(try readUpToHole(log) == Array(0..<Int(hole.offsets.lowerBound)))
        let after = try readAll(log, from: hole.offsets.upperBound)
        #expect(after.compactMap(sequence(of:)) == Array(Int(hole.offsets.upperBound)..<1000))
        #expect(log.highWatermark == 1000)
        try dir.close()
    }

    @Test func recoveryStartsAtTheRecoveryPoint() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        _ = try await writeAndAbandon(tmp.path, batches: 200, config: smallConfig(segmentBytes: 8 << 10), flushAndCheckpoint: true)
        _ = try await writeAndAbandon(tmp.path, batches: 3)
        let text = try String(contentsOfFile: tmp.path + "/recovery-point-offset-checkpoint", encoding: .utf8)
        #expect(text.hasPrefix("0\n1\nt 0 1000\n"))
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let report = dir.recovery.partitions[0]
        #expect(report.segmentsRecovered == 1, "only the segment holding the recovery point and later")
        #expect(try dir.partition("t", 0).highWatermark == 1015)
        try dir.close()
    }

    @Test func missingOrCorruptIndexIsRebuiltAfterACleanShutdown() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        _ = try await writeAndAbandon(tmp.path, batches: 200, config: smallConfig(segmentBytes: 8 << 10))
        try LogDirectory.open(path: tmp.path, options: testOptions()).close()
        let part = tmp.path + "/t-0/"
        let files = segmentFiles(part)
        let index1 = part + files[1].replacingOccurrences(of: ".log", with: ".index")
        let time2 = part + files[2].replacingOccurrences(of: ".log", with: ".timeindex")
        let index3 = part + files[3].replacingOccurrences(of: ".log", with: ".index")
        let original = try Data(contentsOf: URL(fileURLWithPath: index1))
        #expect(original.count > 8)
        try FileManager.default.removeItem(atPath: index1)
        try FileManager.default.removeItem(atPath: time2)
        try modify(index3) { b in for i in 0..<b.count { b[i] = 0xAB } }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(dir.recovery.wasCleanShutdown)
        #expect(dir.recovery.partitions[0].indexesRebuilt == 3)
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
        #expect(try Data(contentsOf: URL(fileURLWithPath: index1)) == original)
        let log = try dir.partition("t", 0)
        #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<1000))
        #expect(log.offset(forTimestamp: 1_700_000_000_003)?.offset == 3)
        try dir.close()
    }
}
