/// The properties of one configuration (the producer's, the consumer's, a topic's), declared
/// once: parsing from Kafka-style strings, range checks, the current values and the listings all
/// read this table.
public struct PropertyTable<Config>: Sendable {
    /// What the table configures, for messages (`producer`, `consumer`, `topic`).
    public let subject: String
    public let specs: [PropertySpec<Config>]
    /// The rows the listings print, with the defaults of the configuration.
    public let rows: [PropertyRow]
    let byName: [String: Int]

    /// - Parameters:
    ///   - defaults: the configuration with every property at its default (the listed defaults
    ///     are read from it, so a default is written once: on the configuration's property).
    public init(_ subject: String, defaults: Config, _ specs: [PropertySpec<Config>]) {
        self.subject = subject
        self.specs = specs
        self.rows = specs.map { $0.row(defaults: defaults) }
        var byName: [String: Int] = [:]
        for (i, spec) in specs.enumerated() {
            precondition(byName[spec.name] == nil, "\(subject) property \(spec.name) is declared twice")
            byName[spec.name] = i
            for alias in spec.aliases { byName[alias] = i }
        }
        self.byName = byName
    }

    /// Every Kafka name, in declaration order.
    public var names: [String] { specs.map(\.name) }

    /// Every other spelling and the Kafka name it stands for.
    public var aliases: [String: String] {
        var out: [String: String] = [:]
        for spec in specs { for alias in spec.aliases { out[alias] = spec.name } }
        return out
    }

    /// The property named `key` (or one of its aliases).
    public func spec(_ key: String) -> PropertySpec<Config>? { byName[key].map { specs[$0] } }

    /// The property `key` sets with `value`, and the text its `set` takes: `value` for a named
    /// property, `KEY=value` for a key of a prefixed family (`config.KEY`). Nil for an unknown key.
    public func lookup(_ key: String, _ value: String) -> (spec: PropertySpec<Config>, text: String)? {
        if let s = spec(key), s.prefix == nil { return (s, value) }
        for s in specs { if let p = s.prefix, key.hasPrefix(p), key.count > p.count { return (s, "\(key.dropFirst(p.count))=\(value)") } }
        return nil
    }

    /// Parses `properties` (values trimmed of white space) into `config`, in key order, then
    /// checks every range. Does not check combinations: that is the configuration's `validate()`.
    public func apply(_ properties: [String: String], to config: inout Config) throws(PropertyError) {
        for key in properties.keys.sorted() {
            guard let spec = spec(key) else {
                throw PropertyError(key, "unknown \(subject) config '\(key)'. Known keys: \(names.joined(separator: ", ")).")
            }
            try spec.set(&config, properties[key]!.trimmingWhitespace)
        }
        try check(config)
    }

    /// Checks every value against its range.
    public func check(_ config: Config) throws(PropertyError) {
        for spec in specs { try spec.check(config) }
    }

    /// Every property's current value, by Kafka name (secrets as `[hidden]`).
    public func values(of config: Config) -> [String: String] {
        var out: [String: String] = [:]
        for spec in specs { out[spec.name] = spec.get(config) }
        return out
    }
}
