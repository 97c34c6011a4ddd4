import Foundation
import Histogram
import Testing
import WeirClientAPI
@testable import WeirBench

@Suite struct MeasurementTests {
    /// Two recorders (two threads) with known samples, merged by the collector.
    @Test func recordersMergeIntoExactPercentiles() {
        let inbox = _Inbox()
        let origin: UInt64 = 1_000_000_000
        let a = LatencyRecorder(kind: .publish, counter: .acked, inbox: inbox, origin: origin, intervalNanos: 1_000_000_000)
        let b = LatencyRecorder(kind: .publish, counter: .acked, inbox: inbox, origin: origin, intervalNanos: 1_000_000_000)
        // A warmup sample that must be excluded.
        b.record(latencyNanos: 5_000_000_000, bytes: 10, now: origin - 10)
        // 1...1000 µs split over two recorders, all inside interval 0.
        for v in 1...1000 {
            let r = v % 2 == 0 ? a : b
            r.record(latencyNanos: UInt64(v) * 1000, bytes: 10, now: origin + UInt64(v))
        }
        // A sample in interval 2.
        a.record(latencyNanos: 999_000_000, bytes: 10, now: origin + 2_000_000_000)
        a.finish()
        b.finish()
        var w = Workload()
        w.subscriptionsPerTopic = 0
        let c = _Collector(inbox: inbox, origin: origin, intervalNanos: 1_000_000_000, workload: w, progress: { _ in }, shared: _Shared(), start: 0)
        c.drainInbox(closeAll: true)
        let total = c.totals[LatencyKind.publish.index]!
        #expect(total.totalCount == 1001)  // 1000 + the sample in interval 2; the warmup one is out
        let stats = LatencyStats(total)
        #expect(abs(stats.p50 - 501) <= 1)
        #expect(abs(stats.p99 - 990) <= 2)
        #expect(abs(stats.max - 999_000) <= 999_000 * 0.001)
        let rows = c.rows()
        #expect(rows.map(\.second) == [-1, 0, 2])
        #expect(rows.first { $0.second == 0 }?.acked == 1000)
        #expect(rows.first { $0.second == 0 }?.producedBytes == 0)
        // Counts run through the drain (interval 2 is after the 2 s window); warmup stays out.
        #expect(c.windowCounts(windowNanos: 2_000_000_000).acked == 1001)
    }

    /// A latency histogram covers a minute without growing (growing runs the histogram
    /// package's unspecialised resize, about 12 ms, which a recorder used to pay on its thread
    /// once an interval), and still takes a larger outlier.
    @Test func latencyHistogramsArePresizedAndStillGrow() {
        var h = makeLatencyHistogram()
        #expect(h.highestTrackableValue >= 60_000_000_000)
        #expect(h.autoResize)
        h.record(59_000_000_000)
        h.record(3_600_000_000_000)
        #expect(h.totalCount == 2)
        #expect(h.max >= 3_599_000_000_000)
    }

    /// Starting an interval swaps in a blank histogram the collector made ahead (one per latency
    /// recorder); with none ready, the recorder makes its own; counts never leak across intervals.
    @Test func recordersStartIntervalsWithSpareHistograms() {
        let inbox = _Inbox()
        let origin: UInt64 = 1_000_000_000
        let r = LatencyRecorder(kind: .endToEnd, counter: .consumed, inbox: inbox, origin: origin, intervalNanos: 1_000_000_000)
        _ = LatencyRecorder(kind: .publishDelay, counter: .sent, inbox: inbox, origin: origin, intervalNanos: 1_000_000_000, recordsLatency: false)
        #expect(inbox.latencyRecorders.load(ordering: .relaxed) == 1)
        inbox.refillSpares()
        #expect(inbox.spares.withLock { $0.count } == 1)
        r.record(latencyNanos: 1_000, bytes: 1, now: origin)
        r.record(latencyNanos: 2_000, bytes: 1, now: origin + 1_000_000_000)  // interval 1: swaps
        #expect(inbox.spares.withLock { $0.count } == 0)
        r.record(latencyNanos: 1_500, bytes: 1, now: origin + 2_000_000_000)  // interval 2: none ready
        r.finish()
        let slices = inbox.take()
        #expect(slices.map(\.interval) == [0, 1, 2])
        #expect(slices.map { $0.histogram?.totalCount ?? 0 } == [1, 1, 1])
        #expect(slices.map { $0.histogram?.max ?? 0 } == [1_000, 2_000, 1_500].map { UInt64($0) })
        inbox.refillSpares()
        #expect(inbox.spares.withLock { $0.count } == 1)
        #expect(inbox.spares.withLock { $0[0].totalCount } == 0)
    }

    @Test func statsOfAnEmptyHistogramAreZero() {
        let s = LatencyStats(makeLatencyHistogram())
        #expect(s.count == 0 && s.p99 == 0 && s.max == 0)
        #expect(s.value(named: "p99.9") == 0)
        #expect(s.value(named: "nope") == nil)
    }

