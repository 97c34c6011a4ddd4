import Foundation
import Testing
import WeirFormat
import WeirLog
@testable import WeirClient
import WeirTestSupport

/// A fresh log directory under the temp folder; `close()` closes and removes it.
final class TestLog: @unchecked Sendable {
    let path: String
    let dir: LogDirectory

    init(_ name: String = "weirclient") throws {
        path = makeTemporaryDirectory(name)
        dir = try LogDirectory.open(path: path, options: LogDirectory.Options(
            maintenanceIntervalMs: nil, defaultConfig: LogConfig(segmentBytes: 4 << 20, segmentIndexBytes: 1 << 16)))
    }

    func reopen() throws -> LogDirectory {
        try dir.close()
        return try LogDirectory.open(path: path, options: LogDirectory.Options(
            maintenanceIntervalMs: nil, defaultConfig: LogConfig(segmentBytes: 4 << 20, segmentIndexBytes: 1 << 16)))
    }

    func remove() {
        try? dir.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    func createTopic(_ name: String, partitions: Int = 1, configs: [String: String] = [:]) throws {
        try Admin(logDirectory: dir).createTopic(name, partitions: partitions, configs: configs)
    }
}

/// Every batch of a partition, with its decoded records.
func batches(_ log: PartitionLog) throws -> [(header: RecordBatchHeader, records: [Record])] {
    var out: [(RecordBatchHeader, [Record])] = []
    var next = log.logStartOffset
    let decoder = RecordBatchDecoder()
    while next < log.highWatermark {
        let r = try log.read(from: next, maxBytes: 1 << 20)
        if r.batches.isEmpty { break }
        for b in r.batches {
            #expect(b.isChecksumValid)
            out.append(try b.withUnsafeBytes { try decoder.decode($0) })
        }
        next = r.nextOffset
    }
    return out
}

func config(_ props: [String: String] = [:]) throws -> ProducerConfiguration {
    try ProducerConfiguration(properties: props)
}

func text(_ b: [UInt8]?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }
