import CRdKafka
import Foundation

/// librdkafka properties, passed through unchanged: `bootstrap.servers`, `security.protocol`,
/// `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`, `sasl.mechanism`
/// (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`), `sasl.username`, `sasl.password`,
/// `compression.type`, `linger.ms`, `batch.size`, `acks`, `enable.idempotence`, and every other
/// property librdkafka documents in its CONFIGURATION.md.
///
/// Secrets need not be on the command line: `load(file:)` reads a Java-properties file with
/// `${ENV_VAR}` expansion, and `environmentProperties(_:)` maps `WEIR_KAFKA_SASL_PASSWORD` to
/// `sasl.password` (upper case, `_` for `.`).
///
/// `bootstrap.servers=mock:N` (or `test.mock.num.brokers=N`) selects librdkafka's in-process mock
/// cluster with N brokers; see `KafkaMockCluster`.
public struct KafkaConfiguration: Sendable, Equatable {
    /// Property name → value, as librdkafka spells them.
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// `bootstrap.servers`: the initial brokers, `host:port[,host:port]…` (no default).
    public var bootstrapServers: String? {
        get { properties["bootstrap.servers"] }
        set { properties["bootstrap.servers"] = newValue }
    }

    /// The mock cluster's broker count when `bootstrap.servers` is `mock:N` or
    /// `test.mock.num.brokers` is set; nil for a real cluster.
    public var mockBrokerCount: Int? {
        if let b = bootstrapServers, b.hasPrefix("mock:"), let n = Int(b.dropFirst(5)), n > 0 { return n }
        if let v = properties["test.mock.num.brokers"], let n = Int(v), n > 0 { return n }
        return nil
    }

    /// A producer or consumer cannot connect to `mock:N` itself: the mock cluster is made by
    /// `KafkaMockCluster` (or `KafkaMessaging`), which gives the real address.
    func checkNoMockName() throws(KafkaError) {
        if let b = bootstrapServers, b.hasPrefix("mock:") {
            throw .configuration(property: "bootstrap.servers", "'\(b)' names a mock cluster; create a KafkaMockCluster and use its bootstrapServers")
        }
    }

    /// These properties with `other`'s on top.
    public func merging(_ other: [String: String]) -> KafkaConfiguration {
        KafkaConfiguration(properties.merging(other) { _, new in new })
    }

    /// Properties from the environment: `WEIR_KAFKA_SASL_PASSWORD=…` → `sasl.password=…`.
    public static func environmentProperties(_ environment: [String: String]? = nil) -> [String: String] {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var out: [String: String] = [:]
        for (key, value) in environment where key.hasPrefix("WEIR_KAFKA_") && key.count > 11 {
            out[key.dropFirst(11).lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        return out
    }

    /// Reads a Java-properties file (`key=value` or `key: value`, `#`/`!` comments, `\` line
    /// continuations) and expands `${ENV_VAR}` in values from `environment`.
    ///
    /// - Throws: a configuration error naming the file and line for a malformed line or an
    ///   unset variable.
    public static func load(file path: String, environment: [String: String]? = nil) throws(KafkaError) -> [String: String] {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .configuration(property: nil, "cannot read the properties file '\(path)': \(error.localizedDescription)")
        }
        return try parseProperties(text, source: path, environment: environment)
    }

    /// Parses Java-properties text; see `load(file:environment:)`.
    public static func parseProperties(_ text: String, source: String = "properties", environment: [String: String] = [:]) throws(KafkaError) -> [String: String] {
        var out: [String: String] = [:]
        var pending = ""
        var pendingLine = 0
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            if pending.isEmpty {
                line = String(line.drop { $0 == " " || $0 == "\t" })
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
                pendingLine = index + 1
            } else {
                line = String(line.drop { $0 == " " || $0 == "\t" })
            }
            if line.hasSuffix("\\") {
                pending += line.dropLast()
                continue
            }
            let entry = pending + line
            pending = ""
            guard let sep = entry.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw .configuration(property: nil, "\(source):\(pendingLine): '\(entry)' is not key=value")
            }
            let key = entry[..<sep].trimmingCharacters(in: .whitespaces)
            let value = entry[entry.index(after: sep)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw .configuration(property: nil, "\(source):\(pendingLine): empty property name") }
            out[key] = try expand(value, property: key, location: "\(source):\(pendingLine)", environment: environment)
        }
        return out
    }

    /// Replaces `${NAME}` with `environment[NAME]`.
    static func expand(_ value: String, property: String, location: String, environment: [String: String]) throws(KafkaError) -> String {
        guard value.contains("${") else { return value }
        var out = ""
        var rest = Substring(value)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw .configuration(property: property, "\(location): unterminated ${ in the value of '\(property)'")
            }
            let name = String(rest[start.upperBound..<end])
            guard let v = environment[name] else {
                throw .configuration(property: property, "\(location): '\(property)' refers to ${\(name)}, which is not set in the environment")
            }
            out += v
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }

    /// Checks every property with librdkafka (`rd_kafka_conf_set`, then `rd_kafka_new`, which
    /// checks combinations such as `sasl.mechanism`), without connecting to any broker.
    ///
    /// - Throws: a configuration error naming the first property librdkafka rejected.
    public func validate() throws(KafkaError) {
        var props = properties
        props.removeValue(forKey: "test.mock.num.brokers")
        if mockBrokerCount != nil { props["bootstrap.servers"] = "127.0.0.1:9" }
        let client = try _Client(kind: .producer, properties: props, state: _ClientState())
        _ = client
    }

    /// A new `rd_kafka_conf_t` with `properties` set, in a stable order.
    static func makeConf(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw .configuration(property: nil, "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let res = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if res != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let detail = _string(errstr)
                if res == RD_KAFKA_CONF_UNKNOWN {
                    throw .configuration(property: key, "unknown property '\(key)' (librdkafka: \(detail)). Property names are librdkafka's; see its CONFIGURATION.md")
                }
                throw .configuration(property: key, "invalid value for '\(key)' (librdkafka: \(detail))")
            }
        }
        return conf
    }
}
