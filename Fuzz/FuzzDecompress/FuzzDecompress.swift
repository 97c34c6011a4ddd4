// libFuzzer target: each codec's decompressor on arbitrary bytes, and a round trip.
//
// The first byte picks the codec (value % 5: none, gzip, snappy, lz4, zstd); the rest is the
// compressed payload, in Kafka's framing for that codec. Whatever decompresses is compressed
// again and decompressed back, and must come back unchanged (a differential check of our
// framing against the codec libraries).
//
// Built and run by scripts/fuzz; see docs/campaigns.md.
import WeirCompression

/// The output limit for one payload; larger outputs must fail with `outputTooLarge`.
let maxOutputBytes = 1 << 20
let codecs: [CompressionCodec] = [.none, .gzip, .snappy, .lz4, .zstd]

nonisolated(unsafe) let decompressors = codecs.map { try! Decompressor(codec: $0) }
nonisolated(unsafe) let compressors = codecs.map { try! Compressor(codec: $0) }
nonisolated(unsafe) var output: [UInt8] = []

/// Creates the codec contexts before libFuzzer starts counting allocations, so that the first
/// input of each codec is not mistaken for a leak.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutableRawPointer) -> CInt {
    precondition(decompressors.count == codecs.count && compressors.count == codecs.count)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let i = Int(data[0]) % codecs.count
    let payload = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    output.removeAll(keepingCapacity: true)
    do {
        try decompressors[i].decompress(payload, appendingTo: &output, maxOutputBytes: maxOutputBytes)
    } catch {
        precondition(output.isEmpty, "\(codecs[i]): a failed decompress left \(output.count) bytes in the output")
        return 0
    }
    precondition(output.count <= maxOutputBytes, "\(codecs[i]): \(output.count) bytes exceed the \(maxOutputBytes) limit")
    roundTrip(i)
    return 0
}

/// Compresses `output` with codec `i` and decompresses it back; it must come back unchanged.
@inline(never)
func roundTrip(_ i: Int) {
    let back: [UInt8]
    do {
        let compressed = try compressors[i].compress(output)
        back = try decompressors[i].decompress(compressed, maxOutputBytes: maxOutputBytes)
    } catch {
        preconditionFailure("\(codecs[i]): round trip of \(output.count) decompressed bytes failed: \(error)")
    }
    precondition(back == output, "\(codecs[i]): round trip changed \(output.count) bytes")
}
