import Testing
import WeirFormat
@testable import WeirLog

/// A batch from producer `pid` with `count` records starting at sequence `seq`.
private func producerBatch(pid: Int64, epoch: Int16, seq: Int32, count: Int, transactional: Bool = false) -> [UInt8] {
    let b = try! RecordBatchBuilder(codec: .none, batchSizeLimit: Int(Int32.max))
    b.producerId = pid
    b.producerEpoch = epoch
    b.baseSequence = seq
    b.isTransactional = transactional
    for i in 0..<count { b.append(timestamp: 1_700_000_000_000, key: nil, value: testValue(Int(seq) + i)) }
    return try! b.build()
}

@Suite struct LogProducerStateTests {
    @Test func duplicateBatchIsWrittenOnceWithItsOriginalOffsets() async throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        try dir.createTopic("idem", partitions: 1)
        let log = try dir.partition("idem", 0)
        _ = try await log.append([UInt8](makeBatch(firstSeq: 0, count: 3)))  // a non-idempotent batch first
        let first = try await log.append(producerBatch(pid: 7, epoch: 0, seq: 0, count: 5))
        let second = try await log.append(producerBatch(pid: 7, epoch: 0, seq: 5, count: 5))
        let retry = try await log.append(producerBatch(pid: 7, epoch: 0, seq: 0, count: 5))
        #expect(!first.isDuplicate && first.baseOffset == 3)
        #expect(retry.isDuplicate && retry.baseOffset == first.baseOffset && retry.lastOffset == first.lastOffset)
        #expect(second.baseOffset == 8)
        #expect(log.highWatermark == 13)
        #expect(log.producerState(7)?.lastSequence == 9)
        try dir.close()
    }

    @Test func outOfOrderSequenceIsRejected() async throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        try dir.createTopic("seq", partitions: 1)
        let log = try dir.partition("seq", 0)
        _ = try await log.append(producerBatch(pid: 3, epoch: 0, seq: 0, count: 10))
        await #expect { try await log.append(producerBatch(pid: 3, epoch: 0, seq: 20, count: 1)) } throws: {
            ($0 as? LogError)?.code == .outOfOrderSequenceNumber && ($0 as? LogError)?.message.contains("expected 10") == true
        }
        await #expect { try await log.append(producerBatch(pid: 4, epoch: 0, seq: 5, count: 1)) } throws: {
            ($0 as? LogError)?.code == .outOfOrderSequenceNumber
        }
        // An older epoch is fenced; a newer one restarts at 0.
        _ = try await log.append(producerBatch(pid: 3, epoch: 1, seq: 0, count: 1))
        await #expect { try await log.append(producerBatch(pid: 3, epoch: 0, seq: 10, count: 1)) } throws: {
            ($0 as? LogError)?.code == .invalidProducerEpoch
        }
        #expect(log.highWatermark == 11)
        try dir.close()
    }

    @Test func stateAndTransactionsSurviveReopen() async throws {
        let tmp = TempDir()
        defer { tmp.remove() }
        var dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        try dir.createTopic("txn", partitions: 1)
        var log = try dir.partition("txn", 0)
        _ = try await log.append(producerBatch(pid: 9, epoch: 2, seq: 0, count: 4, transactional: true))
        #expect(log.lastStableOffset == 0)
        _ = try await log.append(RecordBatchBuilder.controlBatch(ControlRecord(type: .abort), producerId: 9, producerEpoch: 2, timestamp: 1))
        #expect(log.lastStableOffset == 5)
        _ = try await log.append(producerBatch(pid: 9, epoch: 2, seq: 4, count: 2, transactional: true))
        #expect(log.lastStableOffset == 5)
        #expect(log.abortedTransactions(from: 0, upTo: 100) == [AbortedTransaction(producerId: 9, firstOffset: 0, lastOffset: 4)])
        try dir.close()
        dir = try LogDirectory.open(path: tmp.path, options: testOptions(smallConfig()))
        log = try dir.partition("txn", 0)
        #expect(log.lastStableOffset == 5, "the open transaction still bounds the last stable offset")
        #expect(log.abortedTransactions(from: 0, upTo: 100).count == 1)
        #expect(log.producerState(9)?.lastSequence == 5)
        let dup = try await log.append(producerBatch(pid: 9, epoch: 2, seq: 4, count: 2, transactional: true))
        #expect(dup.isDuplicate && dup.baseOffset == 5)
        _ = try await log.append(RecordBatchBuilder.controlBatch(ControlRecord(type: .commit), producerId: 9, producerEpoch: 2, timestamp: 1))
        #expect(log.lastStableOffset == log.highWatermark)
        try dir.close()
    }
}
