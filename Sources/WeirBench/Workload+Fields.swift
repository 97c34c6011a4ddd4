import Foundation

/// The allowed range of one numeric workload field, checked when a file, `--set` or a flag
/// sets it and again by `Workload.validate()`: a value outside it is a usage error (exit 2)
/// that names the field and the range, never a crash, a hang or a silent clamp.
public struct WorkloadFieldRange: Sendable, Equatable {
    public var name: String
    public var min: Double
    public var max: Double
    /// Whole numbers only.
    public var integer: Bool
    /// The unit and what the value means, for `weir bench list --fields` and errors.
    public var unit: String

    /// "integer 1…1,000,000 (topics)".
    public var text: String {
        "\(integer ? "integer" : "number") \(Self.format(min))…\(Self.format(max))" + (unit.isEmpty ? "" : " \(unit)")
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.groupingSeparator = ","
            f.usesGroupingSeparator = true
            return f.string(from: NSNumber(value: Int64(v))) ?? String(Int64(v))
        }
        return String(v)
    }

    /// Parses `text` and checks it against the range (no trap for any input: the value is
    /// checked as a `Double` before it becomes an `Int`).
    func parse(_ text: String) throws(BenchError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let v = Double(trimmed), v.isFinite else {
            throw .usage("\(name): '\(text)' is not a number; allowed: \(self.text).")
        }
        guard v >= min, v <= max else {
            throw .usage("\(name): \(trimmed) is out of range; allowed: \(self.text).")
        }
        if integer && v != v.rounded() {
            throw .usage("\(name): \(trimmed) is not a whole number; allowed: \(self.text).")
        }
        return v
    }

    func check(_ v: Double) throws(BenchError) {
        guard v.isFinite, v >= min, v <= max, !integer || v == v.rounded() else {
            throw .usage("\(name): \(v) is out of range; allowed: \(text).")
        }
    }
}

extension Workload {
    /// The largest value size a workload may ask for (16 MiB; Kafka's default
    /// `message.max.bytes` is 1 MiB).
    public static let maxMessageSize = 16 << 20

    /// Every numeric field's range (documented in `docs/bench.md`).
    public static let ranges: [WorkloadFieldRange] = [
        .init(name: "topics", min: 1, max: 1_000_000, integer: true, unit: "topics"),
        .init(name: "partitionsPerTopic", min: 1, max: 100_000, integer: true, unit: "partitions"),
        .init(name: "producersPerTopic", min: 0, max: 10_000, integer: true, unit: "producers"),
        .init(name: "subscriptionsPerTopic", min: 0, max: 1_000, integer: true, unit: "consumer groups"),
        .init(name: "consumerPerSubscription", min: 1, max: 10_000, integer: true, unit: "consumers per group"),
        .init(name: "producerRate", min: 0, max: 100_000_000, integer: false, unit: "records/s over all producers; 0 = max rate"),
        .init(name: "burst", min: 1, max: 1_000_000, integer: true, unit: "records per burst"),
        .init(name: "messageSize", min: Double(BenchStamp.size), max: Double(maxMessageSize), integer: true, unit: "bytes"),
        .init(name: "messageSizeMax", min: 0, max: Double(maxMessageSize), integer: true, unit: "bytes; 0 = fixed sizes"),
        .init(name: "compressionRatio", min: 1, max: 100, integer: false, unit: "(text payloads)"),
        .init(name: "keyCount", min: 1, max: 1_000_000, integer: true, unit: "keys"),
        .init(name: "zipfExponent", min: 0.01, max: 10, integer: false, unit: ""),
        .init(name: "testDurationMinutes", min: 0, max: 1_440, integer: true, unit: "minutes (OMB)"),
        .init(name: "warmupDurationMinutes", min: 0, max: 1_440, integer: true, unit: "minutes (OMB; default 1 in OMB files)"),
        .init(name: "durationSeconds", min: 0, max: 86_400, integer: false, unit: "seconds"),
        .init(name: "warmupSeconds", min: 0, max: 86_400, integer: false, unit: "seconds"),
        .init(name: "records", min: 0, max: 1_000_000_000_000, integer: true, unit: "records; 0 = until durationSeconds"),
        .init(name: "drainTimeoutSeconds", min: 0, max: 3_600, integer: false, unit: "seconds"),
        .init(name: "consumerBacklogSizeGB", min: 0, max: 1_024, integer: false, unit: "GB (10^9 bytes)"),
        .init(name: "backlogDrainRatio", min: 0, max: 1, integer: false, unit: "fraction of the backlog (OMB; default 1)"),
        .init(name: "consumerDelayMicros", min: 0, max: 10_000_000, integer: false, unit: "µs per record"),
        .init(name: "maxP99Millis", min: 0.001, max: 600_000, integer: false, unit: "ms"),
        .init(name: "reportIntervalSeconds", min: 0.1, max: 3_600, integer: false, unit: "seconds"),
        .init(name: "randomBytesRatio", min: 0, max: 1, integer: false, unit: "fraction (OMB)"),
        .init(name: "randomizedPayloadPoolSize", min: 1, max: 100_000, integer: true, unit: "payloads (OMB)"),
        .init(name: "transactionDurationMs", min: 1, max: 3_600_000, integer: false, unit: "ms per transaction (with transactional.id)"),
    ]

