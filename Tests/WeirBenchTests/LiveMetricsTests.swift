import Testing
@testable import WeirBench

@Suite struct LiveMetricsTests {
    @Test func anIntervalBecomesPrometheusSeries() {
        let live = LiveMetrics()
        var row = IntervalRow(second: 3)
        row.produced = 1000; row.producedBytes = 100_000; row.acked = 990; row.consumed = 980; row.errors = 2
        var s = LatencyStats()
        s.p50 = 500; s.p90 = 900; s.p99 = 2_000; s.p99_9 = 4_000; s.p99_99 = 8_000; s.max = 47_800
        row.latency[.publish] = s
        live.interval(step: "a", row: row, stealNanos: 5_000_000, seconds: 1)
        live.interval(step: "a", row: row, stealNanos: nil, seconds: 1)
        let text = live.render()
        #expect(text.contains("weir_bench_records_total{step=\"a\",side=\"acked\"} 1980"))
        #expect(text.contains("weir_bench_records_per_second{step=\"a\",side=\"consumed\"} 980"))
        #expect(text.contains("weir_bench_latency_seconds{step=\"a\",kind=\"publish\",quantile=\"0.99\"} 0.002"))
        #expect(text.contains("weir_bench_latency_seconds{step=\"a\",kind=\"publish\",quantile=\"1\"} 0.0478"))
        #expect(text.contains("weir_bench_errors_total{step=\"a\"} 4"))
        #expect(text.contains("weir_bench_host_steal_seconds_total{step=\"a\"} 0.005"))
        #expect(text.contains("# TYPE weir_bench_latency_seconds gauge"))
    }
}
