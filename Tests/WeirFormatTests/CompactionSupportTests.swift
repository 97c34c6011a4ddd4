import Testing
import WeirCompression
@testable import WeirFormat

/// The builder features that log compaction and fetches rely on.
@Suite struct CompactionSupportTests {
    static func record(_ i: Int) -> Record {
        let key: [UInt8] = Array("key\(i % 3)".utf8)
        let value: [UInt8]? = i == 4 ? nil : Array("value\(i)".utf8)
        let headers: [RecordHeader] = i % 2 == 0 ? [RecordHeader(key: "n", value: Array("\(i)".utf8))] : []
        return Record(timestamp: 1000 + Int64(i), key: key, value: value, headers: headers)
    }

    static let original = try! buildBatch((0 ..< 10).map(record)) {
        $0.baseOffset = 500
        $0.producerId = 8
        $0.producerEpoch = 1
        $0.baseSequence = 100
    }

    @Test func appendCopyingEveryOtherRecord() throws {
        let decoder = RecordBatchDecoder()
        let builder = try RecordBatchBuilder(batchSizeLimit: Int.max)
        builder.baseOffset = 500
        builder.lastOffsetDeltaOverride = 9
        try Self.original.withUnsafeBytes { raw in
            try decoder.withRecords(in: raw) { records throws in
                while let record = try records.next() {
                    if record.offsetDelta % 2 == 0 { #expect(builder.append(copying: record)) }
                }
            }
        }
        let (header, records) = try decoder.decode(try builder.build())
        let all = try decoder.decode(Self.original).records
        #expect(records == stride(from: 0, to: 10, by: 2).map { all[$0] })
        #expect(header.recordCount == 5)
        #expect(header.lastOffsetDelta == 9)
        #expect(header.baseTimestamp == 1000)
        #expect(header.maxTimestamp == 1008)
    }

    @Test func explicitOffsetDeltas() throws {
        let builder = try RecordBatchBuilder()
        let value: [UInt8] = [1]
        value.withUnsafeBytes { v in
            #expect(builder.append(offsetDelta: 3, timestamp: 7, key: nil, value: v, headers: [RecordHeader]()))
            #expect(builder.append(offsetDelta: 8, timestamp: 9, key: nil, value: v, headers: [RecordHeader]()))
            #expect(builder.append(timestamp: 10, key: nil, value: v)) // the next delta: 9
        }
        let (header, records) = try RecordBatchDecoder().decode(try builder.build())
        #expect(records.map(\.offset) == [3, 8, 9])
        #expect(header.lastOffsetDelta == 9)
    }

    @Test func deleteHorizon() throws {
        let builder = try RecordBatchBuilder()
        builder.deleteHorizon = 50_000
        builder.append(timestamp: 1000, key: [1], value: nil)
        builder.append(timestamp: 2000, key: [2], value: [2])
        let (header, records) = try RecordBatchDecoder().decode(try builder.build())
        #expect(header.attributes.hasDeleteHorizon)
        #expect(header.baseTimestamp == 50_000)
        #expect(header.maxTimestamp == 2000)
        #expect(records.map(\.timestamp) == [1000, 2000])
    }

    @Test func partialTailEndsAFetchQuietly() throws {
        let bytes = Self.original + Self.original.prefix(30)
        try bytes.withUnsafeBytes { (raw) throws in
            var strict = RecordBatchIterator(raw)
            #expect(try strict.next() != nil)
            _ = #expect(throws: RecordBatchError.self) { try strict.next() }
            var lenient = RecordBatchIterator(raw, allowingPartialTail: true)
            #expect(try lenient.next() != nil)
            #expect(try lenient.next() == nil)
            #expect(lenient.position == Self.original.count)
        }
    }
}
