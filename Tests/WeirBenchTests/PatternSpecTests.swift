import Testing

import WeirBench

/// The pattern scenarios (WeirBench) take their name, summary and options from
/// `PatternSpec.all` (WeirWorkload, which validates `pattern:` without the components): one
/// scenario per spec, in the same order, so `weir bench list` and workload validation agree.
@Suite struct PatternSpecTests {
    @Test func everySpecHasItsScenarioInOrder() {
        #expect(PatternScenario.all.map(\.name) == PatternSpec.all.map(\.name))
        #expect(Set(PatternSpec.all.map(\.name)).count == PatternSpec.all.count)
        for spec in PatternSpec.all {
            #expect(PatternScenario.named(spec.name)?.options.map(\.name) == spec.options.map(\.name), "\(spec.name)")
        }
    }

    @Test func anUnknownPatternOrOptionIsAUsageErrorAtLoad() {
        #expect(throws: BenchError.self) { try WorkloadFile.parse("pattern: nope\n", source: "t") }
        #expect(throws: BenchError.self) { try WorkloadFile.parse("pattern: dlq\npatternOptions: { bogus: 1 }\n", source: "t") }
        #expect((try? WorkloadFile.parse("pattern: dlq\npatternOptions: { failureRate: 0.2 }\n", source: "t"))?.first?.pattern == "dlq")
    }
}
