import Foundation
package import Yams

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
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .usage("cannot read workload file '\(path)'; give a readable YAML or JSON file.")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maxFileBytes else {
            throw .usage("workload file '\(path)' is \(size) bytes; allowed: at most \(maxFileBytes) (a workload file is a short mapping of fields).")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .usage("cannot read workload file '\(path)'; give a readable UTF-8 YAML or JSON file.")
        }
        var steps = try parse(text, source: path)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        for i in steps.indices {
            steps[i].payloadFile = steps[i].payloadFile.map { resolve($0, near: dir) }
        }
        return steps
    }

    /// The largest workload file read (1 MiB).
    public static let maxFileBytes = 1 << 20
    /// The deepest nesting of mappings and lists a workload file may have (a workload needs 4).
    public static let maxDepth = 32
    /// The most steps one file may hold.
    public static let maxSteps = 10_000

    /// A relative payload path as OMB resolves it (from the working directory), else next to
    /// the workload file, else next to its folder (OMB's `workloads/` and `payload/` are
    /// siblings, and its files name `payload/payload-1Kb.data`).
    static func resolve(_ path: String, near dir: URL) -> String {
        guard !path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path) else { return path }
        for base in [dir, dir.deletingLastPathComponent()] {
            let candidate = base.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return path
    }

    /// Parses workload text (`source` names it in errors).
    public static func parse(_ text: String, source: String = "workload") throws(BenchError) -> [Workload] {
        guard text.utf8.count <= maxFileBytes else {
            throw .usage("\(source): \(text.utf8.count) bytes; allowed: at most \(maxFileBytes) (a workload file is a short mapping of fields).")
        }
        let depth = nestingDepth(text)
        guard depth <= maxDepth else {
            throw .usage("\(source): mappings and lists nested deeper than \(maxDepth) levels; allowed: at most \(maxDepth) (a workload is a mapping of fields with config and steps, 4 levels).")
        }
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
        // OMB warms up for warmupDurationMinutes, default 1, before its testDurationMinutes.
        let keys = Set(mapping.keys.compactMap(\.string))
        if keys.contains("testDurationMinutes") && keys.isDisjoint(with: ["warmupDurationMinutes", "warmupSeconds"]) {
            base.warmupSeconds = 60
        }
        guard steps.count <= maxSteps else {
            throw .usage("\(source): \(steps.count) steps; allowed: at most \(maxSteps).")
        }
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

    package static func line(_ node: Node) -> String { node.mark.map { String($0.line) } ?? "?" }

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
            case "faults" where v.sequence != nil:
                var faults: [Fault] = []
                for item in v.sequence! {
                    guard let m = item.mapping else { throw .usage("\(source):\(line(item)): faults are mappings {kind, at, duration[, broker]}.") }
                    var f: [String: String] = [:]
                    for (fk, fv) in m {
                        guard let key = fk.string, let value = fv.string else { throw .usage("\(source):\(line(fk)): fault fields are scalars.") }
                        guard ["kind", "at", "duration", "broker"].contains(key) else {
                            throw .usage("\(source):\(line(fk)): unknown fault field '\(key)'; allowed: kind, at, duration, broker.")
                        }
                        f[key] = value
                    }
                    let text = (f["kind"] ?? "") + (f["broker"].map { ":" + $0 } ?? "") + "@" + (f["at"] ?? "") + "+" + (f["duration"] ?? "")
                    do { faults += try Fault.parseList(text) } catch { throw .usage("\(source):\(line(item)): \(error.message)") }
                }
                w.faults = faults
            case "messageSizeDistribution":
                guard let m = v.mapping else {
                    throw .usage("\(at): messageSizeDistribution must be a mapping of SIZE or LO-HI (bytes) to a weight, e.g. { \"100\": 70, \"1024-4096\": 30 }.")
                }
                var d: [String: Double] = [:]
                for (sk, sv) in m {
                    guard let size = sk.string, let text = sv.string, let weight = Double(text) else {
                        throw .usage("\(source):\(line(sk)): messageSizeDistribution maps SIZE or LO-HI to a number (a weight).")
                    }
                    d[size] = weight
                }
                do { _ = try Workload.sizeBuckets(d) } catch { throw .usage("\(at): \(error.message)") }
                w.messageSizeDistribution = d
            default:
                guard let value = v.string else {
                    throw .usage("\(at): \(key) must be a scalar; allowed: \(Workload.table.spec(key)?.allowed ?? "see `weir bench list --fields`").")
                }
                do { try w.set(key, value) } catch { throw .usage("\(at): \(error.message)") }
            }
        }
    }
}
