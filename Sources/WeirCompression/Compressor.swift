/// Compresses record batch payloads with Kafka's framing for one codec.
///
/// A compressor owns its codec context (a `ZSTD_CCtx`, an `LZ4F_cctx`, a zlib stream) and
/// reuses it across calls, so a producer pays for the context once, not per batch. It is not
/// thread-safe: give each thread its own compressor.
public final class Compressor {
    /// The codec (`compression.type`).
    public let codec: CompressionCodec
    /// The level in use (`compression.level`), or nil for codecs without levels.
    public let level: Int?

    /// Creates a compressor. `level` defaults to Kafka's default for the codec; a level outside
    /// `codec.levelRange` throws `.invalidLevel`.
    public init(codec: CompressionCodec, level: Int? = nil) throws(CompressionError) {
        self.codec = codec
        self.level = level ?? codec.defaultLevel
    }

    /// Compresses `input` and appends the framed result to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        switch codec {
        case .none:
            output.append(contentsOf: input)
        default:
            throw CompressionError(.libraryFailure, codec: codec, "not implemented yet")
        }
    }

    /// Convenience: compresses a byte array into a new array.
    public func compress(_ input: [UInt8]) throws(CompressionError) -> [UInt8] {
        var out: [UInt8] = []
        try withUnsafeBytesTyped(input) { (raw) throws(CompressionError) in try compress(raw, appendingTo: &out) }
        return out
    }
}

/// Decompresses record batch payloads written with Kafka's framing for one codec.
///
/// Reuses its codec context across calls. Not thread-safe: one per thread.
public final class Decompressor {
    /// The default ceiling on one decompressed payload, as a guard against decompression bombs.
    public static let defaultMaxOutputBytes = 256 << 20

    public let codec: CompressionCodec

    public init(codec: CompressionCodec) throws(CompressionError) {
        self.codec = codec
    }

    /// Decompresses `input` and appends the result to `output`. Malformed or truncated input
    /// throws `.corruptInput` / `.truncatedInput`; output beyond `maxOutputBytes` throws
    /// `.outputTooLarge`.
    public func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8],
        maxOutputBytes: Int = Decompressor.defaultMaxOutputBytes
    ) throws(CompressionError) {
        switch codec {
        case .none:
            guard input.count <= maxOutputBytes else {
                throw CompressionError(.outputTooLarge, codec: codec, "payload exceeds \(maxOutputBytes) bytes")
            }
            output.append(contentsOf: input)
        default:
            throw CompressionError(.libraryFailure, codec: codec, "not implemented yet")
        }
    }

    /// Convenience: decompresses a byte array into a new array.
    public func decompress(_ input: [UInt8]) throws(CompressionError) -> [UInt8] {
        var out: [UInt8] = []
        try withUnsafeBytesTyped(input) { (raw) throws(CompressionError) in try decompress(raw, appendingTo: &out) }
        return out
    }
}

/// `withUnsafeBytes` that keeps the closure's typed error.
@inline(__always)
func withUnsafeBytesTyped<E: Error>(
    _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> Void
) throws(E) {
    let result: Result<Void, E> = array.withUnsafeBytes { raw in
        do throws(E) { try body(raw); return .success(()) } catch { return .failure(error) }
    }
    try result.get()
}
