import Testing
import WeirCompression
@testable import WeirFormat
import WeirTestSupport

/// Malformed input never crashes: it decodes or throws a RecordBatchError.
@Suite struct FuzzTests {
    /// Decodes and scans `bytes` every way there is; returns whether the decode succeeded.
    @discardableResult
    static func exercise(_ bytes: [UInt8], checkCRCs: Bool) -> Bool {
        _ = bytes.withUnsafeBytes { RecordBatch.scan($0, verifyingCRC: checkCRCs) }
        let decoder = RecordBatchDecoder(checkCRCs: checkCRCs)
        switch decodeResult(bytes, decoder: decoder) {
        case .success(let (_, records)):
            for record in records { _ = record.headers.count }
            return true
        case .failure:
            return false
        }
    }

    static let sample = try! buildBatch((0 ..< 4).map { i in
        Record(timestamp: 1000 + Int64(i), key: i == 1 ? nil : Array("key\(i)".utf8), value: Array("value\(i)".utf8),
               headers: i == 2 ? [RecordHeader(key: "h", value: [1, 2]), RecordHeader(key: "n", value: nil)] : [])
    })

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 7)
        for _ in 0 ..< 3000 {
            let count = Int.random(in: 0 ... 300, using: &rng)
            var bytes = (0 ..< count).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            // Make many of them look like batches so that decoding gets past the header.
            if count >= RecordBatchLayout.headerSize && Bool.random(using: &rng) {
                let length = UInt32(count - 12)
                bytes[8 ..< 12] = [UInt8(length >> 24), UInt8((length >> 16) & 255), UInt8((length >> 8) & 255), UInt8(length & 255)]
                bytes[16] = 2
                bytes[21] = 0
                bytes[22] &= 0x30
                bytes[57 ..< 60] = [0, 0, 0]
            }
            Self.exercise(bytes, checkCRCs: false)
            Self.exercise(bytes, checkCRCs: true)
        }
    }

    @Test func everyTruncation() {
        let bytes = Self.sample
        #expect(Self.exercise(bytes, checkCRCs: true))
        for length in 0 ..< bytes.count {
            let truncated = Array(bytes.prefix(length))
            #expect(!Self.exercise(truncated, checkCRCs: true), "truncated to \(length)")
            #expect(!Self.exercise(truncated, checkCRCs: false), "truncated to \(length)")
            if case .failure(let error) = decodeResult(truncated) {
                #expect(error.code == .truncatedBatch, "truncated to \(length): \(error)")
            }
        }
    }

    @Test func everySingleBitFlip() {
        let bytes = Self.sample
        for bit in 0 ..< bytes.count * 8 {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << (bit % 8)
            let decoded = Self.exercise(flipped, checkCRCs: true)
            // Only baseOffset and partitionLeaderEpoch are outside both the CRC and the framing.
            let byte = bit / 8
            let unprotected = byte < 8 || (12 ..< 16).contains(byte)
            #expect(decoded == unprotected, "bit \(bit)")
            Self.exercise(flipped, checkCRCs: false)
        }
    }

    @Test func randomMutationsBehindAValidCRC() {
        var rng = SplitMix64(seed: 99)
        for _ in 0 ..< 5000 {
            var bytes = Self.sample
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                let index = Int.random(in: RecordBatchLayout.attributes ..< bytes.count, using: &rng)
                bytes[index] = UInt8.random(in: 0 ... 255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes[22] &= 0xF8 } // keep it uncompressed most of the time
            RecordBatchErrorTests.fixCRC(&bytes)
            Self.exercise(bytes, checkCRCs: true)
        }
    }
}

/// Corrupt compressed payloads behind a valid CRC reach the codec, whose errors come back wrapped.
@Suite struct CompressedFuzzTests {
    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func mutatedCompressedPayloads(_ codec: CompressionCodec) throws {
        let records = (0 ..< 30).map { i in
            Record(timestamp: Int64(i), key: Array("key-\(i)".utf8), value: Array(String(repeating: "payload \(i) ", count: 5).utf8))
        }
        let original = try buildBatch(records, codec: codec)
        var rng = SplitMix64(seed: UInt64(codec.rawValue))
        var failures = 0
        for round in 0 ..< 400 {
            var bytes = original
            if round % 4 == 0 {
                // Truncate the compressed payload, then fix the length and the CRC.
                let keep = Int.random(in: RecordBatchLayout.headerSize ..< bytes.count, using: &rng)
                bytes.removeLast(bytes.count - keep)
                let length = UInt32(bytes.count - RecordBatchLayout.logOverhead)
                bytes[8 ..< 12] = [UInt8(length >> 24), UInt8((length >> 16) & 255), UInt8((length >> 8) & 255), UInt8(length & 255)]
            } else {
                for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
                    let index = Int.random(in: RecordBatchLayout.headerSize ..< bytes.count, using: &rng)
                    bytes[index] ^= UInt8.random(in: 1 ... 255, using: &rng)
                }
            }
            RecordBatchErrorTests.fixCRC(&bytes)
            if case .failure(let error) = decodeResult(bytes) {
                failures += 1
                #expect([.compression, .corruptRecord, .recordLengthMismatch, .recordCountMismatch, .varintOverflow].contains(error.code))
            }
        }
        #expect(failures > 0)
    }
}
