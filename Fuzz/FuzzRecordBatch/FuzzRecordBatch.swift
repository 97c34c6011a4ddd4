// libFuzzer target: the RecordBatch v2 decoder on arbitrary bytes, every codec.
//
// Each input is a run of back-to-back batches (a `.log` segment or a fetch response). It is
// decoded twice: as given (framing and CRC-32C checks reject most mutations early), and with
// every batch's CRC recomputed, so that mutations reach the codecs (attributes bits 0-2 pick
// none, gzip, snappy, lz4 or zstd) and the record parser. Every record's key, value and headers
// are read in full, so an out-of-bounds view is caught by AddressSanitizer.
//
// Built and run by scripts/fuzz; see docs/campaigns.md.
import WeirCompression
import WeirFormat

/// Decompressed records sections above this are rejected (`outputTooLarge`), which keeps each
/// run fast and inside libFuzzer's memory limit; the limit itself is part of what is tested.
let maxDecompressedBytes = 4 << 20

nonisolated(unsafe) let decoder = RecordBatchDecoder(checkCRCs: true, maxDecompressedBytes: maxDecompressedBytes)

/// Decodes one batch of each codec before libFuzzer starts counting allocations: the decoder
/// keeps one decompressor per codec, and creating it during an input would look like a leak.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutableRawPointer) -> CInt {
    for codec in CompressionCodec.allCases {
        let builder = try! RecordBatchBuilder(codec: codec, batchSizeLimit: 1 << 20)
        _ = builder.append(timestamp: 0, key: nil, value: Array(repeating: 7, count: 100))
        let records = try! decoder.decode(try! builder.build()).records
        precondition(records.count == 1, "the warm-up batch of \(codec) did not decode")
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    _ = RecordBatch.scan(input)
    decodeAll(input)
    var copy = Array(input)
    copy.withUnsafeMutableBytes { fixChecksums($0) }
    copy.withUnsafeBytes { bytes in
        let scan = RecordBatch.scan(bytes)
        decodeAll(bytes)
        // A batch whose CRC now checks out must also decode through the owning API.
        if scan.batchCount > 0 { _ = try? decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[0...])) }
    }
    return 0
}

/// Walks the batches of `bytes` and reads every record of each.
func decodeAll(_ bytes: UnsafeRawBufferPointer) {
    var batches = RecordBatchIterator(bytes, verifyingCRC: false, allowingPartialTail: true)
    var sink = 0
    while let (position, header) = try? batches.next() {
        _ = header.lastSequence
        _ = header.codec
        let batch = batches.bytes(at: position, header: header)
        do throws(RecordBatchError) {
            try decoder.forEachRecord(in: batch) { record in
                sink &+= Int(record.offset) &+ Int(record.timestamp) &+ Int(record.attributes)
                if let key = record.key { sink &+= key.reduce(0) { $0 &+ Int($1) } }
                if let value = record.value { sink &+= value.reduce(0) { $0 &+ Int($1) } }
                for h in record.headers {
                    sink &+= h.key.count
                    if let v = h.value { sink &+= v.reduce(0) { $0 &+ Int($1) } }
                }
            }
        } catch {
            sink &+= Int(error.code.hashValue & 1)
        }
    }
    blackHole(sink)
}

/// Recomputes the CRC-32C of each batch whose framing fits in `bytes`.
func fixChecksums(_ bytes: UnsafeMutableRawBufferPointer) {
    var p = 0
    while p + RecordBatchLayout.headerSize <= bytes.count {
        var length: Int32 = 0
        for i in 0..<4 { length = length << 8 | Int32(bytes[p + RecordBatchLayout.batchLength + i]) }
        let total = Int(length) + RecordBatchLayout.logOverhead
        guard total >= RecordBatchLayout.headerSize, total <= bytes.count - p else { return }
        let batch = UnsafeRawBufferPointer(rebasing: bytes[p ..< p + total])
        let crc = RecordBatch.computeCRC(batch, totalSize: total)
        for i in 0..<4 { bytes[p + RecordBatchLayout.crc + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        p += total
    }
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5EED_F00D { print("") } }
