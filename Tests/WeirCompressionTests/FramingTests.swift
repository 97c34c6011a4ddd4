import Testing
@testable import WeirCompression
import WeirTestSupport

func readInt32BE(_ bytes: [UInt8], _ offset: Int) -> Int {
    Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
}

/// The bytes on the wire are Kafka's framing, checked byte by byte.
@Suite struct FramingTests {
    @Test func xerialSnappyHeaderIsExact() throws {
        let compressed = try Compressor(codec: .snappy).compress(Payloads.json(1000))
        let expected: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        #expect(Array(compressed[0..<16]) == expected)
        // One block follows: [int32 BE length][raw snappy], filling the rest exactly.
        #expect(readInt32BE(compressed, 16) == compressed.count - 20)
        // An empty payload is the header alone.
        #expect(try Compressor(codec: .snappy).compress([]) == expected)
    }

    @Test func xerialSnappyBlocksHold32KiBOfInput() throws {
        let input = Payloads.json(100_000)
        let compressed = try Compressor(codec: .snappy).compress(input)
        var offset = 16
        var blocks: [[UInt8]] = []
        while offset < compressed.count {
            let length = readInt32BE(compressed, offset)
            blocks.append(Array(compressed[offset + 4..<offset + 4 + length]))
            offset += 4 + length
        }
        #expect(offset == compressed.count)
        #expect(blocks.count == 4)  // 32 KiB + 32 KiB + 32 KiB + 1,696 bytes
        // Each block is raw snappy on its own: the first decodes to the first 32 KiB.
        let first = try Decompressor(codec: .snappy).decompress(blocks[0])
        #expect(first == Array(input[0..<32768]))
    }

    @Test func rawSnappyWithoutHeaderDecodes() throws {
        for size in [0, 1, 100, 20_000] {
            let input = Payloads.json(size, seed: UInt64(size))
            let xerial = try Compressor(codec: .snappy).compress(input)
            if size == 0 {
                #expect(xerial.count == 16)
                continue
            }
            // Below one block size the stream is header, length, then one raw snappy block.
            let raw = Array(xerial[20...])
            #expect(readInt32BE(xerial, 16) == raw.count)
            #expect(try Decompressor(codec: .snappy).decompress(raw) == input)
        }
        // Raw snappy of nothing is the single varint 0.
        #expect(try Decompressor(codec: .snappy).decompress([0x00]) == [])
    }

    /// kafka-python accepts linked blocks too, so this is what catches a wrong block mode.
    @Test(arguments: [1, 2, 3, 9, 17])
    func lz4FrameHasIndependent64KiBBlocks(level: Int) throws {
        let input = Payloads.json(300_000)
        let frame = try Compressor(codec: .lz4, level: level).compress(input)
        #expect(Array(frame[0..<4]) == [0x04, 0x22, 0x4D, 0x18])  // magic 0x184D2204, little-endian
        let flg = frame[4]
        #expect(flg >> 6 == 0b01, "version 01")
        #expect(flg & 0x20 != 0, "block independence bit (FLG bit 5) must be set")
        #expect(flg & 0x10 == 0, "no block checksums")
        #expect(flg & 0x08 == 0, "no content size")
        #expect(flg & 0x04 == 0, "no content checksum, as Kafka writes")
        #expect(flg & 0x03 == 0, "reserved bit and dictionary id clear")
        let bd = frame[5]
        #expect(bd == 0x40, "block maximum size 64 KiB")
        // Walk the blocks: each at most 64 KiB, then the end mark.
        var offset = 7
        var blocks = 0
        while true {
            let word = Int(frame[offset]) | Int(frame[offset + 1]) << 8 | Int(frame[offset + 2]) << 16
                | Int(frame[offset + 3]) << 24
            offset += 4
            if word == 0 { break }
            let size = word & 0x7FFF_FFFF
            #expect(size <= 65536)
            offset += size
            blocks += 1
        }
        #expect(offset == frame.count)
        #expect(blocks == (300_000 + 65535) / 65536)
    }

    @Test(arguments: [1, 6, 9])
    func gzipIsAGzipStream(level: Int) throws {
        let input = Payloads.json(10_000)
        let stream = try Compressor(codec: .gzip, level: level).compress(input)
        #expect(Array(stream[0..<3]) == [0x1F, 0x8B, 0x08])  // magic, deflate
        let isize = Int(stream[stream.count - 4]) | Int(stream[stream.count - 3]) << 8
            | Int(stream[stream.count - 2]) << 16 | Int(stream[stream.count - 1]) << 24
        #expect(isize == input.count)
    }

    @Test func zstdIsAZstdFrameWithContentSize() throws {
        let input = Payloads.json(10_000)
        let frame = try Compressor(codec: .zstd).compress(input)
        #expect(Array(frame[0..<4]) == [0x28, 0xB5, 0x2F, 0xFD])  // magic 0xFD2FB528, little-endian
        #expect(frame[4] & 0xC0 != 0, "frame content size present")
    }

    @Test func noneIsTheIdentity() throws {
        let input = Payloads.json(1000)
        #expect(try Compressor(codec: .none).compress(input) == input)
    }
}

/// The header walks that size a decoder's first output buffer.
@Suite struct SizeEstimateTests {
    @Test(arguments: [0, 1, 1000, 65536, 65537, 1 << 20])
    func lz4EstimateBoundsKafkaFramesWithinOneBlock(size: Int) throws {
        let input = Payloads.json(size, seed: 3)
        let frame = try Compressor(codec: .lz4, level: 1).compress(input)
        let (blockSize, estimate) = frame.withUnsafeBytes { _lz4FrameSizeEstimate($0) }
        #expect(blockSize == 64 << 10)
        let bound = try #require(estimate)
        #expect(bound >= size && bound < size + 65536 + 1)
    }

    @Test func lz4EstimateOfStoredBlocksIsExact() throws {
        let input = Payloads.random(200_000)
        let frame = try Compressor(codec: .lz4, level: 1).compress(input)
        #expect(frame.withUnsafeBytes { _lz4FrameSizeEstimate($0) }.estimate == input.count)
    }

    @Test func estimatesNeverTrapOnGarbage() {
        var rng = SplitMix64(seed: 4)
        for round in 0..<3000 {
            var bytes = Payloads.random(Int(rng.next() % 64), seed: UInt64(round))
            bytes = (round % 2 == 0 ? [0x04, 0x22, 0x4D, 0x18] : [0x28, 0xB5, 0x2F, 0xFD]) + bytes
            bytes.withUnsafeBytes {
                _ = _lz4FrameSizeEstimate($0)
                _ = _zstdFrameSizeEstimate($0)
            }
        }
    }

    @Test func zstdHeaderThatOverstatesItsSizeIsCorrupt() throws {
        // Magic, single-segment descriptor with an 8-byte content size of 2^40, then an empty
        // last raw block.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0, 0]
        let (error, _) = decodeError(try Decompressor(codec: .zstd), frame, maxOutputBytes: .max)
        #expect(error?.code == .corruptInput)
    }
}
