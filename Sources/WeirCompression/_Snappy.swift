// snappy: the xerial/snappy-java stream framing that Kafka's SnappyOutputStream writes.
//
//     header  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00 | int32 BE version (1) | int32 BE compatible version (1)
//     blocks  [int32 BE compressed length][raw snappy block], each block from ≤ 32 KiB of input
//
// On read, raw snappy (no xerial header) is accepted too, as Kafka's clients do, and so are
// concatenated xerial streams (a header where a block length would be), as snappy-java does.
// snappy itself keeps no context, so there is nothing to reuse.

import CSnappy

enum _Snappy {
    /// The xerial magic: 0x82 "SNAPPY" 0x00.
    static let magic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// The full 16-byte stream header: magic, version 1, compatible version 1.
    static let header: [UInt8] = magic + [0, 0, 0, 1, 0, 0, 0, 1]
    /// snappy-java's default block size: input is cut into blocks of this many bytes.
    static let blockSize = 32 << 10

    static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(CompressionError) {
        let blocks = (input.count + blockSize - 1) / blockSize
        let bound = header.count + blocks * (4 + snappy_max_compressed_length(blockSize))
        try output._appendUninitialized(capacity: bound) { (buffer) throws(CompressionError) -> Int in
            let out = buffer.baseAddress!
            header.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var position = header.count
            var offset = 0
            while offset < input.count {
                let n = min(blockSize, input.count - offset)
                var compressedLength = buffer.count - position - 4
                let status = snappy_compress(
                    (input.baseAddress! + offset).assumingMemoryBound(to: CChar.self), n,
                    (out + position + 4).assumingMemoryBound(to: CChar.self), &compressedLength)
                guard status == SNAPPY_OK else { throw .library(.snappy, "snappy_compress failed (\(status.rawValue))") }
                out.storeBytes(of: UInt32(compressedLength).bigEndian, toByteOffset: position, as: UInt32.self)
                position += 4 + compressedLength
                offset += n
            }
            return position
        }
    }

    static func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        if hasMagic(input, at: 0) {
            try decompressXerial(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
        } else if input.count < magic.count && magic.starts(with: input) {
            throw .truncated(.snappy, input.count, "inside the xerial header")
        } else {
            try decompressRaw(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
        }
    }

    private static func hasMagic(_ input: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        input.count - offset >= magic.count && magic.elementsEqual(input[offset..<offset + magic.count])
    }

    /// The uncompressed length a raw snappy block declares. No snappy element expands more
    /// than 64 bytes out of 3 in, so a larger claim is damage (or not snappy at all), not a
    /// big payload.
    private static func uncompressedLength(_ block: UnsafeRawBufferPointer) throws(CompressionError) -> Int {
        var length = 0
        guard let base = block.baseAddress,
            snappy_uncompressed_length(base.assumingMemoryBound(to: CChar.self), block.count, &length) == SNAPPY_OK
        else { throw .corrupt(.snappy, "bad snappy block length") }
        guard length <= block.count * 22 else {
            throw .corrupt(.snappy, "a \(block.count)-byte snappy block cannot hold \(length) bytes")
        }
        return length
    }

    private static func decompressRaw(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        let length = try uncompressedLength(input)
        guard length <= maxOutputBytes else { throw .tooLarge(.snappy, maxOutputBytes) }
        try output._appendUninitialized(capacity: length) { (buffer) throws(CompressionError) -> Int in
            try uncompress(input, into: buffer.baseAddress, length)
            return length
        }
    }

    private static func uncompress(
        _ block: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer?, _ length: Int
    ) throws(CompressionError) {
        var written = length
        let status = snappy_uncompress(
            block.baseAddress!.assumingMemoryBound(to: CChar.self), block.count,
            destination?.assumingMemoryBound(to: CChar.self), &written)
        guard status == SNAPPY_OK, written == length else { throw .corrupt(.snappy, "invalid snappy block") }
    }

    /// Two passes: the first checks the framing and sums the blocks' declared lengths (so the
    /// output is allocated once, and a decompression bomb is refused before any work); the
    /// second decodes each block straight into place.
    private static func decompressXerial(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], maxOutputBytes: Int
    ) throws(CompressionError) {
        var total = 0
        var blocks = 0
        try forEachBlock(input) { (block) throws(CompressionError) in
            total += try uncompressedLength(block)
            blocks += 1
            guard total <= maxOutputBytes else { throw .tooLarge(.snappy, maxOutputBytes) }
        }
        guard blocks > 0 else { return }
        try output._appendUninitialized(capacity: total) { (buffer) throws(CompressionError) -> Int in
            var position = 0
            try forEachBlock(input) { (block) throws(CompressionError) in
                let length = try uncompressedLength(block)
                try uncompress(block, into: buffer.baseAddress! + position, length)
                position += length
            }
            return position
        }
    }

    private static func forEachBlock(
        _ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(CompressionError) -> Void
    ) throws(CompressionError) {
        var offset = 0
        while offset < input.count {
            if hasMagic(input, at: offset) {
                guard input.count - offset >= header.count else {
                    throw .truncated(.snappy, input.count, "inside the xerial header")
                }
                offset += header.count
                continue
            }
            guard input.count - offset >= 4 else { throw .truncated(.snappy, input.count, "inside a block length") }
            let length = Int(UInt32(bigEndian: input.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            guard length > 0, length <= Int(Int32.max) else {
                throw .corrupt(.snappy, "bad xerial block length \(length)")
            }
            guard input.count - offset >= length else { throw .truncated(.snappy, input.count, "inside a block") }
            try body(UnsafeRawBufferPointer(rebasing: input[offset..<offset + length]))
            offset += length
        }
    }
}
