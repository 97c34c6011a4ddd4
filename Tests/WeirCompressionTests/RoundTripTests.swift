import Foundation
import Testing
@testable import WeirCompression
import WeirTestSupport

/// Every codec at several levels, including its extremes; nil is Kafka's default level.
let levelsUnderTest: [(CompressionCodec, Int?)] = [
    (.none, nil), (.snappy, nil),
    (.gzip, 1), (.gzip, nil), (.gzip, 9),
    (.lz4, 1), (.lz4, nil), (.lz4, 17),
    (.zstd, -5), (.zstd, 1), (.zstd, nil), (.zstd, 9),
]

/// Byte equality through memcmp: `==` on multi-megabyte arrays is slow in debug builds.
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { a in b.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
}

func roundTrip(_ codec: CompressionCodec, level: Int?, _ input: [UInt8]) throws -> [UInt8] {
    let compressed = try Compressor(codec: codec, level: level).compress(input)
    return try Decompressor(codec: codec).decompress(compressed)
}

@Suite struct RoundTripTests {
    @Test(arguments: levelsUnderTest)
    func emptyAndOneByte(codec: CompressionCodec, level: Int?) throws {
        #expect(try roundTrip(codec, level: level, []) == [])
        #expect(try roundTrip(codec, level: level, [0x41]) == [0x41])
        #expect(try roundTrip(codec, level: level, [0, 0, 0]) == [0, 0, 0])
    }

    @Test(arguments: levelsUnderTest)
    func incompressibleRandom1MiB(codec: CompressionCodec, level: Int?) throws {
        let input = Payloads.random1MiB
        #expect(sameBytes(try roundTrip(codec, level: level, input), input))
    }

    @Test(arguments: levelsUnderTest)
    func compressibleJSON4MiB(codec: CompressionCodec, level: Int?) throws {
        let input = Payloads.json4MiB
        let compressed = try Compressor(codec: codec, level: level).compress(input)
        // The generator's events compress about 2.6× with the fast codecs (snappy, lz4, zstd -5).
        if codec != .none { #expect(compressed.count < input.count * 2 / 5, "\(codec) compresses JSON") }
        #expect(sameBytes(try Decompressor(codec: codec).decompress(compressed), input))
    }

    @Test(arguments: [19, 22, -131072])
    func extremeZstdLevelsOnSmallInput(level: Int) throws {
        let input = Payloads.json(64 << 10)
        #expect(try roundTrip(.zstd, level: level, input) == input)
    }

    /// One compressor and one decompressor serve many payloads of different sizes, before and
    /// after failed calls: the reused contexts are reset properly.
    @Test(arguments: CompressionCodec.allCases)
    func contextsAreReusable(codec: CompressionCodec) throws {
        let compressor = try Compressor(codec: codec)
        let decompressor = try Decompressor(codec: codec)
        var rng = SplitMix64(seed: 99)
        for round in 0..<30 {
            let size = Int(rng.next() % 200_000)
            let input =
                round % 2 == 0 ? Payloads.json(size, seed: UInt64(round)) : Payloads.random(size, seed: UInt64(round))
            let compressed = try compressor.compress(input)
            if round % 5 == 0 && codec != .none && compressed.count > 40 {
                // Leave the decoder mid-frame with a failure, then check that it recovers.
                let half = Array(compressed[0..<compressed.count / 2])
                if codec == .snappy {
                    _ = try? decompressor.decompress(half)
                } else {
                    #expect(throws: CompressionError.self) { try decompressor.decompress(half) }
                }
            }
            #expect(try decompressor.decompress(compressed) == input)
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func appendsAfterExistingBytes(codec: CompressionCodec) throws {
        let input = Payloads.json100KiB
        let prefix = [UInt8](repeating: 0xAB, count: 61)
        var framed = prefix
        try input.withUnsafeBytes { try Compressor(codec: codec).compress($0, appendingTo: &framed) }
        #expect(Array(framed[0..<61]) == prefix)
        var decoded = prefix
        try framed[61...].withUnsafeBytes { try Decompressor(codec: codec).decompress($0, appendingTo: &decoded) }
        #expect(Array(decoded[0..<61]) == prefix)
        #expect(Array(decoded[61...]) == input)
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func concatenatedStreamsDecodeToTheConcatenation(codec: CompressionCodec) throws {
        let a = Payloads.json(70_000, seed: 1)
        let b = Payloads.json(50_000, seed: 2)
        let compressor = try Compressor(codec: codec)
        let joined = try compressor.compress(a) + compressor.compress(b)
        #expect(try Decompressor(codec: codec).decompress(joined) == a + b)
    }
}
