// One declaration type for every setting Weir parses: the topic's (`LogConfig`, here), the
// producer's and the consumer's (the client seam's configurations), and the fields of a bench
// workload (WeirBench's `Workload.table`). A property is declared
// once, in one table, with its Kafka name, scope, type, range and doc, and with the key path it
// sets; its default is read from the configuration's own default value. Parsing, range checks,
// `properties` and the listings (`weir bench list --fields`, `--help`) all come from the table.

/// Where a Kafka property takes effect.
public enum PropertyScope: String, Sendable, CaseIterable {
    /// Every producer (`batch.size`, `linger.ms`, `acks`, …).
    case producer
    /// Every consumer (`fetch.min.bytes`, `max.poll.records`, …).
    case consumer
    /// Producers and consumers alike (`client.id`, `sasl.username`, `allow.auto.create.topics`).
    case client
    /// A topic (`segment.bytes`, `retention.ms`, `cleanup.policy`, …).
    case topic
    /// A field of a bench workload (`topics`, `producerRate`, `messageSize`, OMB's names):
    /// read by `weir bench` only, never passed to a client.
    case workload
}

/// A property value that does not parse or is out of range. Each configuration turns it into its
/// own typed error (`ClientError.invalidConfig`, `LogError.invalidConfig`).
public struct PropertyError: Error, Sendable, Equatable {
    /// The Kafka name of the property.
    public var key: String
    /// What is wrong and what is allowed.
    public var message: String

    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }
}

/// A property as the listings show it: no key path, so that tables of different
/// configurations fit in one list.
public struct PropertyRow: Sendable, Equatable {
    /// Kafka's name (`batch.size`).
    public var name: String
    public var scope: PropertyScope
    /// `int`, `long`, `boolean`, `string`, `list` or `enum`.
    public var type: String
    /// The default, as the property would be written.
    public var defaultValue: String
    /// The allowed values or range (`0...2147483647`, `none, gzip, …`); empty for any string.
    public var allowed: String
    /// One line on what the property does.
    public var doc: String
    /// Other spellings accepted for it (KafkaJS names).
    public var aliases: [String]
    /// A value as it would be written, where `allowed` alone does not show the form
    /// (`100:70,1024-4096:30`); nil otherwise.
    public var example: String?

    public init(name: String, scope: PropertyScope, type: String, defaultValue: String, allowed: String, doc: String,
                aliases: [String] = [], example: String? = nil) {
        self.name = name
        self.scope = scope
        self.type = type
        self.defaultValue = defaultValue
        self.allowed = allowed
        self.doc = doc
        self.aliases = aliases
        self.example = example
    }
}

/// One property of the configuration `Config`: its declaration and how to read, set and check it.
public struct PropertySpec<Config>: Sendable {
    public let name: String
    public let scope: PropertyScope
    public let type: String
    public let allowed: String
    public let doc: String
    public let aliases: [String]
    /// A value as it would be written, for the listings and the round-trip tests (nil: `allowed`
    /// shows the form).
    public let example: String?
    /// Set for a family of keys (`config.KEY`): every key that starts with `prefix` is this
    /// property's, and `set` receives `KEY=VALUE` (the key after the prefix).
    public let prefix: String?
    /// The value, as it would be written (a secret as `[hidden]`).
    public let get: @Sendable (Config) -> String
    /// Parses a trimmed value into the configuration (type errors only).
    public let set: @Sendable (inout Config, String) throws(PropertyError) -> Void
    /// Checks the value against its range (for values set in Swift too).
    public let check: @Sendable (Config) throws(PropertyError) -> Void

    /// A property with its own parser (enums, lists, option sets).
    public init(_ name: String, _ scope: PropertyScope, type: String, allowed: String, doc: String, aliases: [String] = [],
                example: String? = nil, prefix: String? = nil,
                get: @escaping @Sendable (Config) -> String,
                set: @escaping @Sendable (inout Config, String) throws(PropertyError) -> Void,
                check: @escaping @Sendable (Config) throws(PropertyError) -> Void = { (_: Config) throws(PropertyError) in }) {
        self.name = name
        self.scope = scope
        self.type = type
        self.allowed = allowed
        self.doc = doc
        self.aliases = aliases
        self.example = example
        self.prefix = prefix
        self.get = get
        self.set = set
        self.check = check
    }

