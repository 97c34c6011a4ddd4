import Testing
import WeirCompression
@testable import WeirFormat
import WeirTestSupport

@Suite struct RoundTripTests {
    static func makeRecords(_ count: Int, seed: UInt64) -> [Record] {
        var rng = SplitMix64(seed: seed)
        return (0 ..< count).map { i in
            let key: [UInt8]? = i % 7 == 3 ? nil : Array("key-\(i)".utf8)
            let value: [UInt8]? = i % 11 == 5 ? nil : (0 ..< Int.random(in: 0 ... 300, using: &rng)).map { _ in
                UInt8.random(in: 0 ... 255, using: &rng)
            }
            var headers: [RecordHeader] = []
            if i % 3 == 0 {
                headers.append(RecordHeader(key: "h\(i)", value: Array("v\(i)".utf8)))
                headers.append(RecordHeader(key: "null", value: nil))
            }
            return Record(offset: Int64(i), timestamp: 1_700_000_000_000 + Int64.random(in: -5000 ... 5000, using: &rng),
                          key: key, value: value, headers: headers)
        }
    }

    static let codecs: [CompressionCodec] = CompressionCodec.allCases

    @Test(arguments: [1, 2, 10, 1000, 10_000], codecs)
    func roundTrip(count: Int, codec: CompressionCodec) throws {
        #expect(codecAvailable(codec))
        let records = Self.makeRecords(count, seed: UInt64(count))
        let batch = try buildBatch(records, codec: codec) { $0.baseOffset = 1000 }
        let (header, decoded) = try RecordBatchDecoder().decode(batch)
        #expect(header.codec == codec)
        #expect(header.recordCount == Int32(count))
        #expect(header.totalSize == batch.count)
        #expect(header.baseOffset == 1000)
        #expect(header.lastOffset == 1000 + Int64(count) - 1)
        #expect(header.maxTimestamp == records.map(\.timestamp).max())
        var expected = records
        for i in expected.indices { expected[i].offset += 1000 }
        #expect(decoded == expected)
    }

    @Test func logAppendTime() throws {
        let records = Self.makeRecords(5, seed: 1)
        let batch = try buildBatch(records) {
            $0.timestampType = .logAppendTime
            $0.logAppendTime = 42
        }
        let (header, decoded) = try RecordBatchDecoder().decode(batch)
        #expect(header.timestampType == .logAppendTime)
        #expect(header.maxTimestamp == 42)
        #expect(decoded.allSatisfy { $0.timestamp == 42 })
    }

    @Test func setLogAppendTimeInPlace() throws {
        var batch = try buildBatch(Self.makeRecords(3, seed: 2))
        try batch.withUnsafeMutableBytes { try RecordBatch.setLogAppendTime(99, in: $0) }
        let (header, decoded) = try RecordBatchDecoder().decode(batch)
        #expect(header.timestampType == .logAppendTime)
        #expect(decoded.map(\.timestamp) == [99, 99, 99])
    }

    @Test func producerFieldsAndFlags() throws {
        let batch = try buildBatch(Self.makeRecords(4, seed: 3)) {
            $0.producerId = 77
            $0.producerEpoch = 3
            $0.baseSequence = Int32.max - 1
            $0.isTransactional = true
            $0.partitionLeaderEpoch = 9
        }
        let header = try batch.withUnsafeBytes { try RecordBatch.verify($0) }
        #expect(header.producerId == 77)
        #expect(header.producerEpoch == 3)
        #expect(header.baseSequence == Int32.max - 1)
        #expect(header.lastSequence == 1) // wraps like Kafka: max-1, max, 0, 1
        #expect(header.isTransactional)
        #expect(!header.isControl)
        #expect(header.partitionLeaderEpoch == 9)
        #expect(header.hasProducerId)
    }

    @Test func sizeLimitAcceptsFirstRecordAndStopsAtLimit() throws {
        let builder = try RecordBatchBuilder(batchSizeLimit: 200)
        let big = [UInt8](repeating: 1, count: 500)
        #expect(builder.append(timestamp: 0, key: nil, value: big))
        #expect(!builder.append(timestamp: 0, key: nil, value: [1]))
        #expect(builder.recordCount == 1)
        builder.reset()
        var appended = 0
        while builder.append(timestamp: 0, key: nil, value: [UInt8](repeating: 2, count: 10)) { appended += 1 }
        #expect(builder.estimatedSize <= 200)
        #expect(builder.estimatedSize + builder.encodedRecordSize(timestamp: 0, keyCount: nil, valueCount: 10) > 200)
        let size = try builder.seal()
        #expect(size == builder.estimatedSize)
        let decoded = try RecordBatchDecoder().decode(builder.sealedBytes()).records
        #expect(decoded.count == appended)
    }

    @Test func builderIsReusable() throws {
        let builder = try RecordBatchBuilder()
        var previous: [UInt8] = []
        for round in 0 ..< 3 {
            builder.reset()
            builder.baseSequence = Int32(round * 10)
            builder.producerId = 5
            builder.producerEpoch = 0
            for i in 0 ..< 10 {
                builder.append(timestamp: Int64(i), key: Array("k\(i)".utf8), value: Array("v\(round)".utf8))
            }
            let bytes = try builder.build()
            #expect(bytes != previous)
            previous = bytes
            let (header, records) = try RecordBatchDecoder().decode(bytes)
            #expect(header.baseSequence == Int32(round * 10))
            #expect(records.count == 10)
            #expect(records.last?.value == Array("v\(round)".utf8))
        }
    }

    @Test func emptyBatch() throws {
        let builder = try RecordBatchBuilder()
        let bytes = try builder.build()
        #expect(bytes.count == RecordBatchLayout.headerSize)
        let (header, records) = try RecordBatchDecoder().decode(bytes)
        #expect(header.recordCount == 0)
        #expect(header.lastOffsetDelta == -1)
        #expect(records.isEmpty)
    }

    @Test func zeroCopyViewsPointIntoTheBatch() throws {
        let batch = try buildBatch(Self.makeRecords(20, seed: 4))
        try batch.withUnsafeBytes { raw in
            let range = UInt(bitPattern: raw.baseAddress!) ..< UInt(bitPattern: raw.baseAddress! + raw.count)
            try UnsafeRecordIterator.withRecords(in: raw) { records throws in
                var count = 0
                while let record = try records.next() {
                    if let key = record.key, let base = key.baseAddress { #expect(range.contains(UInt(bitPattern: base))) }
                    if let value = record.value, let base = value.baseAddress { #expect(range.contains(UInt(bitPattern: base))) }
                    for header in record.headers { #expect(range.contains(UInt(bitPattern: header.key.baseAddress!))) }
                    let keyCount = record.withKeySpan { $0?.byteCount ?? -1 }
                    #expect(keyCount == (record.key?.count ?? -1))
                    count += 1
                }
                #expect(count == 20)
            }
        }
    }

    @Test func headerLookupByName() throws {
        let record = Record(timestamp: 0, key: nil, value: nil, headers: [
            RecordHeader(key: "a", value: [1]), RecordHeader(key: "b", value: [2]), RecordHeader(key: "a", value: [3]),
        ])
        let batch = try buildBatch([record])
        try batch.withUnsafeBytes { raw in
            try RecordBatchDecoder().forEachRecord(in: raw) { record in
                #expect(record.headers.count == 3)
                #expect(record.headers.first(named: "b")?.value.map { Array($0) } == [2])
                #expect(record.headers.first(named: "a")?.value.map { Array($0) } == [1])
                #expect(record.headers.first(named: "c") == nil)
            }
        }
    }
}
