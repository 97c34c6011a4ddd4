import Foundation
import Synchronization
import Testing
import WeirFormat
@testable import WeirLog

/// The group commit across partitions (`_GroupSync`) and the directory close that syncs many
/// partitions with one `syncfs`.
@Suite struct LogGroupSyncTests {
    /// 32 partitions, 4 acks=all appenders each, all at once: every append is acknowledged only
    /// once its partition's recovery point covers it, and every record reads back.
    @Test func acksAllAcrossManyPartitionsIsAcknowledgedDurably() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        let partitions = 32
        try dir.createTopic("t", partitions: partitions, config: LogConfig(segmentBytes: 1 << 20))
        let logs = try (0..<partitions).map { try dir.partition("t", Int32($0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<partitions {
                for w in 0..<4 {
                    group.addTask {
                        for i in 0..<5 {
                            let r = try await logs[p].append(makeBatch(firstSeq: (w * 5 + i) * 3, count: 3), acks: .all)
                            #expect(logs[p].recoveryPoint > r.lastOffset)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for log in logs {
            #expect(log.highWatermark == 60)
            #expect(try readAll(log).count == 60)
        }
        try dir.close()
    }

    /// The grouped path itself (every request grouped): 24 threads sync 24 files at once; every
    /// call returns without an error, in rounds (a leader serves the requests queued behind it),
    /// and the rounds of two or more files were one `syncfs`.
    @Test func groupedRequestsAreServedInRounds() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let files = try (0..<24).map { i in try _MappedFile(path: tmp.path + "/f\(i)", create: true, openForWriting: true, mapWritable: false,
                                                               reserve: 1 << 16, allocate: 0, sparse: false, keepDescriptor: true) }
        let before = _GroupSync.shared.counts
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 24 * 8) { i in
            let file = files[i % 24]
            do {
                let bytes = [UInt8](repeating: 1, count: 512)
                let written = bytes.withUnsafeBytes { pwrite(file.fd, $0.baseAddress, 512, off_t((i / 24) * 512)) }
                #expect(written == 512)
                try _GroupSync.shared.fdatasync(file, threshold: 0)
            } catch { failures.withLock { $0 += 1 } }
        }
        let after = _GroupSync.shared.counts
        #expect(failures.withLock { $0 } == 0)
        #expect(after.rounds > before.rounds)
        #expect(after.rounds - before.rounds <= 24 * 8)
    }

    /// A directory of more partitions than `syncfsThreshold` closes with one `syncfs`: the close
    /// is clean, each partition's recovery point reaches its end, and the reopened directory has
    /// every record (including those of segments rolled just before the close).
    @Test func closingManyPartitionsWithOneSyncIsCleanAndComplete() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let partitions = _GroupSync.syncfsThreshold * 3
        do {
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            try dir.createTopic("t", partitions: partitions, config: smallConfig(segmentBytes: 4096))
            for p in 0..<partitions {
                let log = try dir.partition("t", Int32(p))
                for i in 0..<(p % 5 + 1) * 4 { try await log.append(makeBatch(firstSeq: i * 4, count: 4), acks: .leader) }
            }
            let logs = try (0..<partitions).map { try dir.partition("t", Int32($0)) }
            try dir.close()
            for log in logs { #expect(log.recoveryPoint == log.highWatermark) }
        }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(dir.recovery.wasCleanShutdown)
        for p in 0..<partitions {
            let log = try dir.partition("t", Int32(p))
            let records = try readAll(log)
            #expect(records.count == (p % 5 + 1) * 16)
            #expect(records.map { sequence(of: $0) } == (0..<records.count).map { Optional($0) })
        }
        try dir.close()
    }
}