    static func sampleResult() -> StepResult {
        var h = makeLatencyHistogram()
        for v in 1...100 { h.record(UInt64(v) * 1_000) }  // 1...100 µs
        var w = Workload()
        w.name = "step-a"
        var s = StepSummary(name: "step-a", backend: "null", workload: w)
        s.durationSeconds = 2
        s.produce.records = 100
        s.produce.recordsPerSec = 50
        s.latency["publish"] = LatencyStats(h)
        var r0 = IntervalRow(second: 0)
        r0.produced = 60; r0.producedBytes = 6_000; r0.acked = 60
        var iv = LatencyStats()
        iv.p50 = 30; iv.p90 = 50; iv.p99 = 59; iv.p99_9 = 59.5; iv.p99_99 = 59.9; iv.max = 60
        r0.latency[.publish] = iv
        var r1 = IntervalRow(second: 1)
        r1.produced = 40; r1.producedBytes = 4_000; r1.acked = 40; r1.stealMillis = 20
        return StepResult(summary: s, intervals: [IntervalRow(second: -1), r0, r1], histograms: [.publish: h])
    }

    @Test func intervalsCSVIsExact() {
        let csv = RunWriter.intervalsCSV([Self.sampleResult()])
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines[0] == RunWriter.intervalsHeader)
        #expect(lines[0].contains(",publish_p50_us,publish_p90_us,publish_p99_us,publish_p99_9_us,publish_p99_99_us,publish_max_us,"))
        #expect(lines[0].contains(",publish_delay_p50_us,") && lines[0].contains(",e2e_p99_99_us,e2e_max_us,host_steal_ms,fault"))
        let none = String(repeating: ",", count: 18)
        // The last column, `fault`, is empty without faults.
        #expect(lines[1] == "step-a,-1,warmup,0,0.000,0,0,0.000,0" + none + ",,")
        #expect(lines[2] == "step-a,0,measure,60,0.006,60,0,0.000,0,30.000,50.000,59.000,59.500,59.900,60.000" + String(repeating: ",", count: 12) + ",,")
        #expect(lines[3] == "step-a,1,measure,40,0.004,40,0,0.000,0" + none + ",20,")
    }

    @Test func latencyCSVSpectrumIsMonotonicAndEndsAtMax() {
        let csv = RunWriter.latencyCSV([Self.sampleResult()])
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.allSatisfy { $0[0] == "step-a" && $0[1] == "publish" })
        let values = rows.map { Double($0[3])! }
        #expect(values == values.sorted())
        #expect(values.first == 1)
        #expect(abs(values.last! - 100) < 0.1)
        #expect(rows.last?[4] == "100")
        #expect(rows.last?[5] == "inf")
    }

    @Test func hgrmParsesBack() throws {
        let r = Self.sampleResult()
        let text = RunWriter.hgrm(r.histograms[.publish]!)
        #expect(text.contains("Value     Percentile TotalCount 1/(1-Percentile)"))
        let parsed = try HgrmFile.parse(text)
        #expect(parsed.totalCount == 100)
        #expect(parsed.max == 0.1)  // 100 µs in ms
        #expect(abs((parsed.mean ?? 0) - 0.0505) < 0.001)
        #expect(parsed.rows.first?.value == 0.001)
        #expect(parsed.rows.last?.percentile == 1.0)
        #expect(parsed.rows.last?.totalCount == 100)
        #expect(throws: BenchError.self) { try HgrmFile.parse("   abc def\n") }
    }

    @Test func summaryJSONRoundTripsWithDocumentedKeys() throws {
        var summary = RunSummary(preset: "unit")
        summary.steps = [Self.sampleResult().summary]
        let text = RunWriter.summaryJSON(summary)
        for key in ["\"schema_version\" : 1", "\"records_per_sec\" : 50", "\"p99_9\"", "\"mb_per_sec\"", "\"cpu_seconds_per_gb\"", "\"partitionsPerTopic\""] {
            #expect(text.contains(key), "missing \(key)")
        }
        let back = try JSONDecoder().decode(RunSummary.self, from: Data(text.utf8))
        #expect(back.steps[0].latency["publish"] == summary.steps[0].latency["publish"])
        #expect(back.steps[0].workload == summary.steps[0].workload)
    }

    @Test func stampsRoundTrip() {
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes.withUnsafeMutableBytes { BenchStamp.write(0x0102_0304_0506_0708, into: $0.baseAddress!) }
        #expect(bytes.withUnsafeBytes { BenchStamp.read($0) } == 0x0102_0304_0506_0708)
        #expect([UInt8]([1]).withUnsafeBytes { BenchStamp.read($0) } == nil)
        let header = SendStamp.header(0x0102_0304_0506_0708)
        #expect(header.key == SendStamp.headerKey && header.value == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(header.value!.withUnsafeBytes { SendStamp.read($0) } == 0x0102_0304_0506_0708)
        #expect([UInt8]([1, 2, 3]).withUnsafeBytes { SendStamp.read($0) } == nil)
    }
}
