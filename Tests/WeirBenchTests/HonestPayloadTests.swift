import Foundation
import Testing
@testable import WeirBench
import WeirClient
import WeirCompression

/// The value a user gives is sent byte for byte: the end-to-end stamp travels in a
/// `SendStamp` header, and the bench's compression ratio is the codec's on the batches.
@Suite struct HonestPayloadTests {
    /// Distinct JSON-like lines of about 300–400 bytes, deterministic.
    static func lines(_ count: Int) -> [[UInt8]] {
        let words = ["order", "user", "amount", "status", "shipped", "pending", "note", "warehouse", "berlin", "paris", "express", "gift"]
        var rng = UInt64(42)
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: rng >> 33)
        }
        return (0..<count).map { i in
            var s = "{\"id\":\(i),\"user\":\"u\(next() % 100_000)\",\"amount\":\(next() % 10_000).\(next() % 100),\"items\":["
            for j in 0..<6 { s += (j > 0 ? "," : "") + "{\"sku\":\"\(words[next() % words.count])-\(next() % 1000)\",\"qty\":\(next() % 9 + 1)}" }
            s += "],\"note\":\""
            for _ in 0..<12 { s += words[next() % words.count] + " " }
            s += "\"}"
            return Array(s.utf8)
        }
    }

    /// Runs `records` records of the payload file through the embedded log with `codec`, then
    /// reads the log back: the summary, and the values and stamp headers as stored.
    static func run(file: String, records: Int, codec: String, dir: String) async throws -> (StepSummary, [ConsumerRecord]) {
        var w = Workload()
        w.partitionsPerTopic = 1
        w.subscriptionsPerTopic = 1
        w.producerRate = 20_000
        w.records = records
        w.warmupSeconds = 0
        w.drainTimeoutSeconds = 20
        w.payloadFile = [file]
        w.payloadLines = true
        w.config = ["compression.type": codec, "linger.ms": "20", "batch.size": "262144", "segment.bytes": "16777216"]
        let client = try EmbeddedMessaging.open(path: dir)
        let summary: StepSummary
        do {
            summary = try await LoadGenerator(workload: w, client: client).run().summary
        } catch {
            await client.close()
            throw error
        }
        let consumer = try await client.makeConsumer(properties: ["group.id": "check", "auto.offset.reset": "earliest"])
        try await consumer.assign([TopicPartition(w.topicNames[0], 0)])
        var read: [ConsumerRecord] = []
        let deadline = Date().addingTimeInterval(20)
        while read.count < records && Date() < deadline { read += try await consumer.poll(timeout: .milliseconds(200)) }
        await consumer.close()
        await client.close()
        return (summary, read)
    }

    @Test func valuesAreSentByteForByteAndRatiosMatchTheCodec() async throws {
        let dir = NSTemporaryDirectory() + "weir-honest-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let payloads = Self.lines(2_000)
        let file = dir + "/payload.jsonl"
        try Data(payloads.joined(separator: [UInt8(ascii: "\n")])).write(to: URL(fileURLWithPath: file))

        // `none`: every value as given, each with its stamp header; the ratio is exactly 1.
        let (plain, stored) = try await Self.run(file: file, records: payloads.count, codec: "none", dir: dir + "/none")
        #expect(stored.count == payloads.count)
        for (i, r) in stored.enumerated() {
            #expect(r.value == payloads[i], "record \(i): the value differs from the payload line")
            let h = r.headers.first { $0.key == SendStamp.headerKey }
            #expect(h?.value?.count == SendStamp.size)
            if i >= 3 { break }
        }
        #expect(stored.map(\.value) == payloads.map { Optional($0) })
        #expect(stored.allSatisfy { r in r.headers.contains { $0.key == SendStamp.headerKey && $0.value?.count == 8 } })
        #expect(plain.compressionRatio.map { String(format: "%.2f", $0) } == "1.00")
        #expect(plain.latency["end_to_end"]?.count == UInt64(payloads.count))

        // zstd: the bench's ratio is the codec's on the same bytes, within the records'
        // framing and stamp (a few per cent).
        let (zstd, _) = try await Self.run(file: file, records: payloads.count, codec: "zstd", dir: dir + "/zstd")
        let codecAlone = try CodecComparison(cases: [(.zstd, nil)], repeats: 1, minNanosPerRepeat: 1)
            .run(payload: Array(payloads.joined()))[0].ratio
        let bench = try #require(zstd.compressionRatio)
        #expect(abs(bench - codecAlone) / codecAlone < 0.15, "bench \(bench) vs codec alone \(codecAlone)")
    }
}
