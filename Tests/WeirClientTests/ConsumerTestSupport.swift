import Foundation
import Synchronization
import WeirCompression
import WeirFormat
import WeirLog
@testable import WeirClient
import WeirTestSupport

/// A fresh log directory under the system temp folder, removed by `remove()`.
struct ConsumerTestDir {
    let path: String
    let log: LogDirectory

    init(_ name: String = "weirconsumer") throws {
        path = makeTemporaryDirectory(name)
        log = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil, defaultConfig: LogConfig(segmentBytes: 1 << 20)))
    }

    func reopen() throws -> LogDirectory {
        try log.close()
        return try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil, defaultConfig: LogConfig(segmentBytes: 1 << 20)))
    }

    func remove() {
        try? log.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Appends `count` records "<prefix>-<i>" (keys "k<i>") to a partition, `perBatch` to a batch.
@discardableResult
func produce(_ dir: LogDirectory, _ topic: String, partition: Int32, count: Int, from: Int = 0, prefix: String? = nil,
             perBatch: Int = 10, codec: CompressionCodec = .none, headers: [RecordHeader] = []) throws -> Int64 {
    let log = try dir.partition(topic, partition)
    var i = from
    var last: Int64 = -1
    while i < from + count {
        let b = try RecordBatchBuilder(codec: codec, batchSizeLimit: Int(Int32.max))
        for j in i..<min(i + perBatch, from + count) {
            _ = b.append(timestamp: 1_700_000_000_000 + Int64(j), key: Array("k\(j)".utf8),
                         value: Array("\(prefix ?? "\(topic)-\(partition)")-\(j)".utf8), headers: headers)
        }
        i = min(i + perBatch, from + count)
        let bytes = try b.build()
        last = try bytes.withUnsafeBytes { try log.append($0) }.lastOffset
    }
    return last
}

/// A thread-safe list for handler results.
final class Collected<T: Sendable>: Sendable {
    let items = Mutex<[T]>([])
    func append(_ x: T) { items.withLock { $0.append(x) } }
    var all: [T] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
    func removeAll() { items.withLock { $0.removeAll() } }
}

/// A small group configuration for fast tests.
func groupConfig(_ group: String, strategy: ConsumerConfiguration.AssignmentStrategy = .range) -> ConsumerConfiguration {
    var c = ConsumerConfiguration(groupId: group)
    c.autoOffsetReset = .earliest
    // Kafka's own default max.poll.interval.ms, and a session long enough that a heartbeat
    // thread starved by a loaded machine is not taken for a crash; tests of crashes shorten
    // the session of the member that crashes.
    c.sessionTimeoutMs = 10_000
    c.heartbeatIntervalMs = 20
    c.maxPollIntervalMs = 300_000
    c.fetchMaxWaitMs = 20
    c.enableAutoCommit = false
    c.partitionAssignmentStrategy = [strategy]
    return c
}

extension ConsumerRecord {
    var text: String { valueString ?? "" }
}
