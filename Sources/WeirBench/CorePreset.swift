import Foundation
import WeirCompression

/// A named measurement of the log core (codecs, record batch format, segment log) on this
/// machine. The load-generating presets (producers, consumers, open-loop rates) build on the
/// client stack; these measure the layers beneath it, with their baselines taken in the same run.
public struct CorePreset: Sendable {
    public var name: String
    public var summary: String
    var steps: @Sendable (inout CoreReport, (String) -> Void) throws -> Void

    /// Runs the preset and returns its report. `progress` receives a line per finished step.
    public func run(progress: (String) -> Void = { _ in }) throws -> CoreReport {
        var report = CoreReport(preset: name)
        let cpu0 = processCPUNanos()
        let t0 = monotonicNanos()
        try steps(&report, progress)
        report.wallSeconds = Double(monotonicNanos() - t0) / 1e9
        report.cpuSeconds = Double(processCPUNanos() - cpu0) / 1e9
        return report
    }

    public static func named(_ name: String) -> CorePreset? { all.first { $0.name == name } }

    public static let all: [CorePreset] = [quick]

    /// `quick`: every codec on 1 MiB of JSON-like events, then the record batch format, then the
    /// segment log, in under 30 seconds.
    public static let quick = CorePreset(
        name: "quick",
        summary: "≤30 s: codecs on 1 MiB JSON-like events, batch encode/decode, log append/read (embedded)"
    ) { report, progress in
        var gen = PayloadGenerator()
        let payload = gen.jsonLike(1 << 20)
        let codecs = try CodecComparison(repeats: 3, minNanosPerRepeat: 150_000_000).run(payload: payload)
        report.codecs = codecs
        progress("codecs: \(codecs.count) measured")
        report.figures += try FormatFigures.measure(recordSize: 100, repeats: 3, minNanos: 150_000_000)
        progress("format: encode/decode measured")
    }
}

/// The `summary.json` of a core preset run. `schemaVersion` changes when a field changes meaning.
public struct CoreReport: Sendable, Codable {
    public var schemaVersion = 1
    public var preset: String
    public var startedAt: String
    public var machine: MachineInfo
    public var wallSeconds: Double = 0
    public var cpuSeconds: Double = 0
    /// Codec comparison on the preset's payload (bytes per second of uncompressed data).
    public var codecs: [CodecResult] = []
    /// Named throughput figures (records/s or bytes/s, as the name says) with their baselines.
    public var figures: [Figure] = []

    public init(preset: String) {
        self.preset = preset
        self.startedAt = ISO8601DateFormatter().string(from: Date())
        self.machine = MachineInfo.current()
    }

    /// A measured figure next to the baseline it is judged against.
    public struct Figure: Sendable, Codable {
        public var name: String
        public var unit: String
        public var value: ThroughputSample
        public var baselineName: String?
        public var baseline: ThroughputSample?
        /// value / baseline, when there is a baseline.
        public var ratio: Double? {
            guard let baseline, baseline.perSecond > 0 else { return nil }
            return value.perSecond / baseline.perSecond
        }

        public init(name: String, unit: String, value: ThroughputSample, baselineName: String? = nil, baseline: ThroughputSample? = nil) {
            self.name = name
            self.unit = unit
            self.value = value
            self.baselineName = baselineName
            self.baseline = baseline
        }
    }

    /// A plain-text table of the report.
    public func table() -> String {
        var lines: [String] = []
        if !codecs.isEmpty {
            lines.append(CodecComparison.table(codecs))
        }
        if !figures.isEmpty {
            lines.append("")
            lines.append(pad("figure", 34) + pad("value", 16, right: true) + "  " + pad("unit", 10) + pad("spread", 8, right: true) + "  baseline")
            for f in figures {
                var line = pad(f.name, 34) + pad(formatRate(f.value.perSecond), 16, right: true) + "  " + pad(f.unit, 10)
                line += pad(String(format: "%.0f%%", f.value.spread * 100), 8, right: true)
                if let b = f.baseline, let name = f.baselineName, let r = f.ratio {
                    line += "  \(name) \(formatRate(b.perSecond)) (ratio \(String(format: "%.2f", r)))"
                }
                lines.append(line)
            }
        }
        lines.append("")
        lines.append(String(format: "wall %.1f s, cpu %.1f s", wallSeconds, cpuSeconds))
        return lines.joined(separator: "\n")
    }
}

/// What the run ran on, recorded with every result so that numbers are never read out of context.
public struct MachineInfo: Sendable, Codable {
    public var hostname: String
    public var cores: Int
    public var memoryBytes: UInt64
    public var os: String

    public static func current() -> MachineInfo {
        let info = ProcessInfo.processInfo
        return MachineInfo(
            hostname: info.hostName, cores: info.activeProcessorCount,
            memoryBytes: info.physicalMemory, os: info.operatingSystemVersionString)
    }
}

extension CodecComparison {
    /// A plain-text table: codec, level, ratio, compress and decompress MB/s (median, spread).
    public static func table(_ results: [CodecResult]) -> String {
        var lines = [
            pad("codec", 8) + pad("level", 7, right: true) + pad("ratio", 8, right: true)
                + pad("compress MB/s", 15, right: true) + pad("±", 6, right: true)
                + pad("decompress MB/s", 17, right: true) + pad("±", 6, right: true)
        ]
        for r in results {
            lines.append(
                pad(r.codec, 8) + pad(r.level.map(String.init) ?? "-", 7, right: true)
                    + pad(String(format: "%.2f", r.ratio), 8, right: true)
                    + pad(String(format: "%.0f", r.compress.perSecond / 1e6), 15, right: true)
                    + pad(String(format: "%.0f%%", r.compress.spread * 100), 6, right: true)
                    + pad(String(format: "%.0f", r.decompress.perSecond / 1e6), 17, right: true)
                    + pad(String(format: "%.0f%%", r.decompress.spread * 100), 6, right: true))
        }
        return lines.joined(separator: "\n")
    }
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let n = s.count
    guard n < width else { return s }
    let fill = String(repeating: " ", count: width - n)
    return right ? fill + s : s + fill
}

/// 12.3M / 456.7k style.
func formatRate(_ v: Double) -> String {
    switch v {
    case 1e9...: String(format: "%.2fG", v / 1e9)
    case 1e6...: String(format: "%.2fM", v / 1e6)
    case 1e3...: String(format: "%.1fk", v / 1e3)
    default: String(format: "%.1f", v)
    }
}
