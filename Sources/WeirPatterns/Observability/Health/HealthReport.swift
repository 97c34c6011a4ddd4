import Foundation

/// The state of one health check or of the whole report, from best to worst.
public enum HealthStatus: String, Sendable, Codable, Hashable, Comparable, CaseIterable {
    /// Working as intended.
    case healthy
    /// Working, but something needs attention (little disk left, a retriable error, a check
    /// that could not run).
    case degraded
    /// Not working: writes fail, data is damaged, a consumer group is too far behind.
    case unhealthy

    var _rank: Int {
        switch self {
        case .healthy: 0
        case .degraded: 1
        case .unhealthy: 2
        }
    }

    public static func < (a: HealthStatus, b: HealthStatus) -> Bool { a._rank < b._rank }
}

/// The result of one check: a dotted name (`logDirectory.diskSpace`, `group.orders`,
/// `producer.payments`), its status, a message that says what was found and, when not healthy,
/// what to do, and details for tools.
public struct HealthCheckResult: Sendable, Codable, Hashable {
    public var name: String
    public var status: HealthStatus
    public var message: String
    /// Figures behind the status (free bytes, lag, pid), as text.
    public var details: [String: String]

    public init(name: String, status: HealthStatus, message: String, details: [String: String] = [:]) {
        self.name = name
        self.status = status
        self.message = message
        self.details = details
    }
}

/// Every check's result and the overall status (the worst of them). Codable; `json()` is the
/// format `weir health --json` prints.
public struct HealthReport: Sendable, Codable, Hashable {
    /// The worst status of the checks; `healthy` when there are none.
    public var status: HealthStatus
    /// When the report was made, in milliseconds since the epoch.
    public var timestampMs: Int64
    public var checks: [HealthCheckResult]

    /// - Parameter timestampMs: nil for now.
    public init(checks: [HealthCheckResult], timestampMs: Int64? = nil) {
        self.checks = checks
        self.timestampMs = timestampMs ?? Int64(Date().timeIntervalSince1970 * 1000)
        self.status = checks.map(\.status).max() ?? .healthy
    }

    /// The checks with the given status.
    public func checks(_ status: HealthStatus) -> [HealthCheckResult] { checks.filter { $0.status == status } }

    /// The report as one JSON object (sorted keys, so it diffs well).
    public func json(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, numbers and dictionaries of strings cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// One line per check, worst first: `STATUS  NAME  MESSAGE`.
    public var text: String {
        var lines = ["overall: \(status.rawValue) (\(checks.count) checks)"]
        let width = checks.map(\.name.count).max() ?? 0
        for c in checks.sorted(by: { ($0.status, $1.name) > ($1.status, $0.name) }) {
            lines.append("\(c.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(c.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(c.message)")
        }
        return lines.joined(separator: "\n")
    }
}
