import Foundation
public import Prometheus

/// A run's live metrics in Prometheus format (`--metrics-listen 127.0.0.1:PORT`), updated
/// once per closed interval (one second) while the run goes, through swift-prometheus.
///
/// - `weir_bench_records_total{step,side}` and `weir_bench_bytes_total{step,side}` (counters;
///   `side` is `sent`, `acked` or `consumed`), `weir_bench_errors_total{step}`;
/// - `weir_bench_records_per_second{step,side}`: the last interval's rate;
/// - `weir_bench_latency_seconds{step,kind,quantile}`: the last interval's p50, p90, p99,
///   p99.9, p99.99 and max (`quantile` 1) of `publish`, `publish_delay` and `end_to_end`;
/// - `weir_bench_host_steal_seconds_total{step}`: CPU time the hypervisor took;
/// - `weir_bench_interval_seconds{step}`: the last closed interval (seconds since the start
///   of measurement; −1 during the warmup).
public final class LiveMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The exposition text (what GET /metrics serves).
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    static let quantiles: [(label: String, stat: String)] = [
        ("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"), ("0.999", "p99_9"), ("0.9999", "p99_99"), ("1", "max"),
    ]

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "weir", subsystem: "bench", metricName: metric, unitName: unit, helpText: help)
    }

    static var records: MetricNameDescriptor { name("records", "total", "Records sent, acknowledged or consumed.") }
    static var bytes: MetricNameDescriptor { name("bytes", "total", "Value and key bytes sent or consumed.") }
    static var rate: MetricNameDescriptor { name("records_per", "second", "The last interval's rate.") }
    static var errors: MetricNameDescriptor { name("errors", "total", "Failed records.") }
    static var latency: MetricNameDescriptor { name("latency", "seconds", "The last interval's latency percentiles, from the intended send time.") }
    static var steal: MetricNameDescriptor { name("host_steal", "seconds_total", "CPU time the hypervisor took from this machine.") }
    static var intervalSeconds: MetricNameDescriptor { name("interval", "seconds", "The last closed interval, seconds since the start of measurement.") }

    /// One closed interval of `step` (called by the generator's collector thread).
    public func interval(step: String, row: IntervalRow, stealNanos: UInt64?, seconds: Double) {
        let sides: [(String, Int, Int)] = [("sent", row.produced, row.producedBytes), ("acked", row.acked, 0), ("consumed", row.consumed, row.consumedBytes)]
        for (side, records, bytes) in sides {
            let labels = [("step", step), ("side", side)]
            registry.makeCounter(descriptor: Self.records, labels: labels).increment(by: Int64(records))
            if side != "acked" { registry.makeCounter(descriptor: Self.bytes, labels: labels).increment(by: Int64(bytes)) }
            registry.makeGauge(descriptor: Self.rate, labels: labels).set(Double(records) / seconds)
        }
        registry.makeCounter(descriptor: Self.errors, labels: [("step", step)]).increment(by: Int64(row.errors))
        for kind in LatencyKind.allCases {
            guard let stats = row.latency[kind] else { continue }
            for (q, stat) in Self.quantiles {
                registry.makeGauge(descriptor: Self.latency, labels: [("step", step), ("kind", kind.rawValue), ("quantile", q)])
                    .set((stats.value(named: stat) ?? 0) / 1e6)
            }
        }
        if let stealNanos {
            registry.makeCounter(descriptor: Self.steal, labels: [("step", step)]).increment(by: Double(stealNanos) / 1e9)
        }
        registry.makeGauge(descriptor: Self.intervalSeconds, labels: [("step", step)]).set(Double(row.second))
    }
}
