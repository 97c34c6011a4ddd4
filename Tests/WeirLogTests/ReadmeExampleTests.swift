import Foundation
import Testing
import WeirCompression
import WeirFormat
import WeirLog

/// The README's "Library" example, kept compiling and passing.
@Suite struct ReadmeExampleTests {
    @Test func libraryExampleRuns() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let payload = Array(String(repeating: "{\"order\":1,\"status\":\"paid\"}", count: 100).utf8)
        let now: Int64 = 1_700_000_000_000
        let json = "{\"order\":1}"

        // Codecs with Kafka's framing; contexts are reused across calls (one per thread).
        let lz4 = try Compressor(codec: .lz4, level: 1)
        var framed: [UInt8] = []
        try payload.withUnsafeBytes { try lz4.compress($0, appendingTo: &framed) }
        #expect(try Decompressor(codec: .lz4).decompress(framed) == payload)

        // RecordBatch v2, byte-exact with Kafka.
        let builder = try RecordBatchBuilder(codec: .zstd, batchSizeLimit: 65_536)
        _ = builder.append(timestamp: now, key: Array("order-1".utf8), value: Array(json.utf8))
        let batch = try builder.build()

        // Zero-copy decoding: views valid inside the closure.
        let decoder = RecordBatchDecoder()
        var seen = 0
        try batch.withUnsafeBytes { bytes in
            try decoder.forEachRecord(in: bytes) { record in
                seen += 1
                #expect(record.value?.count == json.utf8.count)
            }
        }
        #expect(seen == 1)

        // The embedded log.
        let log = try LogDirectory.open(path: tmp.path)
        try log.createTopic("orders", partitions: 3, config: LogConfig(properties: ["segment.bytes": "268435456"]))
        let partition = try log.partition("orders", 0)
        let appended = try await partition.append(batch, acks: .all)
        let read = try partition.read(from: appended.baseOffset, maxBytes: 1 << 20)
        #expect(read.batches.count == 1)
        try log.close()
    }
}
