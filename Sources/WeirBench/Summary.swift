import Foundation
public import Histogram

/// `summary.json`: one run (a preset or a workload file), one entry per step.
///
/// The schema is versioned (`schema_version`) and documented in `docs/summary-schema.md`;
/// fields are only added within a version. Latencies are in microseconds.
public struct RunSummary: Sendable, Codable {
    public var schema = "weir-bench-summary"
    public var schemaVersion = 1
    /// Preset name, or the workload file's name.
    public var preset: String
    public var startedAt: String
    public var machine: MachineInfo
    /// Wall time of the whole run, seconds.
    public var wallSeconds: Double = 0
    public var steps: [StepSummary] = []

    enum CodingKeys: String, CodingKey {
        case schema, schemaVersion = "schema_version", preset, startedAt = "started_at", machine
        case wallSeconds = "wall_seconds", steps
    }

    public init(preset: String) {
        self.preset = preset
        self.startedAt = ISO8601DateFormatter().string(from: Date())
        self.machine = MachineInfo.current()
    }
}

/// Throughput of one side (produce or consume) over the measured window.
public struct ThroughputSummary: Sendable, Codable, Equatable {
    public var records: Int = 0
    public var bytes: Int = 0
    public var recordsPerSec: Double = 0
    public var mbPerSec: Double = 0
    public var errors: Int = 0

    enum CodingKeys: String, CodingKey {
        case records, bytes, recordsPerSec = "records_per_sec", mbPerSec = "mb_per_sec", errors
    }

    public init() {}
}

/// One step's results.
public struct StepSummary: Sendable, Codable {
    public var name: String
    public var backend: String
    /// What the backend reported about itself (`MessagingClient.details()`: a Kafka cluster's
    /// bootstrap servers, broker count, cluster id, client version); nil when nothing.
    public var backendDetails: [String: String]?
    /// The step's workload, every field resolved.
    public var workload: Workload
    /// Kafka properties in force (`--config` and the preset's).
    public var config: [String: String]
    /// Measured window in seconds (warmup excluded).
    public var durationSeconds: Double = 0
    public var warmupSeconds: Double = 0
    /// Target rate (records/s), 0 for max rate.
    public var targetRate: Double = 0
    /// Produce throughput counts acknowledged records (as kafka-producer-perf-test does).
    public var produce = ThroughputSummary()
    public var consume = ThroughputSummary()
    /// `publish`, `publish_delay`, `end_to_end` (absent when nothing was measured).
    public var latency: [String: LatencyStats] = [:]
    /// Record bytes / bytes appended to the log (batches, after compression); nil when unknown.
    public var compressionRatio: Double?
    /// Process CPU time (user + system) during the step, and per GB produced.
    public var cpuSeconds: Double = 0
    public var cpuSecondsPerGB: Double = 0
    /// CPU time the hypervisor took from this machine during the measured window (`steal` in
    /// `/proc/stat`, summed over all CPUs), in seconds; nil where it cannot be read. Above zero,
    /// the whole machine stopped for a while and the latency tail of those seconds shows it.
    public var hostStealSeconds: Double?
    /// Failed records and other errors.
    public var errors: Int = 0
    /// Backlog scenario: time to build the backlog and to drain it.
    public var backlog: BacklogSummary?
    /// findMaxRate mode: every rate tried, and the highest one that held the bound.
    public var probes: [RateProbe]?
    public var maxSustainableRate: Double?
    /// Records still unconsumed when the drain timed out (0 after a clean drain).
    public var undrained: Int = 0
    /// Scheduled records the producers never sent: they fell so far behind the target rate
    /// that the window's end plus its grace (a tenth, at least 1 s) passed; nil when none.
    public var unsent: Int?
    /// The fault windows of the step's timeline: latency while each lasted and the time to
    /// recover; nil without faults.
    public var faults: [FaultWindow]?

