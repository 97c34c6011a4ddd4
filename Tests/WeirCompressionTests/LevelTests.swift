import Testing
@testable import WeirCompression

@Suite struct LevelTests {
    @Test func defaultsAreKafkas() throws {
        #expect(try Compressor(codec: .gzip).level == 6)
        #expect(try Compressor(codec: .lz4).level == 9)
        #expect(try Compressor(codec: .zstd).level == 3)
        #expect(try Compressor(codec: .snappy).level == nil)
        #expect(try Compressor(codec: .none).level == nil)
    }

    @Test func kafkaDefaultSpellingsResolve() throws {
        #expect(try Compressor(codec: .gzip, level: -1).level == 6)  // Deflater.DEFAULT_COMPRESSION
        #expect(try Compressor(codec: .zstd, level: 0).level == 3)  // zstd's "default"
    }

    @Test(arguments: [
        (CompressionCodec.gzip, 1), (.gzip, 9), (.lz4, 1), (.lz4, 17), (.zstd, -131072), (.zstd, 22),
    ])
    func rangeEndsAreAccepted(codec: CompressionCodec, level: Int) throws {
        #expect(try Compressor(codec: codec, level: level).level == level)
    }

    @Test(arguments: [
        (CompressionCodec.gzip, 0, "compression.gzip.level", "1...9"),
        (.gzip, 10, "compression.gzip.level", "1...9"),
        (.gzip, -2, "compression.gzip.level", "1...9"),
        (.lz4, 0, "compression.lz4.level", "1...17"),
        (.lz4, 18, "compression.lz4.level", "1...17"),
        (.zstd, 23, "compression.zstd.level", "-131072...22"),
        (.zstd, -131073, "compression.zstd.level", "-131072...22"),
    ])
    func outOfRangeLevelsNameKeyValueAndRange(codec: CompressionCodec, level: Int, key: String, range: String) {
        do {
            _ = try Compressor(codec: codec, level: level)
            Issue.record("\(codec) level \(level) was accepted")
        } catch {
            #expect(error.code == .invalidLevel)
            #expect(error.codec == codec)
            #expect(error.message.contains("\(key)=\(level)"), "\(error.message)")
            #expect(error.message.contains(range), "\(error.message)")
        }
    }

    @Test(arguments: [CompressionCodec.none, .snappy])
    func codecsWithoutLevelsRejectOne(codec: CompressionCodec) {
        #expect(throws: CompressionError(
            .invalidLevel, codec: codec,
            "compression.type \(codec.name) has no compression level, but level 1 was given; pass no level")
        ) {
            try Compressor(codec: codec, level: 1)
        }
    }

    @Test func propertyNames() {
        #expect(CompressionCodec.gzip.levelPropertyName == "compression.gzip.level")
        #expect(CompressionCodec.lz4.levelPropertyName == "compression.lz4.level")
        #expect(CompressionCodec.zstd.levelPropertyName == "compression.zstd.level")
        #expect(CompressionCodec.snappy.levelPropertyName == nil)
    }

    @Test func codecNamesParse() throws {
        for codec in CompressionCodec.allCases {
            #expect(try CompressionCodec(name: codec.name.uppercased()) == codec)
        }
        #expect(throws: CompressionError.self) { try CompressionCodec(name: "brotli") }
    }

    /// lz4 levels below LZ4HC's minimum use the fast compressor: level 1 and 2 produce the
    /// same frame, and HC levels compress JSON tighter.
    @Test func lz4FastAndHighCompressionLevels() throws {
        let input = Payloads.json(200_000)
        let fast1 = try Compressor(codec: .lz4, level: 1).compress(input)
        let fast2 = try Compressor(codec: .lz4, level: 2).compress(input)
        let hc9 = try Compressor(codec: .lz4, level: 9).compress(input)
        #expect(fast1 == fast2)
        #expect(hc9.count < fast1.count)
    }
}
