// zstd: a zstd frame. Compression is one-shot (`ZSTD_compress2`), so the frame carries its
// content size. Decoding takes a one-shot path when a single frame states its content size and
// streams (`ZSTD_decompressStream`) otherwise: frames written by streaming encoders, such as
// Kafka's zstd-jni ZstdOutputStream, carry no content size.

import CZstd

private let contentSizeUnknown = UInt64.max  // ZSTD_CONTENTSIZE_UNKNOWN
private let contentSizeError = UInt64.max - 1  // ZSTD_CONTENTSIZE_ERROR

/// A `ZSTD_CCtx` kept across calls; its level is set once, and `ZSTD_compress2` resets only the
/// session for each payload.
final class _ZstdCompressor {
    private let context: _CodecContext

    init(level: Int) throws(CompressionError) {
        guard let pointer = ZSTD_createCCtx() else { throw .library(.zstd, "ZSTD_createCCtx failed") }
        let context = _CodecContext(pointer, free: ZSTD_freeCCtx)
        let rc = ZSTD_CCtx_setParameter(pointer, ZSTD_c_compressionLevel, Int32(level))
        guard ZSTD_isError(rc) == 0 else { throw .library(.zstd, zstdErrorName(rc)) }
        self.context = context
    }

    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        let context = self.context.pointer
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0 else { throw .library(.zstd, zstdErrorName(bound)) }
        try output._appendUninitialized(capacity: bound) { (buffer) throws(CompressionError) -> Int in
            let n = ZSTD_compress2(context, buffer.baseAddress, buffer.count, input.baseAddress, input.count)
            guard ZSTD_isError(n) == 0 else {
                ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
                throw .library(.zstd, zstdErrorName(n))
            }
            return n
        }
    }
}

/// A `ZSTD_DCtx` kept across calls and reset per payload (`ZSTD_DCtx_reset`, session only).
/// Its window limit stays at zstd's default (`ZSTD_d_windowLogMax` 27, 128 MiB), as in
/// zstd-jni, which bounds what a hostile frame header can make it allocate.
final class _ZstdDecompressor {
    private let context: _CodecContext

    init() throws(CompressionError) {
        guard let context = ZSTD_createDCtx() else { throw .library(.zstd, "ZSTD_createDCtx failed") }
        self.context = _CodecContext(context, free: ZSTD_freeDCtx)
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        let source = input.baseAddress!  // not empty: `Decompressor` checked
        let context = self.context.pointer
        let contentSize = ZSTD_getFrameContentSize(source, input.count)
        if contentSize != contentSizeUnknown && contentSize != contentSizeError
            && ZSTD_findFrameCompressedSize(source, input.count) == input.count
        {
            // One frame that states its size: check the limit before any work, then decode in
            // one shot into exactly that much room. A block of at least 4 bytes decodes to at
            // most 128 KiB, so a larger stated size is a damaged header, not a big payload.
            guard contentSize <= UInt64(input.count / 4 + 1) * UInt64(zstdBlockSizeMax) else {
                throw .corrupt(.zstd, "frame states a content size of \(contentSize) bytes for \(input.count) bytes of input")
            }
            guard contentSize <= UInt64(max(0, maxOutputBytes)) else { throw .tooLarge(.zstd, maxOutputBytes) }
            let size = Int(contentSize)
            try output._appendUninitialized(capacity: size) { (buffer) throws(CompressionError) -> Int in
                let n = ZSTD_decompressDCtx(context, buffer.baseAddress, size, source, input.count)
                guard ZSTD_isError(n) == 0 else { throw zstdError(n, input.count) }
                guard n == size else { throw .corrupt(.zstd, "frame decoded to \(n) bytes, not the \(size) it states") }
                return n
            }
            return
        }

        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        var inBuffer = ZSTD_inBuffer(src: source, size: input.count, pos: 0)
        try _decodeStreaming(
            codec: .zstd, into: &output, maxOutputBytes: maxOutputBytes,
            initialCapacity: _zstdFrameSizeEstimate(input) ?? max(input.count * 4, ZSTD_DStreamOutSize()),
            minimumChunk: ZSTD_DStreamOutSize()
        ) { (buffer) throws(CompressionError) -> _StepResult in
            var outBuffer = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            while true {
                let inBefore = inBuffer.pos
                let outBefore = outBuffer.pos
                let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                if ZSTD_isError(hint) != 0 {
                    ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
                    throw zstdError(hint, input.count)
                }
                let inputLeft = inBuffer.size - inBuffer.pos
                let progressed = inBuffer.pos != inBefore || outBuffer.pos != outBefore
                // 0: a frame is fully decoded and flushed; another may follow.
                if hint == 0 && inputLeft == 0 { return .done(written: outBuffer.pos) }
                if outBuffer.pos == outBuffer.size {
                    // Full: go on while zstd can work without room (checksum, next header).
                    if !progressed { return .needsOutput(written: outBuffer.pos) }
                    continue
                }
                if hint != 0 && inputLeft == 0 || !progressed {
                    ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
                    if inputLeft == 0 { throw .truncated(.zstd, input.count) }
                    throw .corrupt(.zstd, "ZSTD_decompressStream made no progress")
                }
            }
        }
    }
}

/// zstd's largest block: no block decodes to more.
private let zstdBlockSizeMax = 128 << 10

/// Reads the first zstd frame's header and block headers without decoding, and returns an
/// upper bound on its decoded size: stored and RLE blocks count as their size, compressed
/// blocks as a full block (the smaller of the window and 128 KiB). Streaming encoders such as
/// zstd-jni emit full 128 KiB blocks, so the bound is within a block of the truth. nil when
/// the frame cannot be walked to its last block. Never traps on malformed input.
func _zstdFrameSizeEstimate(_ input: UnsafeRawBufferPointer) -> Int? {
    guard input.count >= 6, UInt32(littleEndian: input.loadUnaligned(as: UInt32.self)) == 0xFD2F_B528 else {
        return nil
    }
    let descriptor = input[4]
    let singleSegment = descriptor & 0x20 != 0
    var position = 5
    var blockMax = zstdBlockSizeMax
    if !singleSegment {
        let windowDescriptor = Int(input[5])
        let windowBase = 1 << (10 + (windowDescriptor >> 3))
        blockMax = min(blockMax, windowBase + (windowBase >> 3) * (windowDescriptor & 7))
        position += 1
    }
    position += [0, 1, 2, 4][Int(descriptor & 0x03)]  // dictionary id
    position += [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]  // content size
    var total = 0
    while position <= input.count - 3 {
        let header = Int(input[position]) | Int(input[position + 1]) << 8 | Int(input[position + 2]) << 16
        position += 3
        let size = header >> 3
        switch (header >> 1) & 0x3 {
        case 0:  // stored
            total += size
            position += size
        case 1:  // RLE: one byte repeated `size` times
            total += size
            position += 1
        case 2:  // compressed
            total += blockMax
            position += size
        default:
            return nil
        }
        if header & 1 != 0 { return position <= input.count ? total : nil }  // last block
    }
    return nil
}

private func zstdErrorName(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
}

private func zstdError(_ code: Int, _ inputCount: Int) -> CompressionError {
    switch ZSTD_getErrorCode(code) {
    case ZSTD_error_memory_allocation:
        .library(.zstd, zstdErrorName(code))
    case ZSTD_error_srcSize_wrong:
        .truncated(.zstd, inputCount, zstdErrorName(code))
    default:
        .corrupt(.zstd, zstdErrorName(code))
    }
}
