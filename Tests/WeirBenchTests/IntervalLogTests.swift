import Foundation
import Histogram
import Testing
@testable import WeirBench
import WeirRandom

/// Python's `hdrh` (PyPI `hdrhistogram`), HdrHistogram's Python port, when installed: an
/// outside reader of the `.hlog` files.
let pythonHdrh: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import hdrh.log"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite struct IntervalLogTests {
    func sample(_ seed: UInt64, count: Int = 5_000) -> Histogram<UInt64> {
        var h = makeLatencyHistogram()
        var g = PayloadGenerator(seed: seed)
        for _ in 0..<count {
            // 1 µs … ~17 s, log-spread, so every bucket range and long zero runs appear.
            let bits = UInt64(10 + g.next(below: 25))
            h.record(1_000 + g.next() % (1 << bits))
        }
        h.record(1)
        h.record(59_999_999_999)
        return h
    }

    /// Same counts; every value equivalent (the encoding keeps buckets, 3 significant digits).
    func expectSame(_ a: Histogram<UInt64>, _ b: Histogram<UInt64>) {
        #expect(a.totalCount == b.totalCount)
        #expect(a.max == b.max && a.valuesAreEquivalent(a.min, b.min))
        for p in [0.0, 1, 10, 50, 90, 99, 99.9, 99.99, 100] {
            #expect(a.valuesAreEquivalent(a.valueAtPercentile(p), b.valueAtPercentile(p)), "p\(p)")
        }
        let ra = a.recordedValues().map { ($0.value, $0.count) }, rb = b.recordedValues().map { ($0.value, $0.count) }
        #expect(ra.count == rb.count && zip(ra, rb).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
    }

    @Test func indexMathMatchesTheHistogramsBuckets() {
        let h = makeLatencyHistogram()
        for v: UInt64 in [0, 1, 2047, 2048, 2049, 4095, 4096, 1_000_000, 123_456_789, 59_999_999_999] {
            let i = HistogramEncoding.index(of: v)
            #expect(h.valuesAreEquivalent(HistogramEncoding.value(at: i), v), "\(v)")
            #expect(HistogramEncoding.index(of: HistogramEncoding.value(at: i)) == i)
        }
    }

    @Test func v2EncodingRoundTrips() throws {
        let h = sample(1)
        let plain = HistogramEncoding.encode(h)
        #expect(Array(plain[0..<4]) == [0x1C, 0x84, 0x93, 0x13])
        expectSame(try HistogramEncoding.decode(plain), h)
        let compressed = HistogramEncoding.encodeCompressed(h)
        #expect(Array(compressed[0..<4]) == [0x1C, 0x84, 0x93, 0x14])
        #expect(compressed[8] == 0x78)  // a zlib stream
        expectSame(try HistogramEncoding.decode(compressed), h)
        expectSame(try HistogramEncoding.decode(HistogramEncoding.encodeCompressed(makeLatencyHistogram())), makeLatencyHistogram())
    }

    @Test func zigZagUsesHdrHistogramsNineByteForm() throws {
        for v: Int64 in [0, 1, -1, 63, -64, 64, 1 << 40, -(1 << 40), .max, .min] {
            var out: [UInt8] = []
            HistogramEncoding.putZigZag(v, &out)
            #expect(out.count <= 9)
            var at = 0
            #expect(try HistogramEncoding.getZigZag(out, &at, out.count) == v)
        }
    }

    @Test func damagedEncodingsAreErrorsNotCrashes() {
        let good = HistogramEncoding.encodeCompressed(sample(2))
        #expect(throws: BenchError.self) { try HistogramEncoding.decode([]) }
        #expect(throws: BenchError.self) { try HistogramEncoding.decode(Array(good[0..<20])) }
        var bad = good
        bad[0] = 0
        #expect(throws: BenchError.self) { try HistogramEncoding.decode(bad) }
        var plain = HistogramEncoding.encode(sample(3))
        plain[7] = 0xFF  // payload length past the end
        #expect(throws: BenchError.self) { try HistogramEncoding.decode(plain) }
    }

    @Test func hlogTextParsesBackIntoTheSameIntervals() throws {
        let a = sample(4), b = sample(5)
        let entries = [
            IntervalHistogram(kind: .publish, startSeconds: 1, lengthSeconds: 1, histogram: b),
            IntervalHistogram(kind: .publish, startSeconds: 0, lengthSeconds: 1, histogram: a),
        ]
        let text = HistogramLog.text(entries, startEpoch: 1_765_000_000.25, comment: "test")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[1] == "#[Histogram log format version 1.3]")
        #expect(lines[2].hasPrefix("#[StartTime: 1765000000.250 (seconds since epoch), "))
        #expect(lines[4] == HistogramLog.legend)
        #expect(lines[5].hasPrefix("0.000,1.000,") && lines[6].hasPrefix("1.000,1.000,"))
        let parsed = try HistogramLog.parse(text)
        #expect(parsed.startEpoch == 1_765_000_000.25)
        #expect(parsed.entries.count == 2)
        expectSame(parsed.entries[0].histogram, a)
        expectSame(parsed.entries[1].histogram, b)
        #expect(abs(parsed.entries[0].maxMillis - Double(a.max) / 1e6) < 0.001)
        #expect(throws: BenchError.self) { try HistogramLog.parse(HistogramLog.legend + "\n0.0,1.0,2.0,not-base64!\n") }
    }

    @Test(.enabled(if: pythonHdrh, "python3 has no hdrh module (pip install hdrhistogram)"))
    func pythonsHdrhReadsTheLog() throws {
        let h = sample(6)
        let path = NSTemporaryDirectory() + "weir-\(getpid())-publish.hlog"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HistogramLog.text([IntervalHistogram(kind: .publish, startSeconds: 0, lengthSeconds: 1, histogram: h)], startEpoch: 1_765_000_000, comment: "t")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let script = """
            import sys
            from hdrh.histogram import HdrHistogram
            from hdrh.log import HistogramLogReader
            r = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60000000000, 3))
            h = r.get_next_interval_histogram()
            print(h.get_total_count(), h.get_value_at_percentile(50), h.get_value_at_percentile(99.9), h.get_max_value())
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        #expect(fields.count == 4, "python printed: \(text)")
        guard fields.count == 4 else { return }
        #expect(fields[0] == h.totalCount)
        #expect(h.valuesAreEquivalent(fields[1], h.valueAtPercentile(50)))
        #expect(h.valuesAreEquivalent(fields[2], h.valueAtPercentile(99.9)))
        #expect(h.valuesAreEquivalent(fields[3], h.max))
    }
}

@Suite struct RunMergeTests {
    func runDirectory(_ name: String, steps: [String], records: Int) throws -> String {
        let dir = NSTemporaryDirectory() + "weir-merge-\(getpid())-\(name)"
        var summary = RunSummary(preset: "p")
        var results: [StepResult] = []
        for step in steps {
            var w = Workload()
            w.name = step
            var s = StepSummary(name: step, backend: "null", workload: w)
            s.durationSeconds = 1
            s.produce.records = records
            s.produce.recordsPerSec = Double(records)
            var h = makeLatencyHistogram()
            for v in 1...records { h.record(UInt64(v) * 1000) }
            s.latency["publish"] = LatencyStats(h)
            var row = IntervalRow(second: 0)
            row.acked = records
            row.latency[.publish] = LatencyStats(h)
            summary.steps.append(s)
            results.append(StepResult(summary: s, intervals: [row], histograms: [.publish: h],
                                      intervalHistograms: [IntervalHistogram(kind: .publish, startSeconds: 0, lengthSeconds: 1, histogram: h)], measureStartEpoch: 1_765_000_000))
        }
        try RunWriter.write(summary, results: results, to: dir)
        return dir
    }

    @Test func countsAddAndHistogramsMergeExactly() throws {
        let a = try runDirectory("a", steps: ["s1", "s2"], records: 100), b = try runDirectory("b", steps: ["s1", "s2"], records: 300)
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        let (summary, results, _) = try RunMerge.merge(directories: [a, b])
        #expect(summary.steps.map(\.name) == ["s1", "s2"])
        #expect(summary.steps[0].produce.records == 400 && summary.steps[0].produce.recordsPerSec == 400)
        #expect(summary.steps[1].latency["publish"]?.count == 400)
        #expect(results[0].intervals.first?.acked == 400)
        #expect(abs((summary.steps[0].latency["publish"]?.max ?? 0) - 300) < 1)
    }

    @Test func runsOfDifferentStepsOrOneRunAreUsageErrors() throws {
        let a = try runDirectory("c", steps: ["s1"], records: 10), b = try runDirectory("d", steps: ["other"], records: 10)
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        #expect { try RunMerge.merge(directories: [a, b]) } throws: { ($0 as? BenchError)?.code == .usage }
        #expect { try RunMerge.merge(directories: [a]) } throws: { ($0 as? BenchError)?.code == .usage }
    }
}
