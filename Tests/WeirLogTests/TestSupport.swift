import Foundation
import Testing
import WeirCompression
import WeirFormat
@testable import WeirLog
import WeirTestSupport

/// A fresh directory under the system temp folder (WeirTestSupport's), removed by `remove()`.
struct TempDir {
    let path: String

    init(_ name: String = "weirlog") { path = makeTemporaryDirectory(name) }

    func remove() { removeTemporaryDirectory(path) }
}

/// Options for tests: no background maintenance, so the tests decide when things happen.
func testOptions(_ config: LogConfig = LogConfig()) -> LogDirectory.Options {
    LogDirectory.Options(maintenanceIntervalMs: nil, defaultConfig: config)
}

/// A small config: small segments and a dense index, so that tests roll and index a lot.
func smallConfig(segmentBytes: Int = 16 << 10, indexIntervalBytes: Int = 512) -> LogConfig {
    LogConfig(segmentBytes: segmentBytes, segmentIndexBytes: 4096, indexIntervalBytes: indexIntervalBytes)
}

/// The value of the record with sequence number `seq`: recognisable and checkable.
func testValue(_ seq: Int, size: Int = 40) -> [UInt8] {
    var v = Array("value-\(seq)-".utf8)
    var x = UInt64(truncatingIfNeeded: seq) &* 0x9E37_79B9_7F4A_7C15
    while v.count < size {
        x ^= x >> 29; x &*= 0xBF58_476D_1CE4_E5B9
        v.append(UInt8(truncatingIfNeeded: x))
    }
    return Array(v.prefix(max(size, v.count)))
}

/// One batch of `count` records with sequence numbers from `firstSeq`, keys `key-<seq % keys>`.
func makeBatch(firstSeq: Int, count: Int, valueSize: Int = 40, timestamp: Int64 = 1_700_000_000_000,
               keys: Int? = nil, codec: CompressionCodec = .none, tombstoneEvery: Int? = nil) -> [UInt8] {
    let b = try! RecordBatchBuilder(codec: codec, batchSizeLimit: Int(Int32.max))
    for i in 0..<count {
        let seq = firstSeq + i
        let key = keys.map { Array("key-\(seq % $0)".utf8) } ?? Array("key-\(seq)".utf8)
        let tomb = tombstoneEvery.map { seq % $0 == 0 } ?? false
        b.append(timestamp: timestamp + Int64(i), key: key, value: tomb ? nil : testValue(seq, size: valueSize))
    }
    return try! b.build()
}

/// Every record of the partition from `offset` on, decoded.
func readAll(_ log: PartitionLog, from offset: Int64? = nil, maxBytes: Int = 1 << 16) throws -> [Record] {
    var out: [Record] = []
    var next = offset ?? log.logStartOffset
    let decoder = RecordBatchDecoder()
    while next < log.highWatermark {
        let r = try log.read(from: next, maxBytes: maxBytes)
        if r.batches.isEmpty { break }
        for b in r.batches {
            #expect(b.isChecksumValid)
            let records = try b.withUnsafeBytes { try decoder.decode($0).records }
            out.append(contentsOf: records.filter { $0.offset >= next })
        }
        next = r.nextOffset
    }
    return out
}

/// The sequence number encoded in a test value.
func sequence(of record: Record) -> Int? {
    guard let v = record.value else { return nil }
    let parts = v.prefix(24).split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
    return parts.count >= 2 ? Int(String(decoding: parts[1], as: UTF8.self)) : nil
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

func segmentFiles(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
}
