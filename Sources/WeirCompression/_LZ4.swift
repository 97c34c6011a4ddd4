// lz4: the LZ4 frame format, with independent 64 KiB blocks and no content checksum, as
// Kafka's KafkaLZ4BlockOutputStream and librdkafka write it. Decoding accepts any valid
// frame (linked blocks, checksums, content size, concatenated and skippable frames).

import CLZ4

/// The LZ4 frame magic number, little-endian on the wire.
private let lz4FrameMagic: UInt32 = 0x184D_2204

/// An `LZ4F_cctx` kept across calls; `LZ4F_compressBegin` restarts it for each frame and
/// keeps its tables (including the LZ4HC state for levels ≥ 3).
final class _LZ4Compressor {
    private let context: _CodecContext
    private var preferences: LZ4F_preferences_t

    init(level: Int) throws(CompressionError) {
        var context: OpaquePointer?
        let rc = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let context else {
            throw .library(.lz4, "LZ4F_createCompressionContext failed")
        }
        self.context = _CodecContext(context, free: LZ4F_freeCompressionContext)
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

    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        let context = self.context.pointer
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
    private let context: _CodecContext

    init() throws(CompressionError) {
        var context: OpaquePointer?
        let rc = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let context else {
            throw .library(.lz4, "LZ4F_createDecompressionContext failed")
        }
        self.context = _CodecContext(context, free: LZ4F_freeDecompressionContext)
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        let source = input.baseAddress!  // not empty: `Decompressor` checked
        let context = self.context.pointer
        LZ4F_resetDecompressionContext(context)
        let (blockSize, estimate) = _lz4FrameSizeEstimate(input)
        var consumed = 0
        try _decodeStreaming(
            codec: .lz4, into: &output, maxOutputBytes: maxOutputBytes,
            initialCapacity: estimate ?? max(input.count * 4, blockSize), minimumChunk: blockSize
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
                let progressed = srcSize > 0 || dstSize > 0
                // 0: a frame ended (another may follow).
                if hint == 0 && inputLeft == 0 { return .done(written: written) }
                if written == buffer.count {
                    // Full: go on while LZ4F can work without room (end mark, checksum, header).
                    if !progressed { return .needsOutput(written: written) }
                    continue
                }
                if hint != 0 && inputLeft == 0 || !progressed {
                    LZ4F_resetDecompressionContext(context)
                    if inputLeft == 0 { throw .truncated(.lz4, input.count) }
                    throw .corrupt(.lz4, "LZ4F_decompress made no progress")
                }
            }
        }
    }
}

/// Reads the first LZ4 frame's descriptor and block headers without decoding: its maximum
/// block size (LZ4F decodes straight into a buffer with a whole block of room) and an upper
/// bound on its decoded size (the content size when stated; otherwise each compressed block
/// counts as a full block and each stored block as its size), or nil when the frame's blocks
/// cannot be walked to the end mark. Kafka's frames (64 KiB blocks, no content size) get a
/// bound within one block of the truth. Never traps on malformed input.
func _lz4FrameSizeEstimate(_ input: UnsafeRawBufferPointer) -> (blockSize: Int, estimate: Int?) {
    var blockSize = 64 << 10
    guard input.count >= 7, UInt32(littleEndian: input.loadUnaligned(as: UInt32.self)) == lz4FrameMagic else {
        return (blockSize, nil)
    }
    let flg = input[4]
    switch (input[5] >> 4) & 0x7 {
    case 5: blockSize = 256 << 10
    case 6: blockSize = 1 << 20
    case 7: blockSize = 4 << 20
    default: break
    }
    var position = 6
    if flg & 0x08 != 0 {
        guard input.count >= position + 8 else { return (blockSize, nil) }
        let contentSize = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        // A compressed byte decodes to at most ~255 bytes, which caps a damaged size field.
        return (blockSize, Int(min(contentSize, UInt64(input.count) * 256)))
    }
    if flg & 0x01 != 0 { position += 4 }  // dictionary id
    position += 1  // header checksum
    let blockChecksum = flg & 0x10 != 0 ? 4 : 0
    var total = 0
    while position <= input.count - 4 {
        let word = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        if word == 0 { return (blockSize, total) }  // end mark
        let size = Int(word & 0x7FFF_FFFF)
        total += word & 0x8000_0000 != 0 ? min(size, blockSize) : blockSize
        guard size <= input.count - position else { break }
        position += size + blockChecksum
    }
    return (blockSize, nil)
}

private func lz4ErrorName(_ code: Int) -> String {
    String(cString: LZ4F_getErrorName(code))
}
