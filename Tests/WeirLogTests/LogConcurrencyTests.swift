import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// One writer, several concurrent readers. `scripts/test` runs this suite under TSan.
@Suite struct LogConcurrencyTests {
    /// Reads from `start` until `count` records were seen, waiting for the high-water mark
    /// between reads; checks that offsets are consecutive and every value is intact. When
    /// `tolerateRetention`, a read below the log-start offset jumps forward.
    static func reader(_ log: PartitionLog, until end: Int64, tolerateRetention: Bool = false) async throws -> Int {
        let decoder = RecordBatchDecoder()
        var next: Int64 = 0
        var seen = 0
        while next < end {
            let attempt: Result<LogReadResult, LogError> = Result { () throws(LogError) in try log.read(from: next, maxBytes: 8 << 10) }
            guard case .success(let result) = attempt else {
                if tolerateRetention { next = max(next, log.logStartOffset); continue }
                _ = try attempt.get()
                return seen
            }
            if result.batches.isEmpty {
                _ = try await log.waitForHighWatermark(above: next, timeout: .seconds(10))
                continue
            }
            for b in result.batches {
                let records = try b.withUnsafeBytes { try decoder.decode($0).records }
                for r in records where r.offset >= next {
                    if !tolerateRetention { #expect(r.offset == next) }
                    #expect(sequence(of: r) == Int(r.offset))
                    #expect(r.value == testValue(Int(r.offset)))
                    next = r.offset + 1
                    seen += 1
                }
            }
        }
        return seen
    }

    @Test func oneWriterSeveralReaders() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 16 << 10))
        let log = try dir.partition("t", 0)
        let batches = 400, perBatch = 5
        let end = Int64(batches * perBatch)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { try await Self.reader(log, until: end) }
            }
            group.addTask {
                for i in 0..<batches {
                    try await log.append(makeBatch(firstSeq: i * perBatch, count: perBatch), acks: i % 50 == 0 ? .all : .leader)
                    if i % 16 == 0 { await Task.yield() }
                }
                return 0
            }
            var total = 0
            for try await n in group { total += n }
            #expect(total == 4 * Int(end))
        }
        #expect(log.segments.count > 3)
        try dir.close()
    }

    @Test func readersKeepReadingWhileRetentionDeletesSegments() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = smallConfig(segmentBytes: 8 << 10)
        config.retentionBytes = 32 << 10
        config.retentionMs = -1
        try dir.createTopic("t", partitions: 1, config: config)
        let log = try dir.partition("t", 0)
        let batches = 400, perBatch = 5
        let end = Int64(batches * perBatch)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<3 {
                group.addTask { try await Self.reader(log, until: end, tolerateRetention: true) }
            }
            group.addTask {
                for i in 0..<batches {
                    try await log.append(makeBatch(firstSeq: i * perBatch, count: perBatch))
                    if i % 20 == 0 { try log.enforceRetention() }
                    if i % 8 == 0 { await Task.yield() }
                }
                return 0
            }
            for try await _ in group {}
        }
        #expect(log.logStartOffset > 0)
        try dir.close()
    }

    @Test func concurrentAppendersGetDisjointOffsets() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 32 << 10))
        let log = try dir.partition("t", 0)
        let results = try await withThrowingTaskGroup(of: [AppendResult].self) { group in
            for w in 0..<4 {
                group.addTask {
                    var out: [AppendResult] = []
                    for i in 0..<50 {
                        out.append(try await log.append(makeBatch(firstSeq: w * 1000 + i * 3, count: 3), acks: i % 10 == 0 ? .all : .leader))
                    }
                    return out
                }
            }
            var all: [AppendResult] = []
            for try await r in group { all += r }
            return all
        }
        let ranges = results.map { $0.baseOffset...$0.lastOffset }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(ranges.count == 200)
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound + 1 == b.lowerBound) }
        #expect(log.highWatermark == 600)
        try dir.close()
    }

    /// A roll schedules a background flush that trims every sealed segment; closing right after
    /// it seals the active segment on another thread. The flush must not trim a segment whose
    /// `seal()` is still writing its last time-index entry (that write would land past the
    /// trimmed file's end), and the two trims must not interleave.
    @Test func closingWhileTheRollFlushRunsTrimsEachSegmentOnce() async throws {
        for round in 0..<20 {
            let tmp = TempDir(); defer { tmp.remove() }
            do {
                let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
                try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 64 << 10))
                let log = try dir.partition("t", 0)
                try await log.append(makeBatch(firstSeq: 0, count: 5, timestamp: 1_700_000_000_000 + Int64(round)))
                try log.roll()
                try await log.append(makeBatch(firstSeq: 5, count: 5, timestamp: 1_700_000_000_100 + Int64(round)))
                try dir.close()
                // Both segments trimmed to their data and their index entries.
                for s in log.segments {
                    #expect(fileSize(s.logPath) == s.sizeInBytes)
                    #expect(fileSize(s.logPath.replacingOccurrences(of: ".log", with: ".timeindex")) == s.timeIndexEntries * 12)
                }
            }
            let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
            #expect(dir.recovery.wasCleanShutdown)
            #expect(try readAll(dir.partition("t", 0)).map(\.offset) == Array(0..<10))
            try dir.close()
        }
    }
}
