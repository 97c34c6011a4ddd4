import Testing
import WeirCompression
@testable import WeirFormat

/// Every error code is reachable, named, and carries a position.
@Suite struct RecordBatchErrorTests {
    /// A batch with a hand-written records section and a valid CRC.
    static func rawBatch(records: [UInt8], count: Int32, attributes: Int16 = 0) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: RecordBatchLayout.headerSize) + records
        let header = RecordBatchHeader(
            batchLength: Int32(bytes.count - RecordBatchLayout.logOverhead),
            attributes: RecordBatchAttributes(rawValue: attributes), lastOffsetDelta: count - 1,
            baseTimestamp: 0, maxTimestamp: 0, recordCount: count)
        bytes.withUnsafeMutableBytes { header.write(to: $0.baseAddress!) }
        fixCRC(&bytes)
        return bytes
    }

    static func fixCRC(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            let crc = RecordBatch.computeCRC(UnsafeRawBufferPointer(raw), totalSize: raw.count)
            raw.baseAddress!._storeBigEndian(crc, at: RecordBatchLayout.crc)
        }
    }

    static func error(decoding bytes: [UInt8], checkCRCs: Bool = true) -> RecordBatchError? {
        if case .failure(let error) = decodeResult(bytes, decoder: RecordBatchDecoder(checkCRCs: checkCRCs)) {
            return error
        }
        return nil
    }

    static let valid = try! buildBatch([
        Record(timestamp: 10, key: [1, 2], value: [3, 4, 5], headers: [RecordHeader(key: "k", value: [9])]),
        Record(timestamp: 11, key: nil, value: [6]),
    ])

    @Test func badMagic() {
        var bytes = Self.valid
        bytes[RecordBatchLayout.magic] = 1
        let error = Self.error(decoding: bytes)
        #expect(error?.code == .badMagic)
        #expect(error?.position == RecordBatchLayout.magic)
        #expect(error?.message.contains("magic 1") == true)
    }

    @Test func badBatchLength() {
        var bytes = Self.valid
        bytes[8 ..< 12] = [0, 0, 0, 10]
        #expect(Self.error(decoding: bytes)?.code == .badBatchLength)
        bytes[8 ..< 12] = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(Self.error(decoding: bytes)?.code == .badBatchLength)
    }

    @Test func truncatedBatch() {
        for keep in [0, 5, 11, 12, 20, 60, Self.valid.count - 1] {
            let error = Self.error(decoding: Array(Self.valid.prefix(keep)))
            #expect(error?.code == .truncatedBatch, "keep \(keep): \(String(describing: error))")
        }
    }

    @Test func crcMismatch() {
        var bytes = Self.valid
        bytes[bytes.count - 2] ^= 1 // inside the last value
        let error = Self.error(decoding: bytes)
        #expect(error?.code == .crcMismatch)
        #expect(error?.message.contains("stored 0x") == true)
        #expect(Self.error(decoding: bytes, checkCRCs: false) == nil)
    }

    @Test func varintOverflow() {
        let bytes = Self.rawBatch(records: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0, 0, 0], count: 1)
        let error = Self.error(decoding: bytes)
        #expect(error?.code == .varintOverflow)
        #expect(error?.position == RecordBatchLayout.headerSize)
        // An over-long timestampDelta varlong inside a record.
        let body: [UInt8] = [0] + [UInt8](repeating: 0xFF, count: 10) + [0x01, 0, 1, 1, 0]
        let record = [UInt8(body.count * 2)] + body
        #expect(Self.error(decoding: Self.rawBatch(records: record, count: 1))?.code == .varintOverflow)
    }

    /// attributes 0, timestampDelta 0, offsetDelta 0, key null, value [7], no headers.
    static let oneRecord: [UInt8] = [14, 0, 0, 0, 1, 2, 7, 0]

    @Test func recordCountMismatch() {
        let tooMany = Self.error(decoding: Self.rawBatch(records: Self.oneRecord, count: 2))
        #expect(tooMany?.code == .recordCountMismatch)
        let leftover = Self.error(decoding: Self.rawBatch(records: Self.oneRecord + Self.oneRecord, count: 1))
        #expect(leftover?.code == .recordCountMismatch)
        #expect(leftover?.message.contains("remain") == true)
        let negative = Self.error(decoding: Self.rawBatch(records: Self.oneRecord, count: -1))
        #expect(negative?.code == .recordCountMismatch)
        #expect(Self.error(decoding: Self.rawBatch(records: Self.oneRecord, count: 1)) == nil)
    }

    @Test func recordLengthMismatch() {
        var longer = Self.oneRecord
        longer[0] = 40 // 20 bytes, more than the batch holds
        #expect(Self.error(decoding: Self.rawBatch(records: longer, count: 1))?.code == .recordLengthMismatch)
        var shorter = Self.oneRecord + [0]
        shorter[0] = 16 // 8 bytes declared, fields take 7
        #expect(Self.error(decoding: Self.rawBatch(records: shorter, count: 1))?.code == .recordLengthMismatch)
        var negative = Self.oneRecord
        negative[0] = 1 // −1
        #expect(Self.error(decoding: Self.rawBatch(records: negative, count: 1))?.code == .recordLengthMismatch)
    }

    @Test func corruptRecord() {
        var badKey = Self.oneRecord
        badKey[4] = 9 // key length −5
        let error = Self.error(decoding: Self.rawBatch(records: badKey, count: 1))
        #expect(error?.code == .corruptRecord)
        #expect(error?.message.contains("key length -5") == true)
        var longValue = Self.oneRecord
        longValue[5] = 20 // value length 10 in a 7-byte record
        #expect(Self.error(decoding: Self.rawBatch(records: longValue, count: 1))?.code == .corruptRecord)
        var badHeaders = Self.oneRecord
        badHeaders[7] = 3 // header count −2
        #expect(Self.error(decoding: Self.rawBatch(records: badHeaders, count: 1))?.code == .corruptRecord)
        // A control record with a short key.
        #expect(throws: RecordBatchError.self) { try ControlRecord(key: nil, value: nil) }
    }

    @Test func invalidAttributes() {
        let error = Self.error(decoding: Self.rawBatch(records: Self.oneRecord, count: 1, attributes: 6))
        #expect(error?.code == .invalidAttributes)
    }

    @Test func compressionErrorsAreWrapped() {
        let error = Self.error(decoding: Self.rawBatch(records: [1, 2, 3, 4, 5, 6, 7, 8], count: 1, attributes: 3))
        #expect(error?.code == .compression)
        #expect(error?.compressionError != nil)
        #expect(error?.compressionError?.codec == .lz4)
    }

    @Test func compressedBatchNeedsADecoder() {
        let bytes = Self.rawBatch(records: [1, 2, 3], count: 1, attributes: 4)
        bytes.withUnsafeBytes { raw in
            UnsafeRecordIterator.withRecords(in: raw) { records in
                _ = #expect(throws: RecordBatchError.self) { try records.next() }
            }
        }
    }

    @Test func everyCodeHasADistinctName() {
        let names = Set(RecordBatchError.Code.allCases.map(\.rawValue))
        #expect(names.count == RecordBatchError.Code.allCases.count)
        let error = RecordBatchError(.crcMismatch, at: 17, "x")
        #expect(error.description.contains("crcMismatch"))
    }
}
