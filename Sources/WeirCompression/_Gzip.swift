// gzip: a gzip stream (RFC 1952) as Kafka's GZIPOutputStream writes it; zlib with
// windowBits 31. Decoding accepts concatenated members, as GZIPInputStream and gzip(1) do.

import CZlib

/// zlib's `windowBits` for a gzip wrapper around a 32 KiB deflate window.
private let gzipWindowBits: Int32 = 31
/// The most bytes handed to zlib at once (`avail_in` / `avail_out` are 32-bit).
private let zlibChunk = Int(UInt32.max)

/// A `z_stream` set up by `setUp` (`deflateInit2` or `inflateInit2`, named by `call` in the
/// error); freed again when that fails.
private func _makeZStream(_ call: String, _ setUp: (UnsafeMutablePointer<z_stream>) -> Int32) throws(CompressionError) -> UnsafeMutablePointer<z_stream> {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    let rc = setUp(stream)
    guard rc == Z_OK else {
        _freeZStream(stream)
        throw .library(.gzip, "\(call) failed (\(rc))")
    }
    return stream
}

/// Releases a `z_stream` of `_makeZStream` (after its `deflateEnd`/`inflateEnd`).
private func _freeZStream(_ stream: UnsafeMutablePointer<z_stream>) {
    stream.deinitialize(count: 1)
    stream.deallocate()
}

/// A deflate stream kept across calls and reset per payload (`deflateReset`).
final class _GzipCompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    init(level: Int) throws(CompressionError) {
        stream = try _makeZStream("deflateInit2") {
            deflateInit2_($0, Int32(level), Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        }
    }

    deinit {
        deflateEnd(stream)
        _freeZStream(stream)
    }

    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        let s = stream
        guard deflateReset(s) == Z_OK else { throw .library(.gzip, "deflateReset failed") }
        s.pointee.avail_in = 0
        defer { s.pointee.clearBuffers() }
        let source = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        var fed = 0
        var capacity = Int(deflateBound(s, uLong(input.count)))
        var finished = false
        while !finished {
            try output._appendUninitialized(capacity: capacity) { (buffer) throws(CompressionError) -> Int in
                var written = 0
                while !finished && written < buffer.count {
                    if s.pointee.avail_in == 0 && fed < input.count {
                        let n = min(input.count - fed, zlibChunk)
                        s.pointee.next_in = UnsafeMutablePointer(mutating: source! + fed)
                        s.pointee.avail_in = uInt(n)
                        fed += n
                    }
                    let room = min(buffer.count - written, zlibChunk)
                    s.pointee.next_out = (buffer.baseAddress! + written).assumingMemoryBound(to: Bytef.self)
                    s.pointee.avail_out = uInt(room)
                    let rc = deflate(s, fed == input.count ? Z_FINISH : Z_NO_FLUSH)
                    written += room - Int(s.pointee.avail_out)
                    switch rc {
                    case Z_STREAM_END: finished = true
                    case Z_OK, Z_BUF_ERROR: continue
                    default: throw .library(.gzip, "deflate failed (\(rc))")
                    }
                }
                return written
            }
            capacity = 64 << 10
        }
    }
}

/// An inflate stream kept across calls and reset per payload (`inflateReset`).
final class _GzipDecompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    init() throws(CompressionError) {
        stream = try _makeZStream("inflateInit2") { inflateInit2_($0, gzipWindowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) }
    }

    deinit {
        inflateEnd(stream)
        _freeZStream(stream)
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        let source = input.baseAddress!.assumingMemoryBound(to: Bytef.self)  // not empty: `Decompressor` checked
        let s = stream
        guard inflateReset(s) == Z_OK else { throw .library(.gzip, "inflateReset failed") }
        // inflateReset leaves the buffer fields alone; a failed call may have left input behind.
        s.pointee.avail_in = 0
        defer { s.pointee.clearBuffers() }
        var fed = 0
        // The trailer's ISIZE (size mod 2^32 of the last member) is a good first guess; deflate
        // cannot expand more than ~1032:1, which bounds the guess for damaged input.
        var estimate = max(input.count * 4, 32 << 10)
        if input.count >= 18 {
            let isize = Int(UInt32(littleEndian: input.loadUnaligned(fromByteOffset: input.count - 4, as: UInt32.self)))
            if isize <= input.count * 1032 { estimate = isize }
        }
        try _decodeStreaming(
            codec: .gzip, into: &output, maxOutputBytes: maxOutputBytes,
            initialCapacity: estimate, minimumChunk: 32 << 10
        ) { (buffer) throws(CompressionError) -> _StepResult in
            var written = 0
            while true {
                if s.pointee.avail_in == 0 && fed < input.count {
                    let n = min(input.count - fed, zlibChunk)
                    s.pointee.next_in = UnsafeMutablePointer(mutating: source + fed)
                    s.pointee.avail_in = uInt(n)
                    fed += n
                }
                let room = min(buffer.count - written, zlibChunk)
                s.pointee.next_out = (buffer.baseAddress! + written).assumingMemoryBound(to: Bytef.self)
                s.pointee.avail_out = uInt(room)
                let inBefore = s.pointee.avail_in
                let rc = inflate(s, Z_NO_FLUSH)
                let produced = room - Int(s.pointee.avail_out)
                written += produced
                let progressed = produced > 0 || s.pointee.avail_in != inBefore
                let noMoreInput = s.pointee.avail_in == 0 && fed == input.count
                switch rc {
                case Z_STREAM_END:
                    if noMoreInput { return .done(written: written) }
                    // Another gzip member follows.
                    guard inflateReset(s) == Z_OK else { throw .library(.gzip, "inflateReset failed") }
                case Z_OK, Z_BUF_ERROR:
                    if written == buffer.count {
                        // Full: go on while inflate can work without room (end of block, trailer).
                        if !progressed { return .needsOutput(written: written) }
                    } else if noMoreInput {
                        throw .truncated(.gzip, input.count)
                    } else if !progressed {
                        throw .corrupt(.gzip, "inflate made no progress")
                    }
                case Z_DATA_ERROR, Z_NEED_DICT:
                    throw .corrupt(.gzip, s.pointee.msg.map { String(cString: $0) } ?? "invalid deflate data")
                case Z_MEM_ERROR:
                    throw .library(.gzip, "inflate ran out of memory")
                default:
                    throw .library(.gzip, "inflate failed (\(rc))")
                }
            }
        }
    }
}

extension z_stream {
    /// Forgets the caller's buffers, so no pointer outlives the call that lent it.
    fileprivate mutating func clearBuffers() {
        next_in = nil
        avail_in = 0
        next_out = nil
        avail_out = 0
    }
}