    static func range(_ name: String) -> WorkloadFieldRange? { ranges.first { $0.name == name } }

    /// Every field a workload file or `--set` accepts, with what it takes.
    public static var fields: [(name: String, help: String)] {
        func r(_ n: String) -> (String, String) { (n, range(n)?.text ?? "?") }
        return [
            ("name", "string"), ("backend", "embedded | null | kafka"), r("topics"), r("partitionsPerTopic"),
            r("producersPerTopic"), r("subscriptionsPerTopic"), r("consumerPerSubscription"), r("producerRate"), r("burst"),
            r("messageSize"), r("messageSizeMax"),
            ("messageSizeDistribution", "map of SIZE or LO-HI (bytes) → weight ≥ 0"),
            ("payload", "random | json | text | zeros"), r("compressionRatio"),
            ("payloadFile", "path or list of paths (non-empty files)"), ("payloadLines", "true | false"),
            ("useRandomizedPayloads", "true | false (OMB)"), r("randomBytesRatio"), r("randomizedPayloadPoolSize"),
            ("keyDistributor", "NO_KEY | KEY_ROUND_ROBIN | RANDOM_NANO | UNIFORM | ZIPFIAN"),
            r("keyCount"), r("zipfExponent"), r("testDurationMinutes"), r("warmupDurationMinutes"),
            r("durationSeconds"), r("warmupSeconds"), r("records"), r("drainTimeoutSeconds"),
            ("scenario", "steady | backlog | slowConsumer"), r("consumerBacklogSizeGB"), r("backlogDrainRatio"),
            r("consumerDelayMicros"), ("mode", "fixed | findMaxRate"), r("maxP99Millis"), r("reportIntervalSeconds"),
            ("config", "map of Kafka properties"), ("logDir", "path"), ("driverClass", "string (OMB; recorded only)"),
            ("topic", "an existing topic to produce to or consume from"), r("transactionDurationMs"),
            ("faults", "list of {kind, at, duration[, broker]} or KIND@AT+DURATION,…; kinds: pauseConsumers, restartConsumer, stallAppends, brokerDown"),
            ("pattern", "a pattern scenario: see `weir bench list`"), ("pattern.KEY", "an option of the pattern scenario"),
        ]
    }

