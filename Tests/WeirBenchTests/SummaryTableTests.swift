import Testing
@testable import WeirBench

@Suite struct SummaryTableTests {
    @Test func columnsStayAlignedWithLongStepNames() {
        var summary = RunSummary(preset: "sweep")
        for name in ["batch.size=16384 linger.ms=0", "batch.size=262144 compression.type=zstd linger.ms=20", "a"] {
            var s = StepSummary(name: name, backend: "embedded", workload: Workload())
            s.produce.recordsPerSec = 123_456
            s.targetRate = 10_000
            summary.steps.append(s)
        }
        let lines = SummaryTable.render(summary).split(separator: "\n").dropLast()
        #expect(Set(lines.map(\.count)).count == 1)
        let targetColumnEnds = lines.map { $0.range(of: $0.contains("target") ? "target" : "10.0k")?.upperBound.utf16Offset(in: $0) }
        #expect(Set(targetColumnEnds).count == 1)
    }

    @Test func hostStealIsReportedUnderItsStep() {
        var summary = RunSummary(preset: "p")
        var quiet = StepSummary(name: "quiet", backend: "embedded", workload: Workload())
        quiet.hostStealSeconds = 0
        var stolen = StepSummary(name: "stolen", backend: "embedded", workload: Workload())
        stolen.hostStealSeconds = 0.27
        summary.steps = [quiet, stolen]
        let lines = SummaryTable.render(summary).split(separator: "\n").map(String.init)
        let notes = lines.filter { $0.contains("host steal") }
        #expect(notes.count == 1)
        #expect(notes.first?.contains("270.00 ms") == true)
        #expect(lines.firstIndex { $0.hasPrefix("stolen") }! + 1 == lines.firstIndex { $0.contains("host steal") }!)
    }

    @Test func procStatParsesStealAndTheOtherMachineTimes() throws {
        let text = """
        cpu  4975007 1204 530795 1683222 92514 7 17209 79320 0 0
        cpu0 2487503 602 265397 841611 46257 3 8604 39660 0 0
        intr 1 2 3
        """
        let t = try #require(HostCPUTimes.parse(procStat: text, ticksPerSecond: 100))
        #expect(t.stealNanos == 79320 * 10_000_000)
        #expect(t.iowaitNanos == 92514 * 10_000_000)
        #expect(t.interruptNanos == (7 + 17209) * 10_000_000)
        // An old kernel without the steal column: zero steal, not a failure.
        #expect(HostCPUTimes.parse(procStat: "cpu 1 2 3 4 5 6 7\n", ticksPerSecond: 100)?.stealNanos == 0)
        #expect(HostCPUTimes.parse(procStat: "cpu 1 2 x 4\n", ticksPerSecond: 100) == nil)
        #expect(HostCPUTimes.parse(procStat: "intr 1 2\n", ticksPerSecond: 100) == nil)
        #expect(HostCPUTimes.parse(procStat: text, ticksPerSecond: 0) == nil)
        // Differences never go below zero (a counter that went back reads as nothing taken).
        let later = HostCPUTimes(stealNanos: 5, iowaitNanos: 1, interruptNanos: 9)
        #expect(later.since(HostCPUTimes(stealNanos: 2, iowaitNanos: 3, interruptNanos: 9)) == HostCPUTimes(stealNanos: 3, iowaitNanos: 0, interruptNanos: 0))
        #if os(Linux)
        #expect(HostCPUTimes.current() != nil)
        #endif
    }
}
