import Testing
import WeirCompression
@testable import WeirFormat

@Suite struct ScanTests {
    static func segment(batches: Int) throws -> (bytes: [UInt8], sizes: [Int]) {
        var bytes: [UInt8] = []
        var sizes: [Int] = []
        let builder = try RecordBatchBuilder()
        for b in 0 ..< batches {
            builder.reset()
            for i in 0 ... b { builder.append(timestamp: Int64(b * 100 + i), key: nil, value: Array("value \(i)".utf8)) }
            var batch = try builder.build()
            try batch.withUnsafeMutableBytes { try RecordBatch.setBaseOffset(Int64(bytes.count), in: $0) }
            sizes.append(batch.count)
            bytes += batch
        }
        return (bytes, sizes)
    }

    @Test func scanFindsEveryBatch() throws {
        let (bytes, sizes) = try Self.segment(batches: 10)
        var positions: [Int] = []
        let result = bytes.withUnsafeBytes { raw in
            RecordBatch.scan(raw) { (position, header) in
                positions.append(position)
                #expect(header.baseOffset == Int64(position))
                #expect(header.totalSize == sizes[positions.count - 1])
            }
        }
        #expect(result == RecordBatchScanResult(validByteCount: bytes.count, batchCount: 10, error: nil))
        #expect(positions.count == 10)
    }

    @Test func setBaseOffsetKeepsTheCRCValid() throws {
        var batch = try buildBatch([Record(timestamp: 1, key: nil, value: [1, 2, 3])])
        try batch.withUnsafeMutableBytes { raw in
            try RecordBatch.setBaseOffset(123_456_789, in: raw)
            try RecordBatch.setPartitionLeaderEpoch(7, in: raw)
        }
        let header = try batch.withUnsafeBytes { try RecordBatch.verify($0) }
        #expect(header.baseOffset == 123_456_789)
        #expect(header.partitionLeaderEpoch == 7)
        #expect(try RecordBatchDecoder().decode(batch).records[0].offset == 123_456_789)
    }

    @Test func tornTailStopsAtTheLastWholeBatch() throws {
        let (bytes, sizes) = try Self.segment(batches: 5)
        let torn = Array(bytes.dropLast(3))
        let result = torn.withUnsafeBytes { RecordBatch.scan($0) }
        #expect(result.batchCount == 4)
        #expect(result.validByteCount == sizes.dropLast().reduce(0, +))
        #expect(result.error?.code == .truncatedBatch)
    }

    @Test func zeroedTailIsABadLength() throws {
        let (bytes, _) = try Self.segment(batches: 3)
        let padded = bytes + [UInt8](repeating: 0, count: 4096)
        let result = padded.withUnsafeBytes { RecordBatch.scan($0) }
        #expect(result.batchCount == 3)
        #expect(result.validByteCount == bytes.count)
        #expect(result.error?.code == .badBatchLength)
        #expect(result.error?.position == bytes.count + RecordBatchLayout.batchLength)
    }

    @Test func flippedBitIsACRCMismatch() throws {
        var (bytes, sizes) = try Self.segment(batches: 4)
        let lastStart = sizes.dropLast().reduce(0, +)
        bytes[lastStart + 70] ^= 0x10
        let result = bytes.withUnsafeBytes { RecordBatch.scan($0) }
        #expect(result.batchCount == 3)
        #expect(result.validByteCount == lastStart)
        #expect(result.error?.code == .crcMismatch)
        let unchecked = bytes.withUnsafeBytes { RecordBatch.scan($0, verifyingCRC: false) }
        #expect(unchecked.batchCount == 4)
    }

    @Test func batchIteratorYieldsBatchBytes() throws {
        let (bytes, _) = try Self.segment(batches: 3)
        let decoder = RecordBatchDecoder()
        var total = 0
        try bytes.withUnsafeBytes { raw in
            var batches = RecordBatchIterator(raw)
            while let (position, header) = try batches.next() {
                let batch = batches.bytes(at: position, header: header)
                total += try decoder.decode(batch).records.count
            }
        }
        #expect(total == 1 + 2 + 3)
    }
}