    /// An integer property checked against `range` (`int` up to 32 bits, `long` above).
    public static func int<T: FixedWidthInteger & Sendable>(
        _ name: String, _ scope: PropertyScope, _ path: any WritableKeyPath<Config, T> & Sendable, _ range: ClosedRange<T>,
        _ doc: String, aliases: [String] = []
    ) -> Self {
        let rangeText = "\(range.lowerBound)...\(range.upperBound)"
        return Self(
            name, scope, type: T.bitWidth > 32 && range.upperBound > T(Int32.max) ? "long" : "int", allowed: rangeText, doc: doc,
            aliases: aliases,
            get: { String($0[keyPath: path]) },
            set: { (c: inout Config, v: String) throws(PropertyError) in
                guard let n = T(v) else { throw PropertyError(name, "\(name)=\(v) is not an integer; allowed range \(rangeText).") }
                c[keyPath: path] = n
            },
            check: { (c: Config) throws(PropertyError) in
                let n = c[keyPath: path]
                if !range.contains(n) { throw PropertyError(name, "\(name)=\(n) is out of range; allowed range \(rangeText).") }
            })
    }

    /// A `true`/`false` property; `onSet` runs after a value is parsed (to note that it was
    /// set explicitly).
    public static func bool(
        _ name: String, _ scope: PropertyScope, _ path: any WritableKeyPath<Config, Bool> & Sendable, _ doc: String,
        aliases: [String] = [], onSet: (any WritableKeyPath<Config, Bool> & Sendable)? = nil
    ) -> Self {
        Self(name, scope, type: "boolean", allowed: "true, false", doc: doc, aliases: aliases,
             get: { String($0[keyPath: path]) },
             set: { (c: inout Config, v: String) throws(PropertyError) in
                 switch v.lowercased() {
                 case "true": c[keyPath: path] = true
                 case "false": c[keyPath: path] = false
                 default: throw PropertyError(name, "\(name)=\(v) is not a boolean; allowed values true, false.")
                 }
                 if let onSet { c[keyPath: onSet] = true }
             })
    }

    /// A free-form string property.
    public static func string(
        _ name: String, _ scope: PropertyScope, _ path: any WritableKeyPath<Config, String> & Sendable, _ doc: String,
        aliases: [String] = []
    ) -> Self {
        Self(name, scope, type: "string", allowed: "", doc: doc, aliases: aliases,
             get: { $0[keyPath: path] },
             set: { (c: inout Config, v: String) throws(PropertyError) in c[keyPath: path] = v })
    }

    /// An optional string property: the empty string is "unset". A `secret` is shown as
    /// `[hidden]` by `get`.
    public static func optionalString(
        _ name: String, _ scope: PropertyScope, _ path: any WritableKeyPath<Config, String?> & Sendable, _ doc: String,
        aliases: [String] = [], secret: Bool = false
    ) -> Self {
        Self(name, scope, type: secret ? "password" : "string", allowed: "", doc: doc, aliases: aliases,
             get: { c in secret ? (c[keyPath: path] == nil ? "" : "[hidden]") : c[keyPath: path] ?? "" },
             set: { (c: inout Config, v: String) throws(PropertyError) in c[keyPath: path] = v.isEmpty ? nil : v })
    }

    /// A property with one of a fixed set of values (`type` `list` for a comma-separated list of
    /// them). `parse` maps a written value (already trimmed) to a value, nil for an invalid one;
    /// `write` gives a value's written form.
    public static func choice<T: Sendable>(
        _ name: String, _ scope: PropertyScope, _ path: any WritableKeyPath<Config, T> & Sendable, allowed: [String], _ doc: String,
        aliases: [String] = [], type: String = "enum", parse: @escaping @Sendable (String) -> T?,
        write: @escaping @Sendable (T) -> String
    ) -> Self {
        let list = allowed.joined(separator: ", ")
        return Self(name, scope, type: type, allowed: list, doc: doc, aliases: aliases,
                    get: { write($0[keyPath: path]) },
                    set: { (c: inout Config, v: String) throws(PropertyError) in
                        guard let t = parse(v) else { throw PropertyError(name, "\(name)=\(v) is not valid; allowed values \(list).") }
                        c[keyPath: path] = t
                    })
    }

    /// A property whose values are the raw values of `T`'s cases.
    public static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ scope: PropertyScope, _ path: any WritableKeyPath<Config, T> & Sendable, _ doc: String,
        aliases: [String] = [], lowercased: Bool = false
    ) -> Self where T.RawValue == String {
        choice(name, scope, path, allowed: T.allCases.map(\.rawValue), doc, aliases: aliases,
               parse: { T(rawValue: lowercased ? $0.lowercased() : $0) }, write: { $0.rawValue })
    }

    /// The row the listings print, with the default read from `defaults`.
    public func row(defaults: Config) -> PropertyRow {
        PropertyRow(name: name, scope: scope, type: type, defaultValue: get(defaults), allowed: allowed, doc: doc, aliases: aliases,
                    example: example)
    }
}
