import Metrics
import Synchronization

/// swift-metrics handles per (label, dimensions), created once: a factory call per record would
/// allocate and lock on the hot path.
final class _MetricCache: Sendable {
    let factory: (any MetricsFactory)?
    let counters = Mutex<[String: Counter]>([:])
    let timers = Mutex<[String: Timer]>([:])
    let gauges = Mutex<[String: Gauge]>([:])

    init(factory: (any MetricsFactory)?) { self.factory = factory }

    static func key(_ label: String, _ dims: [(String, String)]) -> String {
        dims.reduce(label) { $0 + "\u{1}" + $1.0 + "=" + $1.1 }
    }

    func counter(_ label: String, _ dims: [(String, String)]) -> Counter {
        let k = Self.key(label, dims)
        return counters.withLock { c in
            if let have = c[k] { return have }
            let made = factory.map { Counter(label: label, dimensions: dims, factory: $0) } ?? Counter(label: label, dimensions: dims)
            c[k] = made
            return made
        }
    }

    func timer(_ label: String, _ dims: [(String, String)]) -> Timer {
        let k = Self.key(label, dims)
        return timers.withLock { c in
            if let have = c[k] { return have }
            let made = factory.map { Timer(label: label, dimensions: dims, factory: $0) } ?? Timer(label: label, dimensions: dims)
            c[k] = made
            return made
        }
    }

    func gauge(_ label: String, _ dims: [(String, String)]) -> Gauge {
        let k = Self.key(label, dims)
        return gauges.withLock { c in
            if let have = c[k] { return have }
            let made = factory.map { Gauge(label: label, dimensions: dims, factory: $0) } ?? Gauge(label: label, dimensions: dims)
            c[k] = made
            return made
        }
    }
}

extension Duration {
    /// Whole nanoseconds (saturating), for `Timer.recordNanoseconds`.
    var _nanoseconds: Int64 {
        let (s, a) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : ns + a / 1_000_000_000
    }
}
