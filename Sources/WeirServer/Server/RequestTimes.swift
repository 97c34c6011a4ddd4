internal import Synchronization

/// How long `weir serve` takes per request: from the frame's arrival on the event loop to its
/// response handed to the socket (for Produce with acks=0, to the end of the append), in
/// power-of-two buckets of microseconds, per kind of request. Fetch is apart because long
/// polling (`fetch.max.wait.ms`) is waiting, not work. Exported on `/metrics` as
/// `weir_serve_request_seconds` histograms, so a latency tail seen by clients can be placed
/// inside or outside the broker.
public final class RequestTimes: Sendable {
    public enum Kind: Int, CaseIterable, Sendable {
        case produce, fetch, other

        var label: String { ["produce", "fetch", "other"][rawValue] }

        init(_ key: Int16) {
            self = key == ApiKey.produce.rawValue ? .produce : key == ApiKey.fetch.rawValue ? .fetch : .other
        }
    }

    /// Bucket i counts requests that took less than 2^i µs (the last one: everything longer).
    static let buckets = 28
    let counts = Mutex<[[Int]]>(Array(repeating: Array(repeating: 0, count: RequestTimes.buckets), count: Kind.allCases.count))

    public init() {}

    func record(_ kind: Kind, _ elapsed: Duration) {
        let (s, atto) = elapsed.components
        let micros = max(0, s) * 1_000_000 + atto / 1_000_000_000_000
        let bucket = min(Self.buckets - 1, micros <= 0 ? 0 : Int.bitWidth - (micros).leadingZeroBitCount)
        counts.withLock { $0[kind.rawValue][bucket] += 1 }
    }

    /// The smallest bucket bound (seconds) under which a fraction `q` of `kind`'s requests finished.
    public func quantileUpperBound(_ kind: Kind, _ q: Double) -> Double? {
        let c = counts.withLock { $0[kind.rawValue] }
        let total = c.reduce(0, +)
        guard total > 0 else { return nil }
        var seen = 0
        for (i, n) in c.enumerated() {
            seen += n
            if Double(seen) >= q * Double(total) { return Double(1 << i) / 1e6 }
        }
        return nil
    }

    /// Prometheus histograms (`le` in seconds, cumulative), one per kind.
    func prometheusText() -> String {
        let all = counts.withLock { $0 }
        var out = "# TYPE weir_serve_request_seconds histogram\n"
        for kind in Kind.allCases {
            var cumulative = 0
            for (i, n) in all[kind.rawValue].enumerated() {
                cumulative += n
                let le = i == Self.buckets - 1 ? "+Inf" : "\(Double(1 << i) / 1e6)"
                out += "weir_serve_request_seconds_bucket{kind=\"\(kind.label)\",le=\"\(le)\"} \(cumulative)\n"
            }
            out += "weir_serve_request_seconds_count{kind=\"\(kind.label)\"} \(cumulative)\n"
        }
        return out
    }
}
