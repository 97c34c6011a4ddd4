// RecordBatch v2 encode/decode microbenchmarks.
//
// Every benchmark iteration handles one batch of 1,000 records and the scaling factor is
// `.kilo`, so the reported throughput (K) is thousands of records per second. Values are
// JSON-like text, 64 different ones in rotation (compressible, as real payloads are, but not
// trivially so); keys are null, as in kafka-producer-perf-test. Codecs run at Kafka's default
// levels (lz4 9, zstd 3).
//
//     cd Benchmarks && swift package benchmark --target FormatBenchmarks
import Benchmark
import WeirCompression
import WeirFormat
import WeirRandom

/// Records per batch, and so per scaled iteration.
let recordsPerBatch = 1_000

/// 64 different JSON-like payloads of `size` bytes (Weir's one payload generator), back to back.
func payloads(size: Int) -> [UInt8] {
    (0 ..< 64).flatMap { PayloadGenerator.jsonLike(size, seed: UInt64(size &* 131 &+ $0 &* 7919)) }
}

/// Builds one batch of `recordsPerBatch` records with `builder`, taking the values in turn
/// from `values` (64 values of `size` bytes).
@inline(__always)
func encodeBatch(_ builder: RecordBatchBuilder, _ values: UnsafeRawBufferPointer, size: Int, timestamp: Int64) throws -> Int {
    builder.reset()
    for i in 0 ..< recordsPerBatch {
        let start = (i & 63) &* size
        let value = UnsafeRawBufferPointer(rebasing: values[start ..< start &+ size])
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
            let values = payloads(size: recordSize)

            // Encode: append 1,000 records to a reused builder and seal (compress, header, CRC).
            let builder = try! RecordBatchBuilder(codec: codec, batchSizeLimit: Int.max)
            Benchmark("Encode_\(suffix)") { benchmark in
                values.withUnsafeBytes { values in
                    for _ in stride(from: 0, to: benchmark.scaledIterations.count, by: recordsPerBatch) {
                        blackHole(try! encodeBatch(builder, values, size: recordSize, timestamp: 1_700_000_000_000))
                    }
                }
            }

            // Decode: CRC check (check.crcs) and zero-copy iteration of keys and values.
            let batchBuilder = try! RecordBatchBuilder(codec: codec, batchSizeLimit: Int.max)
            let batch = values.withUnsafeBytes { values in
                _ = try! encodeBatch(batchBuilder, values, size: recordSize, timestamp: 1_700_000_000_000)
                return batchBuilder.sealedBytes()
            }
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
    let record = PayloadGenerator.jsonLike(100, seed: 1)
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
