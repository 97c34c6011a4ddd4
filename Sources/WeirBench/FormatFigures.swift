import Foundation
import WeirFormat

/// Record batch encode/decode throughput, with a memcpy of the same bytes as the baseline.
enum FormatFigures {
    /// Encodes and decodes batches of `recordsPerBatch` records of `recordSize`-byte JSON-like
    /// values (null keys, as kafka-producer-perf-test sends) and returns records/s figures.
    static func measure(recordSize: Int, recordsPerBatch: Int = 1000, repeats: Int, minNanos: UInt64) throws -> [CoreReport.Figure] {
        var gen = PayloadGenerator(seed: UInt64(recordSize))
        let value = Array(gen.jsonRecord(targetSize: recordSize).utf8.prefix(recordSize))
        let builder = try RecordBatchBuilder(codec: .none, batchSizeLimit: Int.max)
        let timestamp: Int64 = 1_700_000_000_000
        func encode() -> Int {
            builder.reset()
            value.withUnsafeBytes { v in
                for i in 0..<recordsPerBatch {
                    _ = builder.append(timestamp: timestamp &+ Int64(i), key: nil, value: v)
                }
            }
            _ = try? builder.seal()
            return recordsPerBatch
        }
        _ = encode()
        let batch = builder.sealedBytes()
        let decoder = RecordBatchDecoder()
        var sink = 0
        let encodeRate = measureThroughput(repeats: repeats, minNanos: minNanos) { encode() }
        let decodeRate = measureThroughput(repeats: repeats, minNanos: minNanos) { () -> Int in
            batch.withUnsafeBytes { bytes in
                try? decoder.withRecords(in: bytes) { (records) throws(RecordBatchError) in
                    while let r = try records.next() {
                        sink &+= (r.key?.count ?? 0) &+ (r.value?.count ?? 0) &+ Int(r.value?.first ?? 0)
                    }
                }
            }
            return recordsPerBatch
        }
        // Baseline: copying the encoded batch once, counted in the same records.
        var copy = [UInt8](repeating: 0, count: batch.count)
        let memcpyRate = measureThroughput(repeats: repeats, minNanos: minNanos) { () -> Int in
            copy.withUnsafeMutableBytes { dst in
                batch.withUnsafeBytes { src in dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) }
            }
            sink &+= Int(copy[copy.count / 2])
            return recordsPerBatch
        }
        if sink == 42 { print("") }  // keeps the work observable
        let label = recordSize >= 1024 ? "\(recordSize / 1024)KiB" : "\(recordSize)B"
        return [
            CoreReport.Figure(name: "format.encode_\(label)", unit: "records/s", value: encodeRate, baselineName: "memcpy", baseline: memcpyRate),
            CoreReport.Figure(name: "format.decode_\(label)", unit: "records/s", value: decodeRate, baselineName: "memcpy", baseline: memcpyRate),
        ]
    }
}