    enum CodingKeys: String, CodingKey {
        case name, backend, backendDetails = "backend_details", workload, config, durationSeconds = "duration_seconds", warmupSeconds = "warmup_seconds"
        case targetRate = "target_rate", produce, consume, latency, compressionRatio = "compression_ratio"
        case cpuSeconds = "cpu_seconds", cpuSecondsPerGB = "cpu_seconds_per_gb", hostStealSeconds = "host_steal_seconds", errors, backlog, probes
        case maxSustainableRate = "max_sustainable_rate", undrained, unsent, faults
    }

    public init(name: String, backend: String, workload: Workload) {
        self.name = name
        self.backend = backend
        self.workload = workload
        self.config = workload.config
    }
}

public struct BacklogSummary: Sendable, Codable, Equatable {
    public var backlogBytes: Int
    public var buildSeconds: Double
    /// From the consumers' start until they caught up with the producers.
    public var drainSeconds: Double?
    enum CodingKeys: String, CodingKey {
        case backlogBytes = "backlog_bytes", buildSeconds = "build_seconds", drainSeconds = "drain_seconds"
    }
}

public struct RateProbe: Sendable, Codable, Equatable {
    public var rate: Double
    public var achievedRate: Double
    public var p99Millis: Double
    public var ok: Bool
    enum CodingKeys: String, CodingKey { case rate, achievedRate = "achieved_rate", p99Millis = "p99_ms", ok }
}

/// One row of `intervals.csv`: one second of one step.
public struct IntervalRow: Sendable, Equatable {
    /// Seconds since the start of measurement (-1 = warmup).
    public var second: Int
    public var produced = 0
    public var producedBytes = 0
    public var acked = 0
    public var consumed = 0
    public var consumedBytes = 0
    public var errors = 0
    /// Each latency kind's statistics in the interval (microseconds); absent when nothing was
    /// recorded.
    public var latency: [LatencyKind: LatencyStats] = [:]
    /// Microseconds; nil when nothing was recorded in the interval.
    public var publishP50: Double? { latency[.publish]?.p50 }
    public var publishP99: Double? { latency[.publish]?.p99 }
    public var endToEndP50: Double? { latency[.endToEnd]?.p50 }
    public var endToEndP99: Double? { latency[.endToEnd]?.p99 }
    /// Hypervisor steal during the interval, milliseconds over all CPUs; nil when unknown.
    public var stealMillis: Double?
    /// The faults active during the interval (`+`-joined labels); nil when none.
    public var fault: String?
}

/// A finished step: its summary plus the data behind the CSV, hgrm and HTML files.
public struct StepResult: Sendable {
    public var summary: StepSummary
    public var intervals: [IntervalRow]
    /// Merged histograms (nanoseconds) by kind.
    public var histograms: [LatencyKind: Histogram<UInt64>]
    /// Every measured interval's histogram of every kind, encoded (the `.hlog` files).
    public var intervalHistograms: [IntervalHistogram] = []
    /// Wall-clock time (Unix seconds) of the start of measurement; nil when unknown.
    public var measureStartEpoch: Double?

    public init(summary: StepSummary, intervals: [IntervalRow], histograms: [LatencyKind: Histogram<UInt64>], intervalHistograms: [IntervalHistogram] = [], measureStartEpoch: Double? = nil) {
        self.summary = summary
        self.intervals = intervals
        self.histograms = histograms
        self.intervalHistograms = intervalHistograms
        self.measureStartEpoch = measureStartEpoch
    }
}

/// What the run ran on, recorded with every result so that numbers are never read out of context.
public struct MachineInfo: Sendable, Codable, Equatable {
    public var hostname: String
    public var cores: Int
    public var memoryBytes: UInt64
    public var os: String
    public var cpu: String

    enum CodingKeys: String, CodingKey { case hostname, cores, memoryBytes = "memory_bytes", os, cpu }

    public static func current() -> MachineInfo {
        let info = ProcessInfo.processInfo
        var cpu = "unknown"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return MachineInfo(
            hostname: info.hostName, cores: info.activeProcessorCount,
            memoryBytes: info.physicalMemory, os: info.operatingSystemVersionString, cpu: cpu)
    }
}
