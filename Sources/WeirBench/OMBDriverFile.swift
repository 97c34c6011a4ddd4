import Foundation
import WeirClientAPI
import Yams

/// An OpenMessaging Benchmark Kafka driver file (`--driver FILE`): `name`, `driverClass`,
/// `replicationFactor` and four Java-properties blocks, `commonConfig`, `producerConfig`,
/// `consumerConfig` and `topicConfig`.
///
/// As in OMB's Kafka driver, `commonConfig` goes to producers and consumers, then each side's
/// block on top; `topicConfig` configures the created topics. Weir's workloads carry one map of
/// Kafka properties (`--config`), so the blocks are merged into it (`--config` on the command
/// line still wins); a key the producer and consumer blocks both set with different values
/// keeps the producer's, and says so.
public struct OMBDriverFile: Sendable, Equatable {
    public var name: String?
    public var driverClass: String?
    /// OMB's `replicationFactor` (Kafka's `replication.factor` of created topics).
    public var replicationFactor: Int?
    public var commonConfig: [String: String] = [:]
    public var producerConfig: [String: String] = [:]
    public var consumerConfig: [String: String] = [:]
    public var topicConfig: [String: String] = [:]

    /// The fields of an OMB Kafka driver file; any other is an error.
    public static let fields = ["name", "driverClass", "replicationFactor", "commonConfig", "producerConfig", "consumerConfig", "topicConfig"]

    public init() {}

