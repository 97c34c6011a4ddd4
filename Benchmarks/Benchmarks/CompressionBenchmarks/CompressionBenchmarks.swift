// Codec throughput through WeirCompression on a 1 MiB JSON-like payload (WeirRandom's
// `PayloadGenerator.jsonLike`, the bench's `json` payload): the shape of a large producer batch
// of domain events.
//
// One benchmark operation compresses (or decompresses) the whole 1 MiB payload, so the
// throughput metric reads directly as MiB/s (multiply by 1.048576 for the MB/s that
// `lz4 -b1` and `zstd -b1` print). Contexts and the output buffer are created once per run and
// reused, as a producer or consumer would: the steady state allocates nothing.
//
//     cd Benchmarks && swift package benchmark --target CompressionBenchmarks
//
// To compare with the command-line tools on the same bytes, have a run write the payload:
//
//     WEIR_COMPRESSION_PAYLOAD=/tmp/payload.json swift package benchmark --target CompressionBenchmarks
//     lz4 -b1 /tmp/payload.json && zstd -b1 /tmp/payload.json

import Benchmark
import Foundation
import WeirCompression
import WeirRandom

/// The payload: exactly 1 MiB of newline-separated JSON events from a fixed seed.
let payload: [UInt8] = PayloadGenerator.jsonLike(1 << 20, seed: 7)

/// The codec configurations measured: Kafka's defaults, plus level 1 for lz4 and zstd (the
/// levels compared with `lz4 -b1` / `zstd -b1`).
let cases: [(name: String, codec: CompressionCodec, level: Int?)] = [
    ("gzip-6", .gzip, 6),
    ("snappy", .snappy, nil),
    ("lz4-1", .lz4, 1),
    ("lz4-9", .lz4, 9),
    ("zstd-1", .zstd, 1),
    ("zstd-3", .zstd, 3),
]

/// The size of the compressed payload, in bytes: smaller is better.
let compressedBytes = BenchmarkMetric.custom("Compressed size (bytes)", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    if let path = ProcessInfo.processInfo.environment["WEIR_COMPRESSION_PAYLOAD"] {
        _ = FileManager.default.createFile(atPath: path, contents: Data(payload))
    }

    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 3,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 2_000,
        thresholds: [
            // Throughput may not drop more than 10 % at the median against a baseline.
            .throughput: .init(relative: [.p50: 10, .p75: 15]),
            .wallClock: .init(relative: [.p50: 10, .p75: 15]),
            // Reused contexts and buffers: the steady state makes no allocation.
            .mallocCountTotal: .init(absolute: [.p50: 0, .p90: 1]),
        ]
    )

    // The compress benchmarks also record the compressed size, so a ratio regression (a
    // library update, a framing change) shows up next to a speed one.
    var compressConfiguration = Benchmark.defaultConfiguration
    compressConfiguration.metrics.append(compressedBytes)
    compressConfiguration.thresholds?[compressedBytes] = .init(relative: [.p50: 1])

    for (name, codec, level) in cases {
        Benchmark("\(name).compress.1MiB", configuration: compressConfiguration) { benchmark in
            let compressor = try! Compressor(codec: codec, level: level)
            var output: [UInt8] = []
            // Prime the output buffer's capacity outside the measurement.
            try! payload.withUnsafeBytes { try compressor.compress($0, appendingTo: &output) }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                output.removeAll(keepingCapacity: true)
                try! payload.withUnsafeBytes { try compressor.compress($0, appendingTo: &output) }
                blackHole(output.count)
            }
            benchmark.stopMeasurement()
            benchmark.measurement(compressedBytes, output.count)
        }

        Benchmark("\(name).decompress.1MiB") { benchmark in
            let compressed = try! Compressor(codec: codec, level: level).compress(payload)
            let decompressor = try! Decompressor(codec: codec)
            var output: [UInt8] = []
            try! compressed.withUnsafeBytes { try decompressor.decompress($0, appendingTo: &output) }
            precondition(output == payload, "\(name) round trip")
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                output.removeAll(keepingCapacity: true)
                try! compressed.withUnsafeBytes { try decompressor.decompress($0, appendingTo: &output) }
                blackHole(output.count)
            }
            benchmark.stopMeasurement()
        }
    }
}
