/// Compresses record batch payloads with Kafka's framing for one codec.
///
/// Mirrors the producer's `compression.type` and `compression.<codec>.level` properties. The
/// framing is what Kafka writes, so Kafka and its clients can read the result:
///
/// - `gzip`: a gzip stream (zlib, windowBits 31).
/// - `snappy`: the xerial/snappy-java stream: the 16-byte header `0x82 "SNAPPY" 0x00`, int32 1,
///   int32 1, then blocks of [int32 big-endian length][raw snappy], one per 32 KiB of input.
/// - `lz4`: an LZ4 frame with independent 64 KiB blocks and no content checksum.
/// - `zstd`: a zstd frame that records its content size.
///
/// A compressor owns its codec context (a `ZSTD_CCtx`, an `LZ4F_cctx`, a zlib deflate stream)
/// and reuses it across calls, so a producer pays for the context once, not per batch; the
/// context is freed when the compressor is. (snappy has no context to keep: libsnappy
/// allocates its hash table inside each block's `snappy_compress`.) With an output buffer that
/// is reused too, compressing allocates nothing.
///
/// It is not thread-safe and not `Sendable`: give each thread (or each task that owns a
/// partition's batches) its own compressor.
public final class Compressor {
    /// The codec (`compression.type`).
    public let codec: CompressionCodec
    /// The level in use (`compression.gzip.level`, `compression.lz4.level`,
    /// `compression.zstd.level`), or nil for codecs without levels. Kafka's "default" spellings
    /// are resolved: gzip -1 is 6, zstd 0 is 3.
    public let level: Int?

    private let backend: _CompressorBackend

    /// Creates a compressor and its codec context.
    ///
    /// - Parameters:
    ///   - codec: the `compression.type`.
    ///   - level: the `compression.<codec>.level`; nil selects Kafka's default (gzip 6, lz4 9,
    ///     zstd 3). lz4 levels 1–2 use the fast LZ4 compressor and 3–17 LZ4HC, as LZ4F does.
    /// - Throws: `.invalidLevel` when `level` is outside `codec.levelRange` (see
    ///   ``CompressionCodec/validatedLevel(_:)``) or given for a codec without levels;
    ///   `.libraryFailure` if the codec library cannot create its context.
    public init(codec: CompressionCodec, level: Int? = nil) throws(CompressionError) {
        let level = try codec.validatedLevel(level)
        self.codec = codec
        self.level = level
        switch codec {
        case .none: backend = .none
        case .gzip: backend = .gzip(try _GzipCompressor(level: level!))
        case .snappy: backend = .snappy
        case .lz4: backend = .lz4(try _LZ4Compressor(level: level!))
        case .zstd: backend = .zstd(try _ZstdCompressor(level: level!))
        }
    }

    /// Compresses `input` and appends the framed result to `output`.
    ///
    /// The codec writes straight into `output`'s storage: room for the codec's worst case
    /// (`deflateBound`, `snappy_max_compressed_length`, `LZ4F_compressFrameBound`,
    /// `ZSTD_compressBound`) is reserved and only the bytes written are kept, so `output` may
    /// end up with spare capacity. On error, `output` keeps its original contents.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        let start = output.count
        do throws(CompressionError) {
            switch backend {
            case .none: output.append(contentsOf: input)
            case .gzip(let gzip): try gzip.compress(input, appendingTo: &output)
            case .snappy: try _Snappy.compress(input, appendingTo: &output)
            case .lz4(let lz4): try lz4.compress(input, appendingTo: &output)
            case .zstd(let zstd): try zstd.compress(input, appendingTo: &output)
            }
        } catch {
            output.removeSubrange(start...)
            throw error
        }
    }

    /// Convenience: compresses a byte array into a new array.
    public func compress(_ input: [UInt8]) throws(CompressionError) -> [UInt8] {
        var out: [UInt8] = []
        try withUnsafeBytesTyped(input) { (raw) throws(CompressionError) in try compress(raw, appendingTo: &out) }
        return out
    }
}

@available(*, unavailable, message: "a Compressor owns a C codec context; give each thread its own")
extension Compressor: Sendable {}

