import Synchronization
import Testing
import WeirFormat
import WeirLog
@testable import WeirClient

/// `produceNow` appends on the calling thread (the inline drainer); a retriable append failure
/// hands the partition to a drainer task, which retries the failed batch first and then the
/// batches queued meanwhile. Every record must be delivered once, in order, with its report.
@Suite struct InlineDrainerHandOffTests {
    @Test func aRetriableFailureHandsThePartitionToADrainerTaskWithoutLossDuplicatesOrReordering() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("handoff", partitions: 2)
        var c = ProducerConfiguration()
        c.acks = .leader
        c.lingerMs = 0
        c.enableIdempotence = false
        c.retryBackoffMs = 1
        let producer = try Producer(configuration: c, logDirectory: t.dir)
        // Every 4th append fails before the log writes it: the first three records are appended by
        // this thread, the fourth fails here and goes to a drainer task.
        producer._injectAppendFailureEvery.store(4, ordering: .relaxed)
        let reports = Mutex<[TopicPartition: [(base: Int64, opaques: [UInt64])]]>([:])
        let failures = Mutex<Int>(0)
        producer.onDelivery { r in
            switch r.result {
            case .success(let base): reports._withLock { $0[r.topicPartition, default: []].append((base, r.opaques)) }
            case .failure: failures._withLock { $0 += 1 }
            }
        }
        let n = 400
        for i in 0..<n {
            var v = UInt32(i).bigEndian
            _ = try withUnsafeBytes(of: &v) { v in
                try producer.produceNow(topic: "handoff", partition: Int32(i % 2), key: nil, value: v, opaque: UInt64(i))
            }
        }
        await producer.flush()
        let stats = producer.statistics
        #expect(stats.retries > 0)
        #expect(stats.recordsSent == Int64(n) && stats.recordsFailed == 0)
        #expect(failures._withLock { $0 } == 0)
        let byPartition = reports._withLock { $0 }
        for p: Int32 in 0..<2 {
            let expected = stride(from: Int(p), to: n, by: 2).map { UInt64($0) }
            // The reports: each record once, in the order it was sent, with consecutive offsets.
            let delivered = byPartition[TopicPartition("handoff", p)] ?? []
            #expect(delivered.flatMap(\.opaques) == expected)
            var next: Int64 = 0
            for d in delivered {
                #expect(d.base == next)
                next += Int64(d.opaques.count)
            }
            // The log: each record once, in order, at the offset its report gave.
            let values = try batches(t.dir.partition("handoff", p)).flatMap(\.records).map {
                UInt64($0.value!.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            #expect(values == expected)
        }
        await producer.close()
    }
}
