import Testing
import WeirLog
@testable import WeirClient

/// `max.poll.records` bounds what one `eachBatch` call receives: a partition's fetch with more
/// records reaches the handler in several calls, in order, with the usual offset semantics.
@Suite struct MaxPollRecordsTests {
    /// `records` records in batches of `perBatch` in partition t-0, and a consumer assigned to it.
    func fixture(records: Int, perBatch: Int, maxPollRecords: Int) throws -> (ConsumerTestDir, Consumer) {
        let d = try ConsumerTestDir()
        try d.log.createTopic("t", partitions: 1)
        try produce(d.log, "t", partition: 0, count: records, perBatch: perBatch)
        let c = try Consumer(properties: ["group.id": "mpr", "enable.auto.commit": "false", "auto.offset.reset": "earliest", "max.poll.records": String(maxPollRecords), "fetch.max.wait.ms": "20"],
                             logDirectory: d.log)
        try c.assign([TopicPartition("t", 0)])
        return (d, c)
    }

    @Test func eachBatchCallsHoldAtMostMaxPollRecords() async throws {
        let (d, c) = try fixture(records: 1000, perBatch: 37, maxPollRecords: 50)
        defer { d.remove() }
        let sizes = Collected<Int>()
        let offsets = Collected<Int64>()
        try await c.run { batch, _ in
            sizes.append(batch.count)
            #expect(batch.firstOffset == batch.first?.offset && batch.lastOffset == batch.last?.offset)
            #expect(batch.nextOffset == batch.lastOffset.map { $0 + 1 } ?? batch.nextOffset)
            for m in batch { offsets.append(m.offset) }
            if offsets.count >= 1000 { c.stop() }
        }
        #expect(sizes.all.allSatisfy { $0 >= 1 && $0 <= 50 })
        #expect(sizes.all.count >= 20)
        #expect(offsets.all == Array(0..<1000))
        try c.commit()
        #expect(c.committed(TopicPartition("t", 0))?.offset == 1000)
        await c.close()
    }

    @Test func stopBetweenPiecesResumesAtTheFirstRecordNotHandedOver() async throws {
        let (d, c) = try fixture(records: 100, perBatch: 100, maxPollRecords: 10)
        defer { d.remove() }
        let first = Collected<Int64>()
        try await c.run { batch, _ in
            for m in batch { first.append(m.offset) }
            c.stop()
        }
        #expect(first.all == Array(0..<10))
        #expect(try c.position(TopicPartition("t", 0)) == 10)
        let rest = Collected<Int64>()
        try await c.run { batch, _ in
            #expect(batch.count <= 10)
            for m in batch { rest.append(m.offset) }
            if rest.count >= 90 { c.stop() }
        }
        #expect(rest.all == Array(10..<100))
        await c.close()
    }

    @Test func failureInALaterPieceRewindsToTheFirstUnresolvedRecord() async throws {
        struct Boom: Error {}
        let (d, c) = try fixture(records: 60, perBatch: 60, maxPollRecords: 20)
        defer { d.remove() }
        let seen = Collected<Int64>()
        await #expect(throws: Boom.self) {
            try await c.run(eachBatchAutoResolve: false) { batch, context in
                for m in batch {
                    if m.offset == 45 { throw Boom() }
                    seen.append(m.offset)
                    context.resolveOffset(m.offset)
                }
            }
        }
        #expect(seen.all == Array(0..<45))
        let again = Collected<Int64>()
        try await c.run { batch, _ in
            for m in batch { again.append(m.offset) }
            if again.count >= 15 { c.stop() }
        }
        #expect(again.all == Array(45..<60))
        await c.close()
    }
}