    /// Reads the driver file at `path`.
    ///
    /// - Throws: `.usage` naming the file, the field and what it takes.
    public static func load(path: String) throws(BenchError) -> OMBDriverFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw .usage("--driver: cannot read '\(path)'; give an OMB driver file (YAML with producerConfig, consumerConfig, topicConfig, commonConfig).")
        }
        return try parse(text, source: path)
    }

    /// Parses driver-file text (`source` names it in errors).
    public static func parse(_ text: String, source: String = "driver") throws(BenchError) -> OMBDriverFile {
        guard text.utf8.count <= WorkloadFile.maxFileBytes, WorkloadFile.nestingDepth(text) <= WorkloadFile.maxDepth else {
            throw .usage("\(source): too large or too deeply nested for a driver file (at most \(WorkloadFile.maxFileBytes) bytes, \(WorkloadFile.maxDepth) levels).")
        }
        let node: Yams.Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw .usage("\(source): not valid YAML: \(error)")
        }
        guard let mapping = node?.mapping else {
            throw .usage("\(source): a driver file is a mapping (name, driverClass, replicationFactor, commonConfig, producerConfig, consumerConfig, topicConfig).")
        }
        var d = OMBDriverFile()
        for (k, v) in mapping {
            guard let key = k.string else { throw .usage("\(source):\(WorkloadFile.line(k)): field names are strings.") }
            let at = "\(source):\(WorkloadFile.line(v))"
            guard let value = v.string else {
                throw .usage("\(at): \(key) must be a scalar or a block of key=value lines.")
            }
            switch key {
            case "name": d.name = value
            case "driverClass": d.driverClass = value
            case "replicationFactor":
                guard let n = Int(value), (1...Int(Int16.max)).contains(n) else {
                    throw .usage("\(at): replicationFactor: '\(value)' is not valid; allowed: integer 1…32,767.")
                }
                d.replicationFactor = n
            case "commonConfig": d.commonConfig = try properties(value, at: "\(at): commonConfig")
            case "producerConfig": d.producerConfig = try properties(value, at: "\(at): producerConfig")
            case "consumerConfig": d.consumerConfig = try properties(value, at: "\(at): consumerConfig")
            case "topicConfig": d.topicConfig = try properties(value, at: "\(at): topicConfig")
            default:
                throw .usage("\(at): unknown driver field '\(key)'. Known fields: \(fields.joined(separator: ", ")).")
            }
        }
        return d
    }

    /// Java-properties lines: `key=value`, `key: value` or `key value`; `#` and `!` start
    /// comments; a trailing backslash continues a line.
    static func properties(_ text: String, at: String) throws(BenchError) -> [String: String] {
        var out: [String: String] = [:]
        var logical: [String] = []
        var carry = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = carry + raw.trimmingCharacters(in: .whitespaces)
            carry = ""
            if line.hasSuffix("\\") {
                line.removeLast()
                carry = line
                continue
            }
            logical.append(line)
        }
        if !carry.isEmpty { logical.append(carry) }
        for line in logical {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" || $0 == " " }) else {
                throw .usage("\(at): '\(line)' is not key=value.")
            }
            let key = line[..<sep].trimmingCharacters(in: .whitespaces)
            var rest = line[line.index(after: sep)...].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("=") || rest.hasPrefix(":") { rest = String(rest.dropFirst()).trimmingCharacters(in: .whitespaces) }
            guard !key.isEmpty else { throw .usage("\(at): '\(line)' has no key.") }
            out[key] = rest
        }
        return out
    }

    /// Kafka properties of the Java client that librdkafka does not have.
    static let javaOnly: Set<String> = ["default.api.timeout.ms"]

    /// What the driver file means for a backend: the Kafka properties to run with, and one note
    /// per field or property that does not apply there (reported once, never dropped silently).
    /// The embedded log takes the topic properties of its own table
    /// (`ClientProperties.embeddedTopicKeys`).
    public func resolved(for backend: String) -> (config: [String: String], notes: [String]) {
        var config: [String: String] = [:]
        var notes: [String] = []
        func add(_ props: [String: String], block: String) {
            for (k, v) in props.sorted(by: { $0.key < $1.key }) {
                if let old = config[k], old != v {
                    notes.append("\(block) sets \(k)=\(v) but an earlier block set \(k)=\(old); Weir runs one property set, so the \(block) value is used")
                }
                config[k] = v
            }
        }
        add(commonConfig, block: "commonConfig")
        add(topicConfig, block: "topicConfig")
        add(consumerConfig, block: "consumerConfig")
        add(producerConfig, block: "producerConfig")
        switch backend {
        case "embedded":
            if let rf = replicationFactor, rf != 1 {
                notes.append("replicationFactor: \(rf) does not apply to the embedded log (one copy, in this process); not applied")
            }
            for key in config.keys.sorted() where !Self.embeddedAccepts(key) {
                notes.append("\(key)=\(config[key]!) does not apply to the embedded log; not applied")
                config[key] = nil
            }
            // Kafka's Java producer raises an unset delivery.timeout.ms to linger.ms +
            // request.timeout.ms (OMB's throughput driver sets request.timeout.ms=1200000);
            // the embedded producer insists on the bound, so the driver file gets Kafka's choice.
            if config["delivery.timeout.ms"] == nil, let request = config["request.timeout.ms"].flatMap({ Int64($0) }) {
                let defaults = ProducerConfiguration()
                let linger = config["linger.ms"].flatMap { Int64($0) } ?? defaults.lingerMs
                let needed = linger + request
                if needed > defaults.deliveryTimeoutMs {
                    config["delivery.timeout.ms"] = String(needed)
                    notes.append("delivery.timeout.ms is raised to linger.ms + request.timeout.ms = \(needed), as Kafka's producer does when it is not set")
                }
            }
        case "kafka":
            if let rf = replicationFactor { config["replication.factor"] = String(rf) }
            for key in config.keys.sorted() where Self.javaOnly.contains(key) {
                notes.append("\(key) is a Java-client property that librdkafka does not have; not applied")
                config[key] = nil
            }
        default:
            notes.append("the \(backend) backend has no client; the driver file's properties are recorded but do nothing")
        }
        return (config, notes)
    }

    /// True when the embedded backend takes `key`: a producer, consumer or client property it
    /// implements, or a topic property of the embedded log.
    static func embeddedAccepts(_ key: String) -> Bool {
        switch ClientProperties.scope(of: key) {
        case .producer, .consumer, .client: return true
        case .topic:
            let bare = key.hasPrefix(ClientProperties.topicPrefix) ? String(key.dropFirst(ClientProperties.topicPrefix.count)) : key
            return ClientProperties.embeddedTopicKeys.contains(bare)
        case .workload, nil: return false
        }
    }
}