private enum _CompressorBackend {
    case none
    case gzip(_GzipCompressor)
    case snappy
    case lz4(_LZ4Compressor)
    case zstd(_ZstdCompressor)
}

/// Decompresses record batch payloads written with Kafka's framing for one codec.
///
/// Mirrors the consumer side of `compression.type` (the codec is read from a batch's
/// attributes). Accepts what Kafka and its clients write, and a little more:
///
/// - `gzip`: a gzip stream, including concatenated members.
/// - `snappy`: the xerial/snappy-java stream (including concatenated streams), or raw snappy
///   without the xerial header, as Kafka's clients accept.
/// - `lz4`: LZ4 frames, with independent or linked blocks, with or without checksums and
///   content size; concatenated and skippable frames.
/// - `zstd`: zstd frames, with or without a content size; concatenated and skippable frames.
///
/// Reuses its codec context (a `ZSTD_DCtx`, an `LZ4F_dctx`, a zlib inflate stream) across
/// calls and frees it in `deinit`. Not thread-safe and not `Sendable`: one per thread.
public final class Decompressor {
    /// The default ceiling on one decompressed payload, as a guard against decompression bombs.
    public static let defaultMaxOutputBytes = 256 << 20

    /// The codec (`compression.type` of the batches this decompressor reads).
    public let codec: CompressionCodec

    private let backend: _DecompressorBackend

    /// Creates a decompressor and its codec context.
    ///
    /// - Throws: `.libraryFailure` if the codec library cannot create its context.
    public init(codec: CompressionCodec) throws(CompressionError) {
        self.codec = codec
        switch codec {
        case .none: backend = .none
        case .gzip: backend = .gzip(try _GzipDecompressor())
        case .snappy: backend = .snappy
        case .lz4: backend = .lz4(try _LZ4Decompressor())
        case .zstd: backend = .zstd(try _ZstdDecompressor())
        }
    }

    /// Decompresses `input` and appends the result to `output`.
    ///
    /// Malformed input throws `.corruptInput`, input that ends early throws `.truncatedInput`
    /// (an empty input is truncated for every codec but `none`), and a payload that would
    /// decompress to more than `maxOutputBytes` throws `.outputTooLarge` without allocating
    /// more than about that much. The xerial snappy framing has no end marker, so a snappy
    /// stream cut exactly between two blocks decodes to a prefix of the data. On error,
    /// `output` keeps its original contents.
    public func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8],
        maxOutputBytes: Int = Decompressor.defaultMaxOutputBytes
    ) throws(CompressionError) {
        guard !input.isEmpty || codec == .none else { throw .truncated(codec, 0) }
        let start = output.count
        do throws(CompressionError) {
            switch backend {
            case .none:
                guard input.count <= maxOutputBytes else { throw CompressionError.tooLarge(codec, maxOutputBytes) }
                output.append(contentsOf: input)
            case .gzip(let gzip): try gzip.decompress(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
            case .snappy: try _Snappy.decompress(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
            case .lz4(let lz4): try lz4.decompress(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
            case .zstd(let zstd): try zstd.decompress(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
            }
        } catch {
            output.removeSubrange(start...)
            throw error
        }
    }

    /// Convenience: decompresses a byte array into a new array, with the default
    /// ``defaultMaxOutputBytes`` limit.
    public func decompress(_ input: [UInt8]) throws(CompressionError) -> [UInt8] {
        try decompress(input, maxOutputBytes: Decompressor.defaultMaxOutputBytes)
    }

    /// Convenience: decompresses a byte array into a new array, refusing payloads larger than
    /// `maxOutputBytes` with `.outputTooLarge`.
    public func decompress(_ input: [UInt8], maxOutputBytes: Int) throws(CompressionError) -> [UInt8] {
        var out: [UInt8] = []
        try withUnsafeBytesTyped(input) { (raw) throws(CompressionError) in
            try decompress(raw, appendingTo: &out, maxOutputBytes: maxOutputBytes)
        }
        return out
    }
}

@available(*, unavailable, message: "a Decompressor owns a C codec context; give each thread its own")
extension Decompressor: Sendable {}

private enum _DecompressorBackend {
    case none
    case gzip(_GzipDecompressor)
    case snappy
    case lz4(_LZ4Decompressor)
    case zstd(_ZstdDecompressor)
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
