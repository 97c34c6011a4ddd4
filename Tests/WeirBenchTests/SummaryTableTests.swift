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
}
