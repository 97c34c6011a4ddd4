import Foundation
import Testing
import WeirFormat
@testable import WeirLog
import WeirTestSupport

/// Runs `body` on a 1 MiB tmpfs mounted for the test; skipped (returns false) when mounting is
/// not permitted (not root, or no CAP_SYS_ADMIN).
func withTinyFileSystem(_ body: (String) async throws -> Void) async throws -> Bool {
    try await withTmpfs("1m", body)
}

/// Fills what is left of the file system holding `path` with a file; gives the file's path
/// (remove it to free the space).
func fillFileSystem(_ path: String) throws -> String {
    let filler = path + "/filler"
    _ = FileManager.default.createFile(atPath: filler, contents: nil)
    let handle = try #require(FileHandle(forWritingAtPath: filler))
    let chunk = Data(repeating: 1, count: 4096)
    while (try? handle.write(contentsOf: chunk)) != nil {}
    try? handle.close()
    return filler
}

@Suite struct LogFullDiskTests {
    @Test func aFullDiskIsATypedRetriableErrorNotASignal() async throws {
        let ran = try await withTinyFileSystem { path in
            let dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
            try dir.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 256 << 10, segmentIndexBytes: 4096))
            let log = try dir.partition("t", 0)
            var failure: LogError?
            var appended = 0
            for i in 0..<2000 {
                do throws(LogError) {
                    try await log.append(makeBatch(firstSeq: i * 10, count: 10, valueSize: 200))
                    appended += 10
                } catch {
                    failure = error
                    break
                }
            }
            let e = try #require(failure, "a 1 MiB file system must fill up")
            #expect(e.code == .noSpace)
            #expect(e.isRetriable)
            // Without preallocation the append's own write hits the full disk.
            #expect(e.message.contains("fallocate") || e.message.contains("pwrite"))
            // Everything acknowledged before the failure is readable.
            #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<appended))
            #expect(log.highWatermark == Int64(appended))
            // After freeing space (retention), appends work again.
            _ = try log.deleteRecords(before: log.highWatermark)
            try await log.append(makeBatch(firstSeq: appended, count: 10, valueSize: 200))
            try? dir.close()
        }
        if !ran { print("LogFullDiskTests: skipped (cannot mount a tmpfs here)") }
    }

    /// A full disk during a compaction rewrite: a typed `noSpace`, the segment left as it was
    /// (every record readable, no partial `.cleaned` file holding space), and compaction works
    /// once space is freed.
    @Test func aFullDiskDuringCompactionKeepsTheOriginalSegment() async throws {
        let ran = try await withTinyFileSystem { path in
            let dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
            try dir.createTopic("c", partitions: 1, config: LogConfig(segmentBytes: 96 << 10, segmentIndexBytes: 4096, cleanupPolicy: .compact))
            let log = try dir.partition("c", 0)
            for i in 0..<60 { try await log.append(makeBatch(firstSeq: i * 10, count: 10, valueSize: 200, keys: 50)) }
            try log.roll()
            try await log.flush()
            let records = try readAll(log)
            let before = records.map(\.offset)
            var latest: [[UInt8]: Int64] = [:]
            for r in records { if let k = r.key { latest[k] = r.offset } }
            let filler = try fillFileSystem(path)
            do {
                _ = try log.compact()
                Issue.record("compaction on a full disk must fail")
            } catch {
                #expect((error as? LogError)?.code == .noSpace, "\(error)")
            }
            // Segments compacted before the disk filled are compacted; none lost a latest value.
            let after = Set(try readAll(log).map(\.offset))
            #expect(after.isSubset(of: Set(before)))
            #expect(latest.values.allSatisfy { after.contains($0) })
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: path + "/logs/c-0").filter { $0.hasSuffix(".cleaned") }
            #expect(leftovers.isEmpty)
            try FileManager.default.removeItem(atPath: filler)
            _ = try log.compact()
            #expect(Set(try readAll(log).map(\.offset)) == Set(latest.values))
            try dir.close()
        }
        if !ran { print("LogFullDiskTests: skipped (cannot mount a tmpfs here)") }
    }

    /// A directory on a full disk still opens (its active segment cannot be preallocated again):
    /// readable, appends fail with `noSpace`, and everything works once space is freed.
    @Test func aFullDiskDirectoryStillOpensAndReads() async throws {
        let ran = try await withTinyFileSystem { path in
            let config = LogConfig(segmentBytes: 128 << 10, segmentIndexBytes: 64 << 10)
            var dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
            try dir.createTopic("t", partitions: 1, config: config)
            for i in 0..<20 { try await dir.partition("t", 0).append(makeBatch(firstSeq: i * 10, count: 10, valueSize: 200)) }
            try dir.close()
            let filler = try fillFileSystem(path)
            for _ in 0..<2 {
                dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
                let log = try dir.partition("t", 0)
                #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<200))
                do {
                    try await log.append(makeBatch(firstSeq: 200, count: 10, valueSize: 200))
                    Issue.record("an append on a full disk must fail")
                } catch {
                    #expect((error as? LogError)?.code == .noSpace, "\(error)")
                }
                // Closing may fail to write the checkpoints or the marker: the next open recovers.
                try? dir.close()
            }
            try FileManager.default.removeItem(atPath: filler)
            dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
            let log = try dir.partition("t", 0)
            try await log.append(makeBatch(firstSeq: 200, count: 10, valueSize: 200))
            #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<210))
            try dir.close()
        }
        if !ran { print("LogFullDiskTests: skipped (cannot mount a tmpfs here)") }
    }
}
