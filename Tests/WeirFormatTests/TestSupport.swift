@testable import WeirFormat
import WeirCompression
import WeirTestSupport

func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hex.utf8.count / 2)
    var high: UInt8? = nil
    for c in hex.utf8 {
        let nibble: UInt8 = switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: fatalError("bad hex")
        }
        if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
    }
    return bytes
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}


/// Decodes `batch` into owned records, or the error.
func decodeResult(_ batch: [UInt8], decoder: RecordBatchDecoder = RecordBatchDecoder()) -> Result<(header: RecordBatchHeader, records: [Record]), RecordBatchError> {
    do throws(RecordBatchError) {
        return .success(try decoder.decode(batch))
    } catch {
        return .failure(error)
    }
}

/// Builds a batch from records with a fresh builder.
func buildBatch(
    _ records: [Record], codec: CompressionCodec = .none, configure: (RecordBatchBuilder) -> Void = { _ in }
) throws -> [UInt8] {
    let builder = try RecordBatchBuilder(codec: codec, batchSizeLimit: Int.max)
    configure(builder)
    for record in records { #expect(builder.append(record)) }
    return try builder.build()
}

/// Whether a codec works in this build (the compression branch may not have landed yet).
func codecAvailable(_ codec: CompressionCodec) -> Bool {
    do {
        let input = Array("probe probe probe probe".utf8)
        let compressed = try Compressor(codec: codec).compress(input)
        return try Decompressor(codec: codec).decompress(compressed) == input
    } catch {
        return false
    }
}

import Testing
