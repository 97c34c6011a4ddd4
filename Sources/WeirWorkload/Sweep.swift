import Foundation

/// `weir bench sweep`: a grid of Kafka properties (or workload fields) over one base workload.
public enum Sweep {
    /// Parses `--param key=v1,v2,...`.
    public static func parse(_ params: [String]) throws(BenchError) -> [(key: String, values: [String])] {
        var out: [(key: String, values: [String])] = []
        for p in params {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw .usage("--param '\(p)' is not key=v1,v2,…; e.g. --param batch.size=16384,65536.")
            }
            let values = p[p.index(after: eq)...].split(separator: ",").map(String.init)
            guard !values.isEmpty else { throw .usage("--param '\(p)' has no values.") }
            out.append((String(p[..<eq]), values))
        }
        guard !out.isEmpty else { throw .usage("give at least one --param key=v1,v2,….") }
        return out
    }

    /// The cartesian product of `params` applied to `base`: a workload field (`producerRate`,
    /// `partitionsPerTopic`, …) is set as such, anything else is a Kafka property (`--config`).
    public static func grid(base: Workload, params: [(key: String, values: [String])]) throws(BenchError) -> [Workload] {
        var steps = [base]
        for (key, values) in params {
            var next: [Workload] = []
            for w in steps {
                for v in values {
                    var x = w
                    if Workload.table.spec(key) != nil { try x.set(key, v) } else { x.config[key] = v }
                    next.append(x)
                }
            }
            steps = next
        }
        for i in steps.indices {
            steps[i].name = params.map { p in "\(p.key)=\(steps[i].fieldText(p.key))" }.joined(separator: " ")
            try steps[i].validate()
        }
        return steps
    }
}

extension Workload {
    /// A field's or Kafka property's value as text, for step names.
    func fieldText(_ key: String) -> String {
        Self.table.spec(key).map { $0.get(self) } ?? config[key] ?? "?"
    }
}
