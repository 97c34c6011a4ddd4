import Foundation
import Yams

/// A workload file: YAML or JSON (JSON is read as YAML, so both report line numbers).
///
/// Top-level fields are a `Workload`'s (OMB names accepted); an optional `steps:` list holds
/// steps that each start from the top-level fields and override some of them:
///
/// ```yaml
/// name: acks
/// topics: 1
/// partitionsPerTopic: 8
/// producerRate: 50000
/// config: { linger.ms: 5 }
/// steps:
///   - { name: acks-1, config: { acks: "1" } }
///   - { name: acks-all, config: { acks: all } }
/// ```
public enum WorkloadFile {
    /// Parses the file at `path`.
    ///
    /// - Throws: `.usage` with the file, the line, the field and the allowed values.
    public static func load(path: String) throws(BenchError) -> [Workload] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .usage("cannot read workload file '\(path)'; give a readable YAML or JSON file.")
        }
        return try parse(text, source: path)
    }

    /// Parses workload text (`source` names it in errors).
    public static func parse(_ text: String, source: String = "workload") throws(BenchError) -> [Workload] {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw .usage("\(source): not valid YAML or JSON: \(error)")
        } catch {
            throw .usage("\(source): not valid YAML or JSON: \(error)")
        }
        guard let node, let mapping = node.mapping else {
            throw .usage("\(source): a workload file is a mapping of fields (name, topics, partitionsPerTopic, producerRate, …).")
        }
        var base = Workload()
        var steps: [Node] = []
        try apply(mapping, to: &base, source: source, steps: &steps)
        if steps.isEmpty {
            try base.validate()
            return [base]
        }
        var out: [Workload] = []
        for (i, step) in steps.enumerated() {
            guard let m = step.mapping else {
                throw .usage("\(source):\(line(step)): steps[\(i)] must be a mapping of fields.")
            }
            var w = base
            w.name = "\(base.name)-\(i + 1)"
            var nested: [Node] = []
            try apply(m, to: &w, source: source, steps: &nested)
            if !nested.isEmpty { throw .usage("\(source):\(line(step)): steps cannot be nested.") }
            do { try w.validate() } catch { throw .usage("\(source):\(line(step)): \(error.message)") }
            out.append(w)
        }
        return out
    }

    static func line(_ node: Node) -> String { node.mark.map { String($0.line) } ?? "?" }

    static func apply(_ mapping: Node.Mapping, to w: inout Workload, source: String, steps: inout [Node]) throws(BenchError) {
        for (k, v) in mapping {
            guard let key = k.string else { throw .usage("\(source):\(line(k)): field names are strings.") }
            let at = "\(source):\(line(v))"
            switch key {
            case "steps":
                guard let seq = v.sequence else { throw .usage("\(at): steps must be a list of mappings.") }
                steps = Array(seq)
            case "config":
                guard let m = v.mapping else { throw .usage("\(at): config must be a mapping of Kafka properties (batch.size: 65536).") }
                for (ck, cv) in m {
                    guard let ckey = ck.string, let cval = cv.string else {
                        throw .usage("\(source):\(line(ck)): config values are scalars (key: value).")
                    }
                    w.config[ckey] = cval
                }
            case "patternOptions":
                guard let m = v.mapping else { throw .usage("\(at): patternOptions must be a mapping (failureRate: 0.1).") }
                for (pk, pv) in m {
                    guard let pkey = pk.string, let pval = pv.string else {
                        throw .usage("\(source):\(line(pk)): patternOptions values are scalars (key: value).")
                    }
                    do { try w.set("pattern.\(pkey)", pval) } catch { throw .usage("\(source):\(line(pk)): \(error.message)") }
                }
            case "payloadFile":
                if let seq = v.sequence {
                    w.payloadFile = seq.compactMap(\.string)
                } else if let s = v.string {
                    w.payloadFile = [s]
                } else {
                    throw .usage("\(at): payloadFile must be a path or a list of paths.")
                }
            // OMB fields Weir reads but does not need.
            case "driverClass", "useRandomizedPayloads", "randomBytesRatio", "randomizedPayloadPoolSize", "producerRateDelta":
                continue
            default:
                guard let value = v.string else {
                    throw .usage("\(at): \(key) must be a scalar; allowed: \(Workload.fields.first { $0.name == key }?.help ?? "see weir bench workload-fields").")
                }
                do { try w.set(key, value) } catch { throw .usage("\(at): \(error.message)") }
            }
        }
    }
}
