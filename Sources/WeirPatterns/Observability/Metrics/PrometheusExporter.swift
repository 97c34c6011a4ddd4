import Foundation
import Metrics
public import Prometheus

/// A Prometheus text exposition of swift-metrics: a `PrometheusCollectorRegistry` and the
/// `PrometheusMetricsFactory` that records into it, with histogram buckets suited to an
/// embedded log (50 µs to 10 s) instead of the factory's default (from 5 ms).
///
/// Pass `factory` to the instrumentation (`MetricsProducer(…, factory:)`) or `bootstrap()` it
/// as the process-wide `MetricsSystem` factory; then `render()`, `write(toFile:)` or serve it
/// with `MetricsHTTPServer`.
public struct PrometheusExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    /// Buckets of duration histograms (swift-metrics `Timer`s).
    public static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = Self.durationBuckets
        self.factory = f
    }

    /// Makes `factory` the process-wide swift-metrics factory. swift-metrics allows this once
    /// per process (a second call traps), so call it at start-up only.
    public func bootstrap() {
        MetricsSystem.bootstrap(factory)
    }

    /// The exposition in Prometheus text format 0.0.4.
    public func render() -> String { registry.emitToString() }

    /// Writes the exposition to `path` atomically (a temporary file renamed over it), so a
    /// node-exporter textfile collector never reads half a file.
    public func write(toFile path: String) throws(ObservabilityError) {
        do {
            try Data(registry.emitToBuffer()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ObservabilityError(.io, "cannot write the metrics exposition to \(path): \(error.localizedDescription); check the path and permissions.")
        }
    }
}
