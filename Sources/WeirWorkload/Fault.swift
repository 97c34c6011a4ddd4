import Foundation

/// One fault on a step's timeline (the workload's `faults:` list, or `--set faults=…`): what
/// happens, when (seconds after the start of measurement) and for how long.
///
/// - `pauseConsumers`: every consumer stops polling for the duration.
/// - `restartConsumer`: consumer 0 of the step closes (leaving its group, a rebalance), stays
///   away for the duration, and a new member joins in its place (another rebalance).
/// - `stallAppends`: the producers' appends to the log wait for the duration (embedded log).
/// - `brokerDown`: broker `broker` (default 1) of librdkafka's mock cluster is down for the
///   duration (kafka backend with `--bootstrap-servers mock:N`).
public struct Fault: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case pauseConsumers, restartConsumer, stallAppends, brokerDown
    }
    public var kind: Kind
    /// Seconds after the start of measurement.
    public var atSeconds: Double
    public var durationSeconds: Double
    /// `brokerDown`: the broker id (mock cluster ids start at 1).
    public var broker: Int32?

    public init(kind: Kind, atSeconds: Double, durationSeconds: Double, broker: Int32? = nil) {
        self.kind = kind
        self.atSeconds = atSeconds
        self.durationSeconds = durationSeconds
        self.broker = broker
    }

    /// The text form: `KIND@AT+DURATION` (seconds), `brokerDown:ID@AT+DURATION`, several
    /// separated by commas, e.g. `pauseConsumers@2+1,restartConsumer@5+0.5`.
    public static func parseList(_ text: String) throws(BenchError) -> [Fault] {
        var out: [Fault] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let usage = BenchError.usage("faults: '\(item)' is not KIND@AT+DURATION (seconds; KIND one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")); brokerDown:ID for a broker), e.g. pauseConsumers@2+1.")
            let parts = item.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw usage }
            let times = parts[1].split(separator: "+", maxSplits: 1).map(String.init)
            guard times.count == 2, let at = Double(times[0]), let duration = Double(times[1]) else { throw usage }
            let kindParts = parts[0].split(separator: ":", maxSplits: 1).map(String.init)
            guard let kind = Kind(rawValue: kindParts[0]) else { throw usage }
            var broker: Int32?
            if kindParts.count == 2 {
                guard kind == .brokerDown, let id = Int32(kindParts[1]) else { throw usage }
                broker = id
            }
            out.append(try Fault(kind: kind, atSeconds: at, durationSeconds: duration, broker: broker).validated())
        }
        return out
    }

    /// Checks the times: `atSeconds` 0…86,400, `durationSeconds` 0…3,600, finite.
    public func validated() throws(BenchError) -> Fault {
        guard atSeconds.isFinite, atSeconds >= 0, atSeconds <= 86_400 else {
            throw .usage("faults: \(kind.rawValue) at \(atSeconds) s; allowed: 0…86400 seconds after the start of measurement.")
        }
        guard durationSeconds.isFinite, durationSeconds >= 0, durationSeconds <= 3_600 else {
            throw .usage("faults: \(kind.rawValue) lasting \(durationSeconds) s; allowed: 0…3600 seconds.")
        }
        return self
    }

    /// The label in `intervals.csv` and the report.
    public var label: String { kind == .brokerDown ? "brokerDown:\(broker ?? 1)" : kind.rawValue }
}
