import Foundation
import WeirCompression

/// `weir bench compression`: every codec and a sensible set of levels on the same payload,
/// through the whole stack (producer → log → consumer), plus the in-memory codec figures.
public enum CompressionBench {
    /// The (compression.type, level) cases measured.
    public static let cases: [(codec: String, level: Int?)] = [
        ("none", nil), ("gzip", 1), ("gzip", 6), ("snappy", nil), ("lz4", 1), ("lz4", 9), ("zstd", 1), ("zstd", 3), ("zstd", 9),
    ]

    /// One step per case on `base` (its payload, rate and timing), with the codec's Kafka
    /// properties (`compression.type`, `compression.<codec>.level`).
    public static func steps(base: Workload) -> [Workload] {
        cases.map { c in
            var w = base
            w.config["compression.type"] = c.codec
            if let level = c.level { w.config["compression.\(c.codec).level"] = String(level) }
            w.name = c.level.map { "\(c.codec)-\($0)" } ?? c.codec
            return w
        }
    }

    /// A payload file as a workload: one payload per line for a large file of lines (> 64 KiB
    /// with newlines), else the whole file as one payload.
    public static func apply(payloadFile: String, to w: inout Workload) throws(BenchError) {
        guard let data = FileManager.default.contents(atPath: payloadFile) else {
            throw .usage("--payload-file: cannot read '\(payloadFile)'.")
        }
        w.payloadFile = [payloadFile]
        w.payloadLines = data.count > 65_536 && data.contains(UInt8(ascii: "\n"))
    }

    /// The table: ratio (in the log), producer and consumer MB/s, CPU seconds per GB,
    /// p99 publish latency; plus in-memory compress/decompress MB/s of the codec itself.
    public static func table(_ summary: RunSummary, codecs: [CodecResult]) -> String {
        var lines = [pad("codec", 10) + pad("ratio", 7, right: true) + pad("prod MB/s", 11, right: true) + pad("cons MB/s", 11, right: true)
            + pad("CPU s/GB", 10, right: true) + pad("p99 pub", 11, right: true) + pad("comp MB/s", 11, right: true) + pad("decomp MB/s", 13, right: true)]
        for s in summary.steps {
            let codec = s.config["compression.type"] ?? "none"
            let level = s.config["compression.\(codec).level"].flatMap(Int.init)
            let mem = codecs.first { $0.codec == codec && (level == nil || $0.level == level) }
            lines.append(pad(s.name, 10) + pad(s.compressionRatio.map { String(format: "%.2f", $0) } ?? "-", 7, right: true)
                + pad(String(format: "%.1f", s.produce.mbPerSec), 11, right: true) + pad(String(format: "%.1f", s.consume.mbPerSec), 11, right: true)
                + pad(String(format: "%.2f", s.cpuSecondsPerGB), 10, right: true)
                + pad(s.latency["publish"].map { HTMLReport.formatMicros($0.p99) } ?? "-", 11, right: true)
                + pad(mem.map { String(format: "%.0f", $0.compress.perSecond / 1e6) } ?? "-", 11, right: true)
                + pad(mem.map { String(format: "%.0f", $0.decompress.perSecond / 1e6) } ?? "-", 13, right: true))
        }
        return lines.joined(separator: "\n")
    }

    /// In-memory codec figures on the run's payload pool (1 MiB of it), same cases.
    public static func codecFigures(for w: Workload) throws(BenchError) -> [CodecResult] {
        let pool = try PayloadPool.make(for: w)
        var sample: [UInt8] = []
        var i = 0
        while sample.count < 1 << 20 && i < 100_000 {
            pool.withTemplate(i) { sample.append(contentsOf: $0) }
            i += 1
        }
        var cs: [(codec: CompressionCodec, level: Int?)] = []
        for c in cases {
            guard let codec = CompressionCodec.allCases.first(where: { $0.name == c.codec }) else { continue }
            cs.append((codec, c.level))
        }
        do { return try CodecComparison(cases: cs, repeats: 2, minNanosPerRepeat: 100_000_000).run(payload: sample) } catch {
            throw BenchError(.backend, "codec comparison failed: \(error)")
        }
    }
}
