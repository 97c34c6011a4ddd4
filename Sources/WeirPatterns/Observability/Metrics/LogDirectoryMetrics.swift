import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import Prometheus
import Synchronization
import WeirClient
public import WeirLog

/// Gauges that describe a log directory, for `weir metrics`: per partition its log start and
/// end offsets, size and segment count; per consumer group its lag per partition and total;
/// the directory's free disk space.
///
/// `update()` refreshes the gauges from an open `LogDirectory` (call it before each render, as
/// `weir metrics` does per scrape). When the directory is owned by another process,
/// `updateFromFiles(path:)` exports what the files show without opening it: bytes on disk and
/// segment counts per partition, and `weir_log_directory_in_use 1`.
public final class LogDirectoryMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let _gauges = Mutex<[String: Gauge]>([:])

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func _set(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        let key = _MetricCache.key(name, labels)
        let gauge = _gauges.withLock { g in
            if let have = g[key] { return have }
            let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
            let made = labels.isEmpty ? registry.makeGauge(descriptor: descriptor) : registry.makeGauge(descriptor: descriptor, labels: labels)
            g[key] = made
            return made
        }
        gauge.set(value)
    }

    /// Refreshes every gauge from the open directory `log` (and its groups' committed offsets).
    public func update(_ log: LogDirectory) {
        _set("weir_log_directory_in_use", "1 when another process owns the log directory (only file-level metrics are exported then)", [], 0)
        _partitionFileGauges(log.path, log.allPartitions.map(\.topicPartition))
        for p in log.allPartitions {
            let l = [("topic", p.topicPartition.topic), ("partition", String(p.topicPartition.partition))]
            _set("weir_log_start_offset", "The first offset still in the partition", l, Double(p.logStartOffset))
            _set("weir_log_end_offset", "The high-water mark (next offset to be written)", l, Double(p.highWatermark))
        }
        let coordinator = GroupCoordinator.shared(for: log)
        for group in coordinator.listGroups() {
            let d = coordinator.describeGroup(group)
            _set("weir_consumer_group_members", "Active members of the group", [("group", group)], Double(d.members.count))
            for p in d.offsets {
                guard let lag = p.lag else { continue }
                // No help text: `LagMonitor` registers the same names through swift-metrics
                // (which has none), and the registry requires one help text per name.
                _set(WeirMetricNames.consumerLag, "",
                     [("group", group), ("topic", p.topicPartition.topic), ("partition", String(p.topicPartition.partition))], Double(lag))
            }
            _set(WeirMetricNames.consumerGroupLag, "", [("group", group)], Double(d.totalLag))
        }
        _freeBytes(log.path)
    }

    /// Refreshes the file-level gauges of a directory that another process owns.
    public func updateFromFiles(path: String) {
        _set("weir_log_directory_in_use", "1 when another process owns the log directory (only file-level metrics are exported then)", [], 1)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var partitions: [TopicPartition] = []
        for name in names where !name.hasPrefix(".") {
            guard let dash = name.lastIndex(of: "-"), let p = Int32(name[name.index(after: dash)...]) else { continue }
            partitions.append(TopicPartition(String(name[..<dash]), p))
        }
        _partitionFileGauges(path, partitions.sorted())
        _freeBytes(path)
    }

    func _partitionFileGauges(_ path: String, _ partitions: [TopicPartition]) {
        for tp in partitions {
            let dir = path + "/" + tp.directoryName
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            var bytes: Int64 = 0
            var segments = 0
            for f in files {
                var st = stat()
                guard stat(dir + "/" + f, &st) == 0 else { continue }
                bytes += Int64(st.st_blocks) * 512
                if f.hasSuffix(".log") { segments += 1 }
            }
            let l = [("topic", tp.topic), ("partition", String(tp.partition))]
            _set("weir_log_disk_bytes", "Bytes allocated on disk by the partition's files (preallocated active segments included)", l, Double(bytes))
            _set("weir_log_segments", "Segment files of the partition", l, Double(segments))
        }
    }

    func _freeBytes(_ path: String) {
        if let free = HealthChecks.freeBytes(atPath: path) {
            _set("weir_log_directory_free_bytes", "Free bytes on the log directory's file system", [], Double(free))
        }
    }
}
