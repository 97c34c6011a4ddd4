import Metrics
import Synchronization

/// swift-metrics handles per (label, dimensions), created once: a factory call per record would
/// allocate and lock on the hot path.
final class _MetricCache: Sendable {
    let factory: (any MetricsFactory)?
    /// Counter, Timer and Gauge handles by kind, label and dimensions.
    let handles = Mutex<[String: AnyObject]>([:])

    init(factory: (any MetricsFactory)?) { self.factory = factory }

    static func key(_ label: String, _ dims: [(String, String)]) -> String {
        dims.reduce(label) { $0 + "\u{1}" + $1.0 + "=" + $1.1 }
    }

    func _handle<M: AnyObject>(_ label: String, _ dims: [(String, String)],
                               _ make: (String, [(String, String)], (any MetricsFactory)?) -> M) -> M {
        let k = "\(M.self)\u{2}" + Self.key(label, dims)
        return handles.withLock { h in
            if let have = h[k] as? M { return have }
            let made = make(label, dims, factory)
            h[k] = made
            return made
        }
    }

    func counter(_ label: String, _ dims: [(String, String)]) -> Counter {
        _handle(label, dims) { l, d, f in f.map { Counter(label: l, dimensions: d, factory: $0) } ?? Counter(label: l, dimensions: d) }
    }

    func timer(_ label: String, _ dims: [(String, String)]) -> Timer {
        _handle(label, dims) { l, d, f in f.map { Timer(label: l, dimensions: d, factory: $0) } ?? Timer(label: l, dimensions: d) }
    }

    func gauge(_ label: String, _ dims: [(String, String)]) -> Gauge {
        _handle(label, dims) { l, d, f in f.map { Gauge(label: l, dimensions: d, factory: $0) } ?? Gauge(label: l, dimensions: d) }
    }
}
