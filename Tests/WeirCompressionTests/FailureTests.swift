import Testing
@testable import WeirCompression
import WeirTestSupport

let compressingCodecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd]

/// Decodes `input` and returns the typed error, or nil when it decoded. A crash or a hang
/// fails the whole run; the signature proves every throw is a `CompressionError`.
func decodeError(
    _ decompressor: Decompressor, _ input: [UInt8], maxOutputBytes: Int = 1 << 20
) -> (error: CompressionError?, output: [UInt8]) {
    do throws(CompressionError) {
        return (nil, try decompressor.decompress(input, maxOutputBytes: maxOutputBytes))
    } catch {
        return (error, [])
    }
}

@Suite struct FailureTests {
    @Test(arguments: compressingCodecs)
    func truncationAtManyLengthsIsATypedError(codec: CompressionCodec) throws {
        let input = Payloads.json100KiB
        let compressed = try Compressor(codec: codec).compress(input)
        let decompressor = try Decompressor(codec: codec)
        var lengths = Array(0..<min(80, compressed.count))
        lengths += stride(from: 80, to: compressed.count, by: max(1, compressed.count / 300))
        lengths += [compressed.count - 1, compressed.count - 2, compressed.count - 4, compressed.count - 5]
        for length in lengths {
            let (error, output) = decodeError(decompressor, Array(compressed[0..<length]))
            if let error {
                #expect(
                    error.code == .truncatedInput || error.code == .corruptInput,
                    "\(codec) cut at \(length): \(error)")
            } else {
                // The xerial framing has no end marker: a cut between blocks is a shorter stream.
                #expect(codec == .snappy, "\(codec) cut at \(length) of \(compressed.count) decoded")
                #expect(input.starts(with: output))
            }
        }
        // A cut inside the frame's body (not at a block boundary) says "truncated".
        let (error, _) = decodeError(decompressor, Array(compressed[0..<compressed.count - 3]))
        #expect(error?.code == .truncatedInput, "\(codec): \(String(describing: error))")
        #expect(decodeError(decompressor, []).error?.code == .truncatedInput)
        // And the decompressor still works afterwards.
        #expect(try decompressor.decompress(compressed) == input)
    }

    @Test(arguments: compressingCodecs)
    func bitFlipsNeverCrash(codec: CompressionCodec) throws {
        let input = Payloads.json(20_000)
        let compressed = try Compressor(codec: codec).compress(input)
        let decompressor = try Decompressor(codec: codec)
        var rng = SplitMix64(seed: 5)
        var detected = 0
        for round in 0..<400 {
            var damaged = compressed
            // Early rounds hit the headers, later ones anywhere.
            let position = round < 100 ? round % min(32, damaged.count) : Int(rng.next() % UInt64(damaged.count))
            damaged[position] ^= 1 << UInt8(rng.next() % 8)
            if decodeError(decompressor, damaged).error != nil { detected += 1 }
        }
        #expect(detected > 0)
        #expect(try decompressor.decompress(compressed) == input)
    }

    @Test(arguments: compressingCodecs)
    func randomGarbageIsATypedError(codec: CompressionCodec) throws {
        let decompressor = try Decompressor(codec: codec)
        var rng = SplitMix64(seed: 17)
        // Each codec's magic, so garbage also reaches the frame parsers.
        let magic: [UInt8] =
            switch codec {
            case .gzip: [0x1F, 0x8B, 0x08, 0x00]
            case .snappy: [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
            case .lz4: [0x04, 0x22, 0x4D, 0x18]
            case .zstd: [0x28, 0xB5, 0x2F, 0xFD]
            case .none: []
            }
        var decoded = 0
        for round in 0..<600 {
            let size = Int(rng.next() % 3000) + 1
            var garbage = Payloads.random(size, seed: UInt64(round) &+ 1000)
            if round % 2 == 1 { garbage = magic + garbage }
            if decodeError(decompressor, garbage).error == nil { decoded += 1 }
        }
        // Raw snappy accepts some short random strings; nothing else should decode.
        #expect(decoded < 30, "\(codec): \(decoded) garbage inputs decoded")
    }

    @Test(arguments: compressingCodecs, compressingCodecs)
    func wrongCodecIsATypedError(writer: CompressionCodec, reader: CompressionCodec) throws {
        guard writer != reader else { return }
        let compressed = try Compressor(codec: writer).compress(Payloads.json(50_000))
        let (error, _) = decodeError(try Decompressor(codec: reader), compressed)
        #expect(error?.code == .corruptInput || error?.code == .truncatedInput, "\(writer) read as \(reader)")
    }

    @Test(arguments: CompressionCodec.allCases)
    func outputOverMaxOutputBytesIsRefused(codec: CompressionCodec) throws {
        let input = Payloads.json(300_000)
        let compressed = try Compressor(codec: codec).compress(input)
        let decompressor = try Decompressor(codec: codec)
        for limit in [0, 1, 1000, 65536, input.count - 1] {
            let (error, _) = decodeError(decompressor, compressed, maxOutputBytes: limit)
            #expect(error?.code == .outputTooLarge, "\(codec) with limit \(limit)")
        }
        #expect(try decompressor.decompress(compressed, maxOutputBytes: input.count) == input)
        #expect(try decompressor.decompress(compressed, maxOutputBytes: .max) == input)
    }

    /// 64 MiB of zeros compress to a few kilobytes; a 1 MiB limit stops the decoders early.
    @Test(arguments: compressingCodecs)
    func decompressionBombIsRefused(codec: CompressionCodec) throws {
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let bomb = try Compressor(codec: codec, level: codec == .lz4 ? 1 : nil).compress(zeros)
        // snappy's best ratio is about 21:1; the others shrink zeros far more.
        #expect(bomb.count < zeros.count / (codec == .snappy ? 20 : 200))
        let (error, _) = decodeError(try Decompressor(codec: codec), bomb, maxOutputBytes: 1 << 20)
        #expect(error?.code == .outputTooLarge)
    }

    /// Garbage that happens to start with a huge length is damage, not a big payload.
    @Test func impossibleDeclaredSizesAreCorrupt() throws {
        // Raw snappy declaring 2^32 - 1 bytes in 5 bytes of varint plus one literal.
        let snappy: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x41]
        #expect(decodeError(try Decompressor(codec: .snappy), snappy, maxOutputBytes: .max).error?.code == .corruptInput)
        // An xerial block with the same claim.
        let xerial: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7] + snappy
        #expect(decodeError(try Decompressor(codec: .snappy), xerial, maxOutputBytes: .max).error?.code == .corruptInput)
    }

    @Test func failedDecodeLeavesOutputUntouched() throws {
        let decompressor = try Decompressor(codec: .gzip)
        let compressed = try Compressor(codec: .gzip).compress(Payloads.json(200_000))
        var output: [UInt8] = [1, 2, 3]
        #expect(throws: CompressionError.self) {
            try Array(compressed[0..<compressed.count - 10]).withUnsafeBytes {
                try decompressor.decompress($0, appendingTo: &output)
            }
        }
        #expect(output == [1, 2, 3])
    }
}
