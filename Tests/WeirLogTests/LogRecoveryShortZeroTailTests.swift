import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// Found by scripts/crash-campaign (compact mode, acks=1): a writer killed after a roll but
/// before the closed segment was trimmed leaves that segment at `segment.bytes` with a zeroed
/// tail. When its last batch ends less than 12 bytes (a batch's length prefix) before the end,
/// recovery took the tail for a torn batch, truncated "1 byte" and deleted every later
/// segment: acknowledged records lost.
@Suite struct LogRecoveryShortZeroTailTests {
    @Test(arguments: [1, 5, 11])
    func shortZeroedTailOfAClosedSegmentIsNotDamage(tail: Int) throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let partition = tmp.path + "/t-0"
        try FileManager.default.createDirectory(atPath: partition, withIntermediateDirectories: true)
        let first = makeBatch(firstSeq: 0, count: 3) + [UInt8](repeating: 0, count: tail)
        var second = makeBatch(firstSeq: 3, count: 2)
        second[7] = 3  // base offset 3 (big-endian int64; the CRC does not cover it)
        try Data(first).write(to: URL(fileURLWithPath: partition + "/00000000000000000000.log"))
        try Data(second).write(to: URL(fileURLWithPath: partition + "/00000000000000000003.log"))

        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        let log = try dir.partition("t", 0)
        #expect(dir.recovery.bytesTruncated == 0)
        #expect(log.highWatermark == 5)
        #expect(try readAll(log).map(\.offset) == [0, 1, 2, 3, 4])
    }

    /// Non-zero bytes in a short tail are still damage.
    @Test func shortTailWithANonZeroByteIsTruncated() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let partition = tmp.path + "/t-0"
        try FileManager.default.createDirectory(atPath: partition, withIntermediateDirectories: true)
        let bytes = makeBatch(firstSeq: 0, count: 3) + [0, 0, 7, 0, 0]
        try Data(bytes).write(to: URL(fileURLWithPath: partition + "/00000000000000000000.log"))

        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        #expect(dir.recovery.bytesTruncated > 0)
        #expect(try dir.partition("t", 0).highWatermark == 3)
    }
}
