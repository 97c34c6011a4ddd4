import Foundation
import Testing
@testable import WeirLog

/// `PartitionLog.read(from:maxBytes:maxOffset:continuing:)`: a read that goes on after the last
/// batch of the previous one gives what a plain read gives, and a hint that does not fit is
/// ignored.
@Suite struct LogReadContinuingTests {
    struct Shape: Equatable {
        var batches: [[Int]]
        var nextOffset: Int64
        var byteCount: Int
        init(_ r: LogReadResult) {
            batches = r.batches.map { [Int($0.segmentBaseOffset), $0.position, $0.size] }
            nextOffset = r.nextOffset
            byteCount = r.byteCount
        }
    }

    /// 400 batches of 1–3 records in 4 KiB segments with a dense index: many rolls.
    static func filledLog(_ tmp: TempDir) throws -> (LogDirectory, PartitionLog) {
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig(segmentBytes: 4096, indexIntervalBytes: 256)))
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        var seq = 0
        for i in 0..<400 {
            let n = 1 + i % 3
            try makeBatch(firstSeq: seq, count: n).withUnsafeBytes { _ = try log.append($0) }
            seq += n
        }
        return (dir, log)
    }

    @Test func sequentialReadsContinuingAfterTheLastBatchMatchPlainReadsAcrossRolls() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let (dir, log) = try Self.filledLog(tmp)
        defer { try? dir.close() }
        #expect(log.segments.count > 5)
        for maxBytes in [1, 300, 5000] {
            var next: Int64 = 0
            var previous: RecordBatchView? = nil
            var reads = 0
            while next < log.highWatermark {
                let plain = try log.read(from: next, maxBytes: maxBytes)
                let continued = try log.read(from: next, maxBytes: maxBytes, continuing: previous)
                #expect(Shape(continued) == Shape(plain), "from \(next), maxBytes \(maxBytes)")
                previous = continued.batches.last
                next = continued.nextOffset
                reads += 1
            }
            #expect(next == log.highWatermark)
            #expect(reads > 1)
        }
    }

    @Test func aHintThatDoesNotFitTheOffsetIsIgnored() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let (dir, log) = try Self.filledLog(tmp)
        defer { try? dir.close() }
        let first = try log.read(from: 0, maxBytes: 1).batches[0]
        let middle = try log.read(from: 400, maxBytes: 1).batches[0]
        let hwm = log.highWatermark
        for hint in [first, middle] {
            // Offsets before, inside, right after and far after the hint's batch; the end.
            for offset in [0, 1, 2, middle.baseOffset, middle.lastOffset, middle.lastOffset + 1, middle.lastOffset + 2, hwm - 1, hwm] {
                for maxBytes in [1, 1000] {
                    let plain = try log.read(from: offset, maxBytes: maxBytes)
                    let hinted = try log.read(from: offset, maxBytes: maxBytes, continuing: hint)
                    #expect(Shape(hinted) == Shape(plain), "from \(offset) after the batch at \(hint.baseOffset)")
                }
            }
        }
        // A bound below the batch after the hint: nothing, as without the hint.
        let bounded = try log.read(from: first.lastOffset + 1, maxBytes: 1000, maxOffset: first.lastOffset + 1, continuing: first)
        #expect(bounded.batches.isEmpty && bounded.nextOffset == first.lastOffset + 1)
    }

    @Test func aHintAtTheEndOfALogSeesTheNextAppend() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let (dir, log) = try Self.filledLog(tmp)
        defer { try? dir.close() }
        var hwm = log.highWatermark
        var previous = try log.read(from: hwm - 1, maxBytes: 1).batches.last
        // One batch at a time, as a consumer that keeps up reads them, through several rolls.
        for i in 0..<100 {
            try makeBatch(firstSeq: 10_000 + i, count: 1).withUnsafeBytes { _ = try log.append($0) }
            let r = try log.read(from: hwm, maxBytes: 1 << 20, continuing: previous)
            #expect(Shape(r) == Shape(try log.read(from: hwm, maxBytes: 1 << 20)))
            #expect(r.batches.count == 1 && r.batches[0].baseOffset == hwm)
            previous = r.batches.last
            hwm = r.nextOffset
        }
    }

    @Test func aWaitOnOneLogReturnsOnDataAfterATimeoutAndOnWake() throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        defer { try? dir.close() }
        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        let waiter = HighWatermarkWaiter()
        #expect(waiter.wait(for: log, above: 0, timeoutNanos: 2_000_000) == false)
        #expect(waiter.wait(for: log, above: 0, timeoutNanos: 2_000_000, spinNanos: 500_000) == false)
        try makeBatch(firstSeq: 0, count: 1).withUnsafeBytes { _ = try log.append($0) }
        #expect(waiter.wait(for: log, above: 0, timeoutNanos: 60_000_000_000))
        // A parked thread wakes for an append.
        let woke = DispatchSemaphore(value: 0)
        Thread {
            #expect(waiter.wait(for: log, above: 1, timeoutNanos: 60_000_000_000))
            woke.signal()
        }.start()
        usleep(20_000)
        try makeBatch(firstSeq: 1, count: 1).withUnsafeBytes { _ = try log.append($0) }
        #expect(woke.wait(timeout: .now() + 10) == .success)
        // And for wake().
        let woken = DispatchSemaphore(value: 0)
        Thread {
            #expect(waiter.wait(for: log, above: 2, timeoutNanos: 60_000_000_000) == false)
            woken.signal()
        }.start()
        usleep(20_000)
        waiter.wake()
        #expect(woken.wait(timeout: .now() + 10) == .success)
    }
}
