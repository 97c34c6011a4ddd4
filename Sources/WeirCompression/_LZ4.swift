// lz4: the LZ4 frame format, with independent 64 KiB blocks and no content checksum, as
// Kafka's KafkaLZ4BlockOutputStream and librdkafka write it. Decoding accepts any valid
// frame (linked blocks, checksums, content size, concatenated and skippable frames).

import CLZ4

/// The LZ4 frame magic number, little-endian on the wire.
private let lz4FrameMagic: UInt32 = 0x184D_2204

/// An `LZ4F_cctx` kept across calls; `LZ4F_compressBegin` restarts it for each frame and
/// keeps its tables (including the LZ4HC state for levels ≥ 3).
final class _LZ4Compressor {
    private let context: OpaquePointer
    private var preferences: LZ4F_preferences_t

    init(level: Int) throws(CompressionError) {
        var context: OpaquePointer?
        let rc = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let context else {
            throw .library(.lz4, "LZ4F_createCompressionContext failed")
        }
        self.context = context
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        // Levels below LZ4HC's minimum (3) select the fast compressor.
        preferences.compressionLevel = Int32(level)
        // Whole payloads go in at once: compress blocks straight into the output.
        preferences.autoFlush = 1
        self.preferences = preferences
    }

    deinit {
        LZ4F_freeCompressionContext(context)
    }

    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        guard LZ4F_isError(bound) == 0 else { throw .library(.lz4, lz4ErrorName(bound)) }
        try output._appendUninitialized(capacity: bound) { (buffer) throws(CompressionError) -> Int in
            let out = buffer.baseAddress!
            var position = LZ4F_compressBegin(context, out, buffer.count, &preferences)
            guard LZ4F_isError(position) == 0 else { throw .library(.lz4, lz4ErrorName(position)) }
            if input.count > 0 {
                let n = LZ4F_compressUpdate(
                    context, out + position, buffer.count - position, input.baseAddress, input.count, nil)
                guard LZ4F_isError(n) == 0 else { throw .library(.lz4, lz4ErrorName(n)) }
                position += n
            }
            let n = LZ4F_compressEnd(context, out + position, buffer.count - position, nil)
            guard LZ4F_isError(n) == 0 else { throw .library(.lz4, lz4ErrorName(n)) }
            return position + n
        }
    }
}

/// An `LZ4F_dctx` kept across calls and reset per payload (`LZ4F_resetDecompressionContext`).
final class _LZ4Decompressor {
    private let context: OpaquePointer

    init() throws(CompressionError) {
        var context: OpaquePointer?
        let rc = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let context else {
            throw .library(.lz4, "LZ4F_createDecompressionContext failed")
        }
        self.context = context
    }

    deinit {
        LZ4F_freeDecompressionContext(context)
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        guard let source = input.baseAddress, input.count > 0 else { throw .truncated(.lz4, 0) }
        let context = self.context
        LZ4F_resetDecompressionContext(context)
        // Peek at the first frame's descriptor: its block size lets LZ4F decode straight into
        // our buffer (it needs a whole block of room), and its content size, when present,
        // sizes the output exactly.
        var blockSize = 64 << 10
        var estimate = input.count * 4
        if input.count >= 7, UInt32(littleEndian: input.loadUnaligned(as: UInt32.self)) == lz4FrameMagic {
            let flg = input[4]
            let bd = input[5]
            switch (bd >> 4) & 0x7 {
            case 5: blockSize = 256 << 10
            case 6: blockSize = 1 << 20
            case 7: blockSize = 4 << 20
            default: break
            }
            if flg & 0x08 != 0, input.count >= 14 {
                let contentSize = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: 6, as: UInt64.self))
                if contentSize <= UInt64(Int.max) { estimate = Int(contentSize) }
            }
        }
        var consumed = 0
        try _decodeStreaming(
            codec: .lz4, into: &output, maxOutputBytes: maxOutputBytes,
            initialCapacity: max(estimate, 1), minimumChunk: blockSize
        ) { (buffer) throws(CompressionError) -> _StepResult in
            var written = 0
            while true {
                var dstSize = buffer.count - written
                var srcSize = input.count - consumed
                let hint = LZ4F_decompress(
                    context, buffer.baseAddress! + written, &dstSize, source + consumed, &srcSize, nil)
                if LZ4F_isError(hint) != 0 {
                    let name = lz4ErrorName(hint)
                    LZ4F_resetDecompressionContext(context)
                    if name.contains("allocation") { throw .library(.lz4, name) }
                    throw .corrupt(.lz4, name)
                }
                consumed += srcSize
                written += dstSize
                let inputLeft = input.count - consumed
                if hint == 0 {
                    // A frame ended; another may follow.
                    if inputLeft == 0 { return .done(written: written) }
                    continue
                }
                if written == buffer.count { return .needsOutput(written: written) }
                if inputLeft == 0 {
                    LZ4F_resetDecompressionContext(context)
                    throw .truncated(.lz4, input.count)
                }
                if srcSize == 0 && dstSize == 0 {
                    LZ4F_resetDecompressionContext(context)
                    throw .corrupt(.lz4, "LZ4F_decompress made no progress")
                }
            }
        }
    }
}

private func lz4ErrorName(_ code: Int) -> String {
    String(cString: LZ4F_getErrorName(code))
}
