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
    private let context: OpaquePointer

    init(level: Int) throws(CompressionError) {
        guard let context = ZSTD_createCCtx() else { throw .library(.zstd, "ZSTD_createCCtx failed") }
        let rc = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
        guard ZSTD_isError(rc) == 0 else {
            ZSTD_freeCCtx(context)
            throw .library(.zstd, zstdErrorName(rc))
        }
        self.context = context
    }

    deinit {
        ZSTD_freeCCtx(context)
    }

    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
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
    private let context: OpaquePointer

    init() throws(CompressionError) {
        guard let context = ZSTD_createDCtx() else { throw .library(.zstd, "ZSTD_createDCtx failed") }
        self.context = context
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        guard let source = input.baseAddress, input.count > 0 else { throw .truncated(.zstd, 0) }
        let context = self.context
        let contentSize = ZSTD_getFrameContentSize(source, input.count)
        if contentSize != contentSizeUnknown && contentSize != contentSizeError
            && ZSTD_findFrameCompressedSize(source, input.count) == input.count
        {
            // One frame that states its size: check the limit before any work, then decode in
            // one shot into exactly that much room.
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
            initialCapacity: input.count * 4, minimumChunk: ZSTD_DStreamOutSize()
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
                // 0: a frame is fully decoded and flushed; another may follow.
                if hint == 0 && inputLeft == 0 { return .done(written: outBuffer.pos) }
                if outBuffer.pos == outBuffer.size { return .needsOutput(written: outBuffer.pos) }
                if hint != 0 && inputLeft == 0 {
                    ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
                    throw .truncated(.zstd, input.count)
                }
                if inBuffer.pos == inBefore && outBuffer.pos == outBefore {
                    ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
                    throw .corrupt(.zstd, "ZSTD_decompressStream made no progress")
                }
            }
        }
    }
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
