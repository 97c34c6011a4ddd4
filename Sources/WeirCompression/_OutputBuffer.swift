// Writing codec output straight into a `[UInt8]`'s storage, without zero-filling or an
// intermediate copy, and the bounded growth loop that streaming decoders share.

extension Array where Element == UInt8 {
    /// Grows the array's storage by `capacity` uninitialized bytes, lets `body` write into
    /// them, and keeps the first `body`-returned count of them. If `body` throws, the array's
    /// count is unchanged.
    @inline(__always)
    mutating func _appendUninitialized<E: Error>(
        capacity: Int, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> Int
    ) throws(E) {
        try append(addingCapacity: capacity) { (span: inout OutputSpan<UInt8>) throws(E) in
            try span.withUnsafeMutableBufferPointer { (buffer, initializedCount) throws(E) in
                initializedCount = try body(UnsafeMutableRawBufferPointer(buffer))
            }
        }
    }
}

/// The state a streaming decoder step reports after filling (part of) an output buffer.
enum _StepResult {
    /// The payload is fully decoded; `written` bytes were produced by this step.
    case done(written: Int)
    /// The output buffer is full and the decoder has more to produce.
    case needsOutput(written: Int)
}

/// Runs a streaming decoder: hands `step` successive output buffers carved from `output`'s
/// storage until it reports `.done`, never letting the payload grow past `maxOutputBytes` + 1
/// (the extra byte tells "exactly at the limit" from "over it").
///
/// - Parameters:
///   - initialCapacity: a size estimate for the first buffer (clamped to the limit).
///   - minimumChunk: the smallest buffer worth handing out when the limit allows (e.g. a block
///     size, so the library can decode straight into it).
func _decodeStreaming(
    codec: CompressionCodec,
    into output: inout [UInt8],
    maxOutputBytes: Int,
    initialCapacity: Int,
    minimumChunk: Int,
    _ step: (UnsafeMutableRawBufferPointer) throws(CompressionError) -> _StepResult
) throws(CompressionError) {
    let start = output.count
    let limit = maxOutputBytes == .max ? Int.max : max(0, maxOutputBytes) + 1
    var first = true
    while true {
        let produced = output.count - start
        let allowance = limit - produced
        guard allowance > 0 else { throw .tooLarge(codec, maxOutputBytes) }
        let wanted: Int
        if first {
            wanted = max(initialCapacity, minimumChunk)
            first = false
        } else {
            // Use the spare capacity a geometric regrowth left, and at least double the payload.
            wanted = max(minimumChunk, output.capacity - output.count, produced)
        }
        var finished = false
        try output._appendUninitialized(capacity: min(wanted, allowance)) {
            (buffer) throws(CompressionError) -> Int in
            switch try step(buffer) {
            case .done(let written):
                finished = true
                return written
            case .needsOutput(let written):
                // A step that neither finishes nor fills its buffer would loop forever.
                guard written == buffer.count else {
                    throw .corrupt(codec, "the decoder stopped making progress")
                }
                return written
            }
        }
        if finished { break }
    }
    if output.count - start > maxOutputBytes { throw .tooLarge(codec, maxOutputBytes) }
}
