import Testing
import WeirCompression
@testable import WeirFormat

/// Byte-exact compatibility with batches built by kafka-python 3.0.12 (see KafkaFixtures.swift).
@Suite struct KafkaFixtureTests {
    static let t0: Int64 = 1_700_000_000_000

    static func r(_ ts: Int64, _ key: String?, _ value: String?, _ headers: [RecordHeader] = []) -> Record {
        Record(timestamp: ts, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) }, headers: headers)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var hex: String
        var records: [Record]
        var transactional = false
        var producerId: Int64 = -1
        var producerEpoch: Int16 = -1
        var baseSequence: Int32 = -1
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "plain", hex: KafkaFixtures.plain, records: [
            r(t0, "k0", "v0"), r(t0 + 5, "key-1", "value-1"), r(t0 + 3, "", ""),
        ]),
        Case(name: "nulls", hex: KafkaFixtures.nulls, records: [
            r(t0, nil, "only value"), r(t0 + 1, "only key", nil), r(t0 + 2, nil, nil),
        ]),
        Case(name: "headers", hex: KafkaFixtures.headers, records: [
            r(t0, "k", "v", [
                RecordHeader(key: "trace-id", value: Array("abc123".utf8)),
                RecordHeader(key: "empty", value: []),
                RecordHeader(key: "null", value: nil),
            ]),
            r(t0 + 10, "k2", "v2", [
                RecordHeader(key: "café", value: [0, 1, 2]),
                RecordHeader(key: "trace-id", value: Array("def".utf8)),
            ]),
        ]),
        Case(name: "transactional", hex: KafkaFixtures.transactional,
             records: (0 ..< 5).map { r(t0 + Int64($0), "tx-\($0)", "payload-\($0)") },
             transactional: true, producerId: 1234, producerEpoch: 5, baseSequence: 42),
        Case(name: "idempotent", hex: KafkaFixtures.idempotent,
             records: [r(t0 - 7, "a", "b"), r(t0 + 7, "c", "d")],
             producerId: 9_000_000_000, producerEpoch: 32767, baseSequence: 2_147_483_000),
        Case(name: "large", hex: KafkaFixtures.large, records: (0 ..< 200).map { i in
            Record(timestamp: t0 + Int64(i) * 1000, key: Array(keyName(i).utf8),
                   value: [UInt8](repeating: UInt8(i % 251), count: i % 40))
        }),
        Case(name: "negativeDelta", hex: KafkaFixtures.negativeDelta, records: [
            r(t0, "x", "y"), r(t0 - 100_000, "x", "y"), r(0, nil, "zero ts"),
        ]),
    ]

    static func keyName(_ i: Int) -> String {
        let digits = String(i)
        return "key-" + String(repeating: "0", count: 5 - digits.count) + digits
    }

    @Test(arguments: cases)
    func builderProducesKafkaBytes(_ c: Case) throws {
        let built = try buildBatch(c.records) { builder in
            builder.partitionLeaderEpoch = 0 // kafka-python writes 0 where the Java producer writes −1
            builder.isTransactional = c.transactional
            builder.producerId = c.producerId
            builder.producerEpoch = c.producerEpoch
            builder.baseSequence = c.baseSequence
        }
        #expect(hexString(built) == c.hex)
    }

    @Test(arguments: cases)
    func decoderReadsKafkaBytes(_ c: Case) throws {
        let bytes = hexBytes(c.hex)
        let (header, records) = try RecordBatchDecoder().decode(bytes)
        #expect(header.recordCount == Int32(c.records.count))
        #expect(header.lastOffsetDelta == Int32(c.records.count - 1))
        #expect(header.isTransactional == c.transactional)
        #expect(!header.isControl)
        #expect(header.codec == CompressionCodec.none)
        #expect(header.producerId == c.producerId)
        #expect(header.producerEpoch == c.producerEpoch)
        #expect(header.baseSequence == c.baseSequence)
        #expect(header.baseTimestamp == c.records[0].timestamp)
        #expect(header.maxTimestamp == c.records.map(\.timestamp).max())
        var expected = c.records
        for i in expected.indices { expected[i].offset = Int64(i) }
        #expect(records == expected)
    }

    @Test func controlBatchesMatchKafkaLayout() throws {
        let commit = RecordBatchBuilder.controlBatch(
            ControlRecord(type: .commit, coordinatorEpoch: 17), producerId: 1234, producerEpoch: 5,
            timestamp: Self.t0, partitionLeaderEpoch: 0)
        #expect(hexString(commit) == KafkaFixtures.controlCommit)
        #expect(commit.count == 78)
        let abort = RecordBatchBuilder.controlBatch(
            ControlRecord(type: .abort), producerId: 77, producerEpoch: 0, timestamp: Self.t0 + 1,
            partitionLeaderEpoch: 0)
        #expect(hexString(abort) == KafkaFixtures.controlAbort)
    }

    @Test func controlBatchesDecode() throws {
        let decoder = RecordBatchDecoder()
        for (hex, type, epoch) in [(KafkaFixtures.controlCommit, ControlRecordType.commit, Int32(17)),
                                   (KafkaFixtures.controlAbort, .abort, 0)] {
            let bytes = hexBytes(hex)
            try bytes.withUnsafeBytes { raw in
                try decoder.withRecords(in: raw) { (records) throws in
                    #expect(records.header.isControl)
                    #expect(records.header.isTransactional)
                    #expect(records.header.baseSequence == -1)
                    let record = try #require(try records.next())
                    let marker = try ControlRecord(record)
                    #expect(marker.type == type)
                    #expect(marker.coordinatorEpoch == epoch)
                    #expect(try records.next() == nil)
                }
            }
        }
    }

    @Test(arguments: ["gzip", "snappy", "lz4", "zstd"])
    func decoderReadsKafkaCompressedBatches(_ name: String) throws {
        let codec = try CompressionCodec(name: name)
        let bytes = hexBytes(try #require(KafkaFixtures.compressed[name]))
        let header = try bytes.withUnsafeBytes { raw in try RecordBatch.verify(raw) }
        #expect(header.codec == codec)
        #expect(header.recordCount == 50)
        #expect(codecAvailable(codec))
        let (_, records) = try RecordBatchDecoder().decode(bytes)
        let lorem = String(repeating: "the quick brown fox jumps over the lazy dog ", count: 6)
        let expected = (0 ..< 50).map { i in
            Record(offset: Int64(i), timestamp: Self.t0 + Int64(i), key: Array("key-\(i)".utf8),
                   value: Array((lorem + "\(i)").utf8), headers: [RecordHeader(key: "h", value: Array("\(i)".utf8))])
        }
        #expect(records == expected)
    }
}
