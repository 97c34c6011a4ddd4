import Synchronization
import Testing
import WeirCompression
import WeirFormat
import WeirLog
@testable import WeirClient

@Suite struct ProducerTests {
    @Test func sendReturnsOffsetsAndRecordsAreReadable() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("events", partitions: 1)
        let p = try Producer(configuration: try config(["linger.ms": "0"]), logDirectory: t.dir)
        var offsets: [Int64] = []
        for i in 0..<5 {
            let md = try await p.send(ProducerRecord(topic: "events", key: "k\(i)", value: "v\(i)", headers: [RecordHeader(key: "h", value: [1])], timestamp: 1000 + Int64(i)))
            #expect(md.topic == "events" && md.partition == 0 && md.timestamp == 1000 + Int64(i))
            offsets.append(md.offset)
        }
        #expect(offsets == [0, 1, 2, 3, 4])
        await p.close()
        let all = try batches(t.dir.partition("events", 0)).flatMap(\.records)
        #expect(all.map { text($0.value) } == ["v0", "v1", "v2", "v3", "v4"])
        #expect(all.allSatisfy { $0.headers == [RecordHeader(key: "h", value: [1])] })
        #expect(p.statistics.recordsSent == 5)
        await #expect(throws: ClientError.self) { try await p.send(ProducerRecord(topic: "events", key: nil, value: "late")) }
    }

    @Test func batchesBySize() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("sized")
        let p = try Producer(configuration: try config(["batch.size": "1024", "linger.ms": "60000", "acks": "1", "delivery.timeout.ms": "200000"]), logDirectory: t.dir)
        let value = [UInt8](repeating: 7, count: 100)
        for _ in 0..<200 { try await p.produce(ProducerRecord(topic: "sized", value: value)) }
        await p.flush()
        let bs = try batches(t.dir.partition("sized", 0))
        #expect(bs.reduce(0) { $0 + $1.records.count } == 200)
        #expect(bs.count >= 200 * 100 / 1024)
        // Every batch but the last is full: adding one more record would pass batch.size.
        for b in bs.dropLast() { #expect(b.records.count >= 8 && b.records.count <= 9) }
        await p.close()
    }

    @Test func batchesByLingerTime() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("lingered")
        let p = try Producer(configuration: try config(["linger.ms": "50", "acks": "1"]), logDirectory: t.dir)
        for i in 0..<10 { try await p.produce(ProducerRecord(topic: "lingered", key: nil, value: "r\(i)")) }
        let log = try t.dir.partition("lingered", 0)
        // No flush: the linger timer sends the batch.
        var hwm = log.highWatermark
        while hwm < 10 {
            _ = try await log.waitForHighWatermark(above: hwm, timeout: .seconds(30))
            hwm = log.highWatermark
        }
        let bs = try batches(log)
        #expect(bs.count == 1 && bs[0].records.count == 10)
        await p.close()
    }

    @Test(arguments: CompressionCodec.allCases)
    func everyCodecEndToEnd(_ codec: CompressionCodec) async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("codec", partitions: 2)
        let p = try Producer(configuration: try config(["compression.type": codec.name, "batch.size": "65536", "acks": "all"]), logDirectory: t.dir)
        for i in 0..<3000 {
            try await p.produce(ProducerRecord(topic: "codec", key: "key-\(i % 17)", value: "{\"order\":\(i),\"status\":\"created\",\"region\":\"eu-west\"}"))
        }
        await p.close()
        var seen = Set<String>()
        for part: Int32 in 0..<2 {
            for b in try batches(t.dir.partition("codec", part)) {
                #expect(b.header.codec == codec)
                #expect(b.header.producerId >= 0)
                for r in b.records {
                    seen.insert(text(r.value)!)
                    #expect(kafkaDefaultPartition(forKey: r.key!, partitionCount: 2) == part)
                }
            }
        }
        #expect(seen.count == 3000)
    }

    @Test func backpressureBlocksThenTimesOut() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("bp", partitions: 3)
        // Two batches of memory and a linger so long that nothing drains.
        let p = try Producer(configuration: try config(["batch.size": "4096", "buffer.memory": "8192", "linger.ms": "600000",
                                                        "delivery.timeout.ms": "700000", "max.block.ms": "100", "acks": "1"]), logDirectory: t.dir)
        try await p.produce(ProducerRecord(topic: "bp", partition: 0, value: [1]))
        try await p.produce(ProducerRecord(topic: "bp", partition: 1, value: [1]))
        await #expect {
            try await p.produce(ProducerRecord(topic: "bp", partition: 2, value: [1]))
        } throws: { e in
            guard let e = e as? ClientError else { return false }
            return e.code == .bufferExhausted && e.isRetriable && e.message.contains("max.block.ms=100")
        }
        await p.flush()
        // Once drained, memory is free again.
        try await p.produce(ProducerRecord(topic: "bp", partition: 2, value: [1]))
        await p.close()
        #expect(try t.dir.partition("bp", 2).highWatermark == 1)
    }

    @Test func unknownTopicAndPartitionAndTooLarge() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("small")
        let p = try Producer(configuration: try config(["max.request.size": "1000", "acks": "1"]), logDirectory: t.dir)
        await #expect { try await p.send(ProducerRecord(topic: "nope", value: [1])) } throws: {
            ($0 as? ClientError)?.code == .unknownTopicOrPartition && ($0 as? ClientError)?.message.contains("allow.auto.create.topics") == true
        }
        await #expect { try await p.send(ProducerRecord(topic: "small", partition: 3, value: [1])) } throws: { ($0 as? ClientError)?.code == .unknownTopicOrPartition }
        await #expect { try await p.send(ProducerRecord(topic: "small", value: [UInt8](repeating: 0, count: 2000))) } throws: { ($0 as? ClientError)?.code == .recordTooLarge }
        await p.close()
        let auto = try Producer(configuration: try config(["allow.auto.create.topics": "true", "acks": "1"]), logDirectory: t.dir)
        _ = try await auto.send(ProducerRecord(topic: "created.on.demand", value: [1]))
        #expect(t.dir.topicNames.contains("created.on.demand"))
        await auto.close()
    }

    @Test func partitioners() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("parts", partitions: 4)
        let keyed = try Producer(configuration: try config(["acks": "1"]), logDirectory: t.dir)
        for i in 0..<50 {
            let md = try await keyed.send(ProducerRecord(topic: "parts", key: "user-\(i)", value: "x"))
            #expect(md.partition == kafkaDefaultPartition(forKey: Array("user-\(i)".utf8), partitionCount: 4))
        }
        await keyed.close()
        // Null keys: sticky, a whole batch goes to one partition.
        let sticky = try Producer(configuration: try config(["acks": "1", "linger.ms": "600000", "delivery.timeout.ms": "700000", "batch.size": "100000"]), logDirectory: t.dir)
        var before: [Int64] = []
        for i: Int32 in 0..<4 { before.append(try t.dir.partition("parts", i).highWatermark) }
        for _ in 0..<100 { try await sticky.produce(ProducerRecord(topic: "parts", value: [1, 2, 3])) }
        await sticky.close()
        var grew: [Int32] = []
        for i: Int32 in 0..<4 where try t.dir.partition("parts", i).highWatermark > before[Int(i)] { grew.append(i) }
        #expect(grew.count == 1)
        // Round robin: evenly.
        let rr = try Producer(configuration: try config(["acks": "1", "partitioner.class": "round-robin"]), logDirectory: t.dir)
        var counts = [Int](repeating: 0, count: 4)
        for _ in 0..<40 { counts[Int(try await rr.send(ProducerRecord(topic: "parts", key: Array("same".utf8), value: [1])).partition)] += 1 }
        #expect(counts == [10, 10, 10, 10])
        await rr.close()
    }

    @Test func deliveryReportsAndManyConcurrentSenders() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("shared", partitions: 3)
        let p = try Producer(configuration: try config(["acks": "1", "linger.ms": "1"]), logDirectory: t.dir)
        final class Seen: Sendable { let value = Mutex<(ok: Int, ids: Set<UInt64>)>((0, [])) }
        let seen = Seen()
        p.onDelivery { report in
            seen.value.withLock { s in
                if case .success = report.result { s.ok += report.opaques.count }
                s.ids.formUnion(report.opaques)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { g in
            for task in 0..<8 {
                g.addTask {
                    for i in 0..<2000 { try await p.produce(ProducerRecord(topic: "shared", key: "t\(task)-\(i)", value: "v")) }
                }
            }
            try await g.waitForAll()
        }
        await p.close()
        let (ok, distinct) = seen.value.withLock { ($0.ok, $0.ids.count) }
        #expect(ok == 16000 && distinct == 16000)
        let total = try (0..<3).reduce(Int64(0)) { $0 + (try t.dir.partition("shared", Int32($1)).highWatermark) }
        #expect(total == 16000)
    }

    @Test func idempotenceWritesRetriedBatchesOnce() async throws {
        let t = try TestLog()
        defer { t.remove() }
        try t.createTopic("idem", partitions: 2, configs: ["segment.bytes": "67108864"])
        let p = try Producer(configuration: try config(["enable.idempotence": "true", "acks": "all", "batch.size": "1000000",
                                                        "linger.ms": "1000", "retry.backoff.ms": "0", "buffer.memory": "16000000"]), logDirectory: t.dir)
        p._injectLostAcknowledgementEvery.store(3, ordering: .relaxed)
        let n = 1_000_000
        for i in 0..<n {
            var v = UInt32(i).bigEndian
            try await p.produce(ProducerRecord(topic: "idem", partition: Int32(i & 1), value: withUnsafeBytes(of: &v) { Array($0) }))
        }
        await p.close()
        let s = p.statistics
        #expect(s.retries > 0 && s.duplicatesSuppressed == s.retries)
        #expect(s.recordsSent == Int64(n) && s.recordsFailed == 0)
        var seen = [Bool](repeating: false, count: n)
        var duplicates = 0, total = 0
        for part: Int32 in 0..<2 {
            for b in try batches(t.dir.partition("idem", part)) {
                for r in b.records {
                    let i = Int(r.value!.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                    if seen[i] { duplicates += 1 }
                    seen[i] = true
                    total += 1
                }
            }
        }
        #expect(duplicates == 0)
        #expect(total == n)
    }
}
