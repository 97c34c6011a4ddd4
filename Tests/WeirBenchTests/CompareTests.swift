import Testing
@testable import WeirBench

@Suite struct CompareTests {
    static func run(_ rps: Double, p99: Double) -> RunSummary {
        var s = RunSummary(preset: "ci")
        var w = Workload()
        w.name = "step"
        w.subscriptionsPerTopic = 0
        var step = StepSummary(name: "step", backend: "embedded", workload: w)
        step.produce.recordsPerSec = rps
        var lat = LatencyStats()
        lat.count = 100
        lat.p99 = p99
        step.latency["publish"] = lat
        s.steps = [step]
        return s
    }

    @Test func aRegressionBeyondTheThresholdExits2() throws {
        let r = Compare.compare(base: [Self.run(100_000, p99: 1000)], current: [Self.run(80_000, p99: 1000)],
                                thresholds: [try .init(parsing: "records_per_sec=-5%"), try .init(parsing: "p99=+10%")])
        #expect(r.exitCode == 2)
        #expect(r.rows.first { $0.metric == "produce.records_per_sec" }?.status == .regression)
        #expect(r.table().contains("REGRESSION"))
        let lat = Compare.compare(base: [Self.run(100_000, p99: 1000)], current: [Self.run(100_000, p99: 1200)])
        #expect(lat.exitCode == 2)
    }

    @Test func noiseInsideTheSpreadOfRepeatsExits0() throws {
        let base = [100_000.0, 110_000, 90_000].map { Self.run($0, p99: 1000) }
        let current = [95_000.0, 85_000, 105_000].map { Self.run($0, p99: 1000) }
        let r = Compare.compare(base: base, current: current, thresholds: [try .init(parsing: "records_per_sec=-3%")])
        #expect(r.rows.first?.status == .noise)
        #expect(r.exitCode == 0)
        let same = Compare.compare(base: base, current: base)
        #expect(same.exitCode == 0)
    }

    @Test func hostStealIsNotedButDoesNotChangeTheVerdict() {
        var stolen = Self.run(100_000, p99: 5000)
        stolen.steps[0].hostStealSeconds = 0.27
        var quiet = Self.run(100_000, p99: 1000)
        quiet.steps[0].hostStealSeconds = 0
        let r = Compare.compare(base: [quiet, quiet], current: [stolen, quiet])
        #expect(r.notes.count == 1)
        #expect(r.notes.first?.contains("current 1 of 2 run(s), up to 270.00 ms") == true)
        #expect(!(r.notes.first?.contains("base") ?? true))
        #expect(r.table().contains("note: step: the hypervisor took CPU time"))
        #expect(Compare.compare(base: [quiet], current: [quiet]).notes.isEmpty)
    }

    @Test func improvementsOnlyExit4() {
        let r = Compare.compare(base: [Self.run(100_000, p99: 1000)], current: [Self.run(150_000, p99: 500)])
        #expect(r.exitCode == 4)
    }

    @Test func thresholdsAreValidated() {
        #expect(throws: BenchError.self) { try Compare.Threshold(parsing: "p99") }
        #expect(throws: BenchError.self) { try Compare.Threshold(parsing: "latency=+10%") }
        #expect(throws: BenchError.self) { try Compare.Threshold(parsing: "p99=10%") }
        #expect((try? Compare.Threshold(parsing: "e2e_p99_9=+20%"))?.metric == "latency.end_to_end.p99_9")
        #expect((try? Compare.Threshold(parsing: "records_per_sec=-5%"))?.limit == -0.05)
    }
}

@Suite struct CompareUnitsTests {
    @Test func valuesPrintInHumanUnitsAndRowsNameTheirUnit() throws {
        #expect(Compare.format(10_000, metric: "produce.records_per_sec") == "10.0 k rec/s")
        #expect(Compare.format(1_234_567, metric: "consume.records_per_sec") == "1.23 M rec/s")
        #expect(Compare.format(950, metric: "produce.records_per_sec") == "950 rec/s")
        #expect(Compare.format(47_800, metric: "latency.publish.p99") == "47.8 ms")
        #expect(Compare.format(512, metric: "latency.end_to_end.p50") == "512 µs")
        #expect(Compare.format(2_500_000, metric: "latency.publish.max") == "2.50 s")
        #expect(Compare.format(12.34, metric: "produce.mb_per_sec") == "12.3 MB/s")
        let r = Compare.compare(base: [CompareTests.run(10_000, p99: 47_800)], current: [CompareTests.run(10_100, p99: 47_900)])
        let table = r.table()
        #expect(table.contains("10.0 k rec/s") && table.contains("47.8 ms") && table.contains(" unit "))
        #expect(table.contains("rec/s") && table.contains("time"))
        #expect(!table.contains("e+"))
        #expect(r.staleBaseline == nil)
    }

    @Test func aBaselineBeatenOnEveryMetricIsCalledStaleWithTheRefreshCommand() {
        let r = Compare.compare(base: [CompareTests.run(10_000, p99: 5_000)], current: [CompareTests.run(20_000, p99: 1_000)], basePath: "results/baselines/ci.json")
        #expect(r.exitCode == 4)
        let line = r.staleBaseline ?? ""
        #expect(line.contains("weir bench run ci --out /tmp/weir-baseline && cp /tmp/weir-baseline/summary.json results/baselines/ci.json"))
        #expect(r.table().contains("STALE BASELINE"))
        // One metric better, one the same: not stale.
        #expect(Compare.compare(base: [CompareTests.run(10_000, p99: 1_000)], current: [CompareTests.run(20_000, p99: 1_000)]).staleBaseline == nil)
    }
}
