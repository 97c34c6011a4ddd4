public import WeirCompression

/// One codec/level measured on one payload.
public struct CodecResult: Sendable, Codable, Equatable {
    /// `compression.type`.
    public var codec: String
    /// `compression.level`, nil for codecs without levels.
    public var level: Int?
    public var inputBytes: Int
    public var compressedBytes: Int
    /// input / compressed.
    public var ratio: Double
    /// Compression throughput, in input bytes per second.
    public var compress: ThroughputSample
    /// Decompression throughput, in output (uncompressed) bytes per second.
    public var decompress: ThroughputSample
}

/// Measures every codec (and the given levels) on the same payload, in-process, with the same
/// reusable contexts the producer and the log use.
public struct CodecComparison: Sendable {
    /// (codec, level) pairs to measure; nil level = the codec's Kafka default.
    public var cases: [(codec: CompressionCodec, level: Int?)]
    public var repeats: Int
    public var minNanosPerRepeat: UInt64

    public init(
        cases: [(codec: CompressionCodec, level: Int?)] = CodecComparison.defaultCases,
        repeats: Int = 5, minNanosPerRepeat: UInt64 = 200_000_000
    ) {
        self.cases = cases
        self.repeats = repeats
        self.minNanosPerRepeat = minNanosPerRepeat
    }

    /// Every codec at its fast setting and its Kafka default.
    public static let defaultCases: [(codec: CompressionCodec, level: Int?)] = [
        (.none, nil), (.gzip, 1), (.gzip, 6), (.snappy, nil), (.lz4, 1), (.lz4, 9), (.zstd, 1), (.zstd, 3),
    ]

    /// Runs the comparison on `payload` (one compression call per whole payload).
    public func run(payload: [UInt8]) throws(CompressionError) -> [CodecResult] {
        var results: [CodecResult] = []
        for (codec, level) in cases {
            let compressor = try Compressor(codec: codec, level: level)
            let decompressor = try Decompressor(codec: codec)
            var compressed: [UInt8] = []
            compressed.reserveCapacity(payload.count + payload.count / 8 + 1024)
            var scratch: [UInt8] = []
            scratch.reserveCapacity(payload.count + 1024)
            var failure: CompressionError?
            payload.withUnsafeBytes { (input) -> Void in
                do throws(CompressionError) { try compressor.compress(input, appendingTo: &compressed) } catch { failure = error }
            }
            if let failure { throw failure }
            let c = measureThroughput(repeats: repeats, minNanos: minNanosPerRepeat) { () -> Int in
                var out = compressed
                out.removeAll(keepingCapacity: true)
                payload.withUnsafeBytes { (input) -> Void in
                    do throws(CompressionError) { try compressor.compress(input, appendingTo: &out) } catch { failure = error }
                }
                return payload.count
            }
            let d = measureThroughput(repeats: repeats, minNanos: minNanosPerRepeat) { () -> Int in
                scratch.removeAll(keepingCapacity: true)
                compressed.withUnsafeBytes { (input) -> Void in
                    do throws(CompressionError) { try decompressor.decompress(input, appendingTo: &scratch) } catch { failure = error }
                }
                return payload.count
            }
            if let failure { throw failure }
            results.append(CodecResult(
                codec: codec.name, level: compressor.level, inputBytes: payload.count,
                compressedBytes: compressed.count,
                ratio: compressed.isEmpty ? 0 : Double(payload.count) / Double(compressed.count),
                compress: c, decompress: d))
        }
        return results
    }
}
