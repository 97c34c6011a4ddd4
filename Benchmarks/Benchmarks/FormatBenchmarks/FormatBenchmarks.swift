// RecordBatch v2 encode/decode microbenchmarks.
//
// Every benchmark iteration handles one batch of 1,000 records and the scaling factor is
// `.kilo`, so the reported throughput (K) is thousands of records per second. Values are
// JSON-like text (compressible, as real payloads are); keys are null, as in
// kafka-producer-perf-test.
//
//     cd Benchmarks && swift package benchmark --target FormatBenchmarks
import Benchmark
import WeirCompression
import WeirFormat

/// Records per batch, and so per scaled iteration.
let recordsPerBatch = 1_000

/// A JSON-like payload of exactly `size` bytes.
func payload(size: Int, seed: Int) -> [UInt8] {
    var text = ""
    var i = seed
    while text.utf8.count < size {
        text += "{\"id\":\(i),\"user\":\"user-\(i % 977)\",\"event\":\"click\",\"amount\":\(i % 1000).\(i % 97)},"
        i += 1
    }
    return Array(text.utf8.prefix(size))
}

/// Builds one batch of `recordsPerBatch` records of `recordSize` bytes with `builder`.
@inline(__always)
func encodeBatch(_ builder: RecordBatchBuilder, _ value: UnsafeRawBufferPointer, timestamp: Int64) throws -> Int {
    builder.reset()
    for i in 0 ..< recordsPerBatch {
        builder.append(timestamp: timestamp &+ Int64(i), key: nil, value: value)
    }
    return try builder.seal()
}

/// Sums key and value sizes of every record of `batch`, touching the first value byte,
/// without copying anything.
@inline(__always)
func decodeBatch(_ decoder: RecordBatchDecoder, _ batch: UnsafeRawBufferPointer) throws -> Int {
    try decoder.withRecords(in: batch) { (records) throws(RecordBatchError) -> Int in
        var sum = 0
        while let record = try records.next() {
            sum &+= record.key?.count ?? 0
            if let value = record.value {
                sum &+= value.count &+ Int(value.first ?? 0)
            }
        }
        return sum
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000,
        thresholds: [
            // Records/s may drop by at most 10 % (p50) against the baseline.
            .throughput: BenchmarkThresholds(relative: [.p50: 10, .p75: 15]),
            .wallClock: BenchmarkThresholds(relative: [.p50: 10, .p75: 15]),
            // Steady-state encode and decode of uncompressed batches allocate nothing.
            .mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 2]),
        ]
    )

    let codecs: [CompressionCodec] = [.none, .lz4, .zstd]
    for codec in codecs {
        for recordSize in [100, 1024] {
            let suffix = "\(recordSize == 100 ? "100B" : "1KiB")_\(codec.name)"
            let value = payload(size: recordSize, seed: recordSize)

            // Encode: append 1,000 records to a reused builder and seal (compress, header, CRC).
            let builder = try! RecordBatchBuilder(codec: codec, batchSizeLimit: Int.max)
            Benchmark("Encode_\(suffix)") { benchmark in
                value.withUnsafeBytes { value in
                    for _ in stride(from: 0, to: benchmark.scaledIterations.count, by: recordsPerBatch) {
                        blackHole(try! encodeBatch(builder, value, timestamp: 1_700_000_000_000))
                    }
                }
            }

            // Decode: CRC check (check.crcs) and zero-copy iteration of keys and values.
            let batchBuilder = try! RecordBatchBuilder(codec: codec, batchSizeLimit: Int.max)
            let batch = value.withUnsafeBytes { value in
                _ = try! encodeBatch(batchBuilder, value, timestamp: 1_700_000_000_000)
                return batchBuilder.sealedBytes()
            }
            precondition(batch.count > recordsPerBatch * recordSize / 20)
            let decoder = RecordBatchDecoder()
            Benchmark("Decode_\(suffix)") { benchmark in
                batch.withUnsafeBytes { batch in
                    for _ in stride(from: 0, to: benchmark.scaledIterations.count, by: recordsPerBatch) {
                        blackHole(try! decodeBatch(decoder, batch))
                    }
                }
            }
        }
    }

    // Log recovery: scan 16 MiB of back-to-back 64 KiB batches, checking framing and CRCs.
    // One iteration = one 16 MiB scan (throughput × 16 = MiB/s).
    var segment: [UInt8] = []
    let scanBuilder = try! RecordBatchBuilder(batchSizeLimit: 64 * 1024)
    let record = payload(size: 100, seed: 1)
    while segment.count < 16 << 20 {
        scanBuilder.reset()
        while scanBuilder.append(timestamp: 0, key: nil, value: record) {}
        segment += try! scanBuilder.build()
    }
    Benchmark("Scan16MiB_crc", configuration: .init(scalingFactor: .one)) { benchmark in
        segment.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(RecordBatch.scan(bytes).validByteCount)
            }
        }
    }
}