    /// Sets one field from its text form (`--set key=value`, or a scalar in a workload file).
    ///
    /// - Throws: `.usage` naming the field and what it accepts.
    public mutating func set(_ key: String, _ value: String) throws(BenchError) {
        func number() throws(BenchError) -> Double {
            guard let r = Self.range(key) else { throw Self.bad(key, value) }
            return try r.parse(value)
        }
        func int() throws(BenchError) -> Int { Int(try number()) }
        func bool() throws(BenchError) -> Bool {
            switch value.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default: throw Self.bad(key, value)
            }
        }
        func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws(BenchError) -> E where E.RawValue == String {
            guard let e = E(rawValue: value) else { throw Self.bad(key, value) }
            return e
        }
        switch key {
        case "name": name = value
        case "backend":
            guard ["embedded", "null", "kafka"].contains(value) else { throw Self.bad(key, value) }
            backend = value
        case "topics": topics = try int()
        case "partitionsPerTopic": partitionsPerTopic = try int()
        case "producersPerTopic": producersPerTopic = try int()
        case "subscriptionsPerTopic": subscriptionsPerTopic = try int()
        case "consumerPerSubscription": consumerPerSubscription = try int()
        case "producerRate": producerRate = try number()
        case "burst": burst = try int()
        case "messageSize": messageSize = try int()
        case "messageSizeMax": messageSizeMax = try int()
        case "payload": payload = try choice(PayloadKind.self)
        case "compressionRatio": compressionRatio = try number()
        case "payloadFile": payloadFile = value.split(separator: ",").map(String.init)
        case "payloadLines": payloadLines = try bool()
        case "useRandomizedPayloads": useRandomizedPayloads = try bool()
        case "randomBytesRatio": randomBytesRatio = try number()
        case "randomizedPayloadPoolSize": randomizedPayloadPoolSize = try int()
        case "keyDistributor":
            switch value {
            case "UNIFORM", "RANDOM": keyDistributor = .uniform
            case "SEQUENTIAL": keyDistributor = .sequential
            case "NONE": keyDistributor = .none
            default: keyDistributor = try choice(KeyDistribution.self)
            }
        case "keyCount": keyCount = try int()
        case "zipfExponent": zipfExponent = try number()
        case "testDurationMinutes": durationSeconds = try number() * 60
        case "warmupDurationMinutes": warmupSeconds = try number() * 60
        case "durationSeconds": durationSeconds = try number()
        case "warmupSeconds": warmupSeconds = try number()
        case "records": records = try int()
        case "drainTimeoutSeconds": drainTimeoutSeconds = try number()
        case "scenario": scenario = try choice(Scenario.self)
        case "consumerBacklogSizeGB":
            consumerBacklogSizeGB = try number()
            // OMB: a backlog size above 0 is the backlog scenario (consumers start once it is built).
            if consumerBacklogSizeGB > 0 && scenario == .steady { scenario = .backlog }
        case "backlogDrainRatio": backlogDrainRatio = try number()
        case "consumerDelayMicros": consumerDelayMicros = try number()
        case "mode": mode = try choice(Mode.self)
        case "maxP99Millis": maxP99Millis = try number()
        case "reportIntervalSeconds": reportIntervalSeconds = try number()
        case "logDir": logDir = value
        case "driverClass": driverClass = value
        case "topic":
            guard !value.isEmpty else { throw Self.bad(key, value) }
            topic = value
        case "transactionDurationMs": transactionDurationMs = try number()
        case "faults": faults = try Fault.parseList(value)
        case "messageSizeDistribution":
            messageSizeDistribution = try Self.parseDistribution(value)
        case "pattern":
            guard PatternScenario.named(value) != nil else {
                throw .usage("pattern: '\(value)' is not valid; allowed: \(PatternScenario.all.map(\.name).joined(separator: ", ")).")
            }
            pattern = value
        default:
            if key.hasPrefix("pattern.") {
                patternOptions = (patternOptions ?? [:]).merging([String(key.dropFirst("pattern.".count)): value]) { $1 }
                return
            }
            if key.hasPrefix("config.") {
                config[String(key.dropFirst("config.".count))] = value
                return
            }
            throw .usage("unknown workload field '\(key)'. Known fields: \(Self.fields.map(\.name).joined(separator: ", ")).")
        }
    }

    static func bad(_ key: String, _ value: String) -> BenchError {
        let help = fields.first { $0.name == key }?.help ?? "?"
        return .usage("\(key): '\(value)' is not valid; allowed: \(help).")
    }

    /// `"100:70,1024-4096:30"` (the `--set` form of `messageSizeDistribution`).
    static func parseDistribution(_ text: String) throws(BenchError) -> [String: Double] {
        var out: [String: Double] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let weight = Double(kv[1]) else {
                throw .usage("messageSizeDistribution: '\(part)' is not SIZE:WEIGHT or LO-HI:WEIGHT.")
            }
            out[kv[0]] = weight
        }
        _ = try sizeBuckets(out)
        return out
    }

    /// The buckets of a size distribution, checked: sizes within `messageSize`'s range,
    /// weights finite and ≥ 0, at least one weight > 0.
    public static func sizeBuckets(_ d: [String: Double]) throws(BenchError) -> [(lo: Int, hi: Int, weight: Double)] {
        let sizeRange = range("messageSize")!
        var out: [(lo: Int, hi: Int, weight: Double)] = []
        for (k, weight) in d.sorted(by: { $0.key < $1.key }) {
            let ends = k.split(separator: "-", maxSplits: 1).map(String.init)
            var bounds: [Int] = []
            for e in ends {
                let v: Double
                do { v = try sizeRange.parse(e) } catch {
                    throw .usage("messageSizeDistribution: size '\(k)': \(error.message)")
                }
                bounds.append(Int(v))
            }
            let lo = bounds[0], hi = bounds.count == 2 ? bounds[1] : bounds[0]
            guard lo <= hi else { throw .usage("messageSizeDistribution: '\(k)' has LO > HI; write LO-HI with LO ≤ HI.") }
            guard weight.isFinite, weight >= 0, weight <= 1e12 else {
                throw .usage("messageSizeDistribution: the weight of '\(k)' is \(weight); allowed: a number 0…1e12.")
            }
            out.append((lo, hi, weight))
        }
        guard out.contains(where: { $0.weight > 0 }) else {
            throw .usage("messageSizeDistribution: no size has a weight > 0; give e.g. { \"1024\": 1 }.")
        }
        return out
    }

    /// Checks every field's range and the combination of fields (at load: every OMB workload
    /// file passes; what one machine cannot run is `checkRunnable()`'s).
    public func validate() throws(BenchError) {
        let values: [(String, Double)] = [
            ("topics", Double(topics)), ("partitionsPerTopic", Double(partitionsPerTopic)),
            ("producersPerTopic", Double(producersPerTopic)), ("subscriptionsPerTopic", Double(subscriptionsPerTopic)),
            ("consumerPerSubscription", Double(consumerPerSubscription)), ("producerRate", producerRate),
            ("burst", Double(burst)), ("messageSize", Double(messageSize)), ("messageSizeMax", Double(messageSizeMax)),
            ("compressionRatio", compressionRatio), ("keyCount", Double(keyCount)), ("zipfExponent", zipfExponent),
            ("durationSeconds", durationSeconds), ("warmupSeconds", warmupSeconds), ("records", Double(records)),
            ("drainTimeoutSeconds", drainTimeoutSeconds), ("consumerBacklogSizeGB", consumerBacklogSizeGB),
            ("consumerDelayMicros", consumerDelayMicros), ("maxP99Millis", maxP99Millis),
            ("reportIntervalSeconds", reportIntervalSeconds),
        ]
        for (name, v) in values { try Self.range(name)!.check(v) }
        if let r = randomBytesRatio { try Self.range("randomBytesRatio")!.check(r) }
        if let n = randomizedPayloadPoolSize { try Self.range("randomizedPayloadPoolSize")!.check(Double(n)) }
        if let r = backlogDrainRatio { try Self.range("backlogDrainRatio")!.check(r) }
        if let d = transactionDurationMs { try Self.range("transactionDurationMs")!.check(d) }
        if let d = messageSizeDistribution { _ = try Self.sizeBuckets(d) }
        if useRandomizedPayloads == true && randomizedPayloadPoolSize == nil {
            throw .usage("useRandomizedPayloads: true needs randomizedPayloadPoolSize (\(Self.range("randomizedPayloadPoolSize")!.text)), as in OMB.")
        }
        if messageSizeMax > 0 && messageSizeMax < messageSize {
            throw .usage("messageSizeMax (\(messageSizeMax)) is smaller than messageSize (\(messageSize)); allowed: ≥ messageSize, or 0 for fixed sizes.")
        }
        if producersPerTopic == 0 && subscriptionsPerTopic == 0 {
            throw .usage("producersPerTopic and subscriptionsPerTopic are both 0; nothing would run.")
        }
        if scenario == .backlog && consumerBacklogSizeGB <= 0 {
            throw .usage("scenario: backlog needs consumerBacklogSizeGB > 0.")
        }
        if scenario == .backlog && subscriptionsPerTopic == 0 {
            throw .usage("scenario: backlog needs subscriptionsPerTopic ≥ 1.")
        }
        if let pattern {
            guard let scenario = PatternScenario.named(pattern) else {
                throw .usage("pattern: '\(pattern)' is not valid; allowed: \(PatternScenario.all.map(\.name).joined(separator: ", ")).")
            }
            for key in (patternOptions ?? [:]).keys where !scenario.options.contains(where: { $0.name == key }) {
                throw .usage("pattern.\(key): unknown option of pattern '\(pattern)'; allowed: \(scenario.options.map { "pattern.\($0.name) (\($0.help))" }.joined(separator: ", ")).")
            }
        }
        if durationSeconds <= 0 && records == 0 {
            throw .usage("durationSeconds (or testDurationMinutes) must be > 0 unless records is set.")
        }
    }
}
