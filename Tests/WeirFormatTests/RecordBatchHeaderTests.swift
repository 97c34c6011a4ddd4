import Testing
import WeirCompression
@testable import WeirFormat

@Suite struct RecordBatchHeaderTests {
    @Test func writeThenParseKeepsEveryField() throws {
        let header = RecordBatchHeader(
            baseOffset: 0x0102_0304_0506_0708, batchLength: 49, partitionLeaderEpoch: -7, crc: 0xDEAD_BEEF,
            attributes: RecordBatchAttributes(codec: .zstd, timestampType: .logAppendTime, isTransactional: true,
                                              isControl: true, hasDeleteHorizon: true),
            lastOffsetDelta: 12, baseTimestamp: -1, maxTimestamp: Int64.max, producerId: Int64.min,
            producerEpoch: Int16.max, baseSequence: 99, recordCount: 13)
        var bytes = [UInt8](repeating: 0xAA, count: RecordBatchLayout.headerSize)
        bytes.withUnsafeMutableBytes { header.write(to: $0.baseAddress!) }
        let parsed = try bytes.withUnsafeBytes { try RecordBatchHeader(parsing: $0) }
        #expect(parsed == header)
        #expect(parsed.codec == .zstd)
        #expect(parsed.attributes.rawValue == 0x7C)
        #expect(parsed.totalSize == 61)
        #expect(parsed.lastOffset == 0x0102_0304_0506_0708 + 12)
        #expect(bytes[RecordBatchLayout.magic] == 2)
    }

    @Test func attributesBits() {
        var attributes = RecordBatchAttributes(codec: .lz4)
        #expect(attributes.rawValue == 3)
        attributes.isTransactional = true
        attributes.isControl = true
        attributes.timestampType = .logAppendTime
        #expect(attributes.rawValue == 0x3B)
        attributes.isControl = false
        #expect(attributes.rawValue == 0x1B)
        #expect(RecordBatchAttributes(rawValue: 5).codec == nil)
    }

    @Test func lastSequenceWrapsLikeKafka() {
        #expect(RecordBatchHeader(lastOffsetDelta: 4, baseSequence: 10).lastSequence == 14)
        #expect(RecordBatchHeader(lastOffsetDelta: 2, baseSequence: Int32.max).lastSequence == 1)
        #expect(RecordBatchHeader(lastOffsetDelta: 2, baseSequence: -1).lastSequence == -1)
    }

    @Test func inPlaceSettersCheckBounds() {
        var short = [UInt8](repeating: 0, count: 7)
        short.withUnsafeMutableBytes { raw in
            #expect(throws: RecordBatchError.self) { try RecordBatch.setBaseOffset(1, in: raw) }
            #expect(throws: RecordBatchError.self) { try RecordBatch.setPartitionLeaderEpoch(1, in: raw) }
            #expect(throws: RecordBatchError.self) { try RecordBatch.setLogAppendTime(1, in: raw) }
        }
    }

    @Test func controlRecordTypes() throws {
        #expect(ControlRecordType(rawValue: 0) == .abort)
        #expect(ControlRecordType(rawValue: 1) == .commit)
        #expect(ControlRecordType(rawValue: 5) == .unknown(5))
        let marker = ControlRecord(type: .commit, coordinatorEpoch: -2)
        let parsed = try marker.keyBytes.withUnsafeBytes { key in
            try marker.valueBytes.withUnsafeBytes { value in try ControlRecord(key: key, value: value) }
        }
        #expect(parsed == marker)
    }
}
