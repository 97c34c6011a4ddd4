/// One benchmark step: topology, rate, payload, keys, timing, scenario and Kafka properties.
///
/// Field names follow OpenMessaging Benchmark's workload files where they overlap (`topics`,
/// `partitionsPerTopic`, `messageSize`, `payloadFile`, `producersPerTopic`,
/// `subscriptionsPerTopic`, `consumerPerSubscription`, `producerRate`, `testDurationMinutes`,
/// `warmupDurationMinutes`, `consumerBacklogSizeGB`, `keyDistributor`); the rest are Weir's own
/// and are listed in `Workload.fields`.
public struct Workload: Sendable, Codable, Equatable {
    /// The step's name (a row in tables, a series in charts).
    public var name = "run"
    /// `embedded` (the in-process log) or `null` (the generator's ceiling).
    public var backend = "embedded"
    public var topics = 1
    public var partitionsPerTopic = 1
    public var producersPerTopic = 1
    /// Consumer groups per topic (0 = produce only).
    public var subscriptionsPerTopic = 1
    /// Consumers in each group.
    public var consumerPerSubscription = 1
    /// Total records per second over all producers; 0 or less = max rate (unthrottled).
    public var producerRate: Double = 10_000
    /// Records per burst: records are scheduled in groups of this many at the same intended
    /// time, at the same average rate (1 = evenly spaced).
    public var burst = 1
    /// Value size in bytes (at least 8: the first 8 bytes carry the intended send time).
    public var messageSize = 1024
    /// When greater than `messageSize`, sizes are uniform in `messageSize...messageSizeMax`.
    public var messageSizeMax = 0
    /// `random` (incompressible), `json` (JSON-like events), `text` (JSON-like text mixed with
    /// random bytes to reach `compressionRatio`), `zeros`.
    public var payload = PayloadKind.json
    /// Target compression ratio of `text` payloads (lz4), e.g. 3.
    public var compressionRatio: Double = 3
    /// User payload file(s): each file is one payload (OMB's `payloadFile`); with
    /// `payloadLines: true`, each line of each file is one payload.
    public var payloadFile: [String] = []
    public var payloadLines = false
    /// `NO_KEY`, `KEY_ROUND_ROBIN` (sequential), `RANDOM_NANO`/`UNIFORM` (uniform over
    /// `keyCount`), `ZIPFIAN` (zipfian over `keyCount` with `zipfExponent`).
    public var keyDistributor = KeyDistribution.none
    public var keyCount = 10_000
    public var zipfExponent = 0.99
    /// Measured duration, seconds (OMB's `testDurationMinutes` × 60).
    public var durationSeconds: Double = 10
    /// Warmup before measuring, seconds (OMB's `warmupDurationMinutes` × 60); excluded from
    /// every statistic.
    public var warmupSeconds: Double = 2
    /// Stop after this many records (over all producers) instead of at `durationSeconds`; 0 = off.
    public var records = 0
    /// Seconds to wait at the end for acknowledgements and consumers to catch up.
    public var drainTimeoutSeconds: Double = 30
    /// `steady`, `backlog` (consumers start after `consumerBacklogSizeGB` is produced, then
    /// drain while producers go on), `slowConsumer` (consumers pause `consumerDelayMicros` per
    /// record).
    public var scenario = Scenario.steady
    /// Backlog to build before consumers start (OMB's `consumerBacklogSizeGB`).
    public var consumerBacklogSizeGB: Double = 0
    public var consumerDelayMicros: Double = 0
    /// `fixed` (open loop at `producerRate`, or max rate), `findMaxRate` (search the highest rate
    /// whose publish p99 stays under `maxP99Millis`).
    public var mode = Mode.fixed
    public var maxP99Millis: Double = 10
    /// Seconds between live lines.
    public var reportIntervalSeconds: Double = 2
    /// Kafka properties (`batch.size`, `linger.ms`, `acks`, `compression.type`, topic and
    /// consumer properties), as `--config key=value`.
    public var config: [String: String] = [:]
    /// Log directory for the embedded backend (nil = fresh temporary directory, removed after).
    public var logDir: String?
    /// A pattern scenario (`PatternScenario.all`: retry/DLQ, outbox, saga, …) the step's records
    /// flow through; nil = none.
    public var pattern: String?
    /// The pattern scenario's options, as `pattern.KEY=VALUE`.
    public var patternOptions: [String: String]?

    public init() {}

    public enum PayloadKind: String, Sendable, Codable, CaseIterable { case random, json, text, zeros }
    public enum KeyDistribution: String, Sendable, Codable, CaseIterable {
        case none = "NO_KEY", sequential = "KEY_ROUND_ROBIN", uniform = "RANDOM_NANO", zipfian = "ZIPFIAN"
    }
    public enum Scenario: String, Sendable, Codable, CaseIterable { case steady, backlog, slowConsumer }
    public enum Mode: String, Sendable, Codable, CaseIterable { case fixed, findMaxRate }

    /// True when producers run unthrottled.
    public var isMaxRate: Bool { producerRate <= 0 }
}

extension Workload {
    /// Every field a workload file or `--set` accepts, with what it takes.
    public static let fields: [(name: String, help: String)] = [
        ("name", "string"), ("backend", "embedded | null | kafka"), ("topics", "integer ≥ 1"),
        ("partitionsPerTopic", "integer ≥ 1"), ("producersPerTopic", "integer ≥ 0"),
        ("subscriptionsPerTopic", "integer ≥ 0"), ("consumerPerSubscription", "integer ≥ 1"),
        ("producerRate", "records/s over all producers; 0 = max rate"), ("burst", "integer ≥ 1"),
        ("messageSize", "bytes ≥ 8"), ("messageSizeMax", "bytes (uniform sizes up to it)"),
        ("payload", "random | json | text | zeros"), ("compressionRatio", "number ≥ 1 (text payloads)"),
        ("payloadFile", "path or list of paths"), ("payloadLines", "true | false"),
        ("keyDistributor", "NO_KEY | KEY_ROUND_ROBIN | RANDOM_NANO | UNIFORM | ZIPFIAN"),
        ("keyCount", "integer ≥ 1"), ("zipfExponent", "number > 0"),
        ("testDurationMinutes", "minutes"), ("warmupDurationMinutes", "minutes"),
        ("durationSeconds", "seconds"), ("warmupSeconds", "seconds"), ("records", "integer ≥ 0"),
        ("drainTimeoutSeconds", "seconds"), ("scenario", "steady | backlog | slowConsumer"),
        ("consumerBacklogSizeGB", "GB"), ("consumerDelayMicros", "µs per record"),
        ("mode", "fixed | findMaxRate"), ("maxP99Millis", "ms"), ("reportIntervalSeconds", "seconds"),
        ("config", "map of Kafka properties"), ("logDir", "path"),
        ("pattern", "a pattern scenario: see `weir bench list`"), ("pattern.KEY", "an option of the pattern scenario"),
    ]

    /// Sets one field from its text form (`--set key=value`, or a scalar in a workload file).
    ///
    /// - Throws: `.usage` naming the field and what it accepts.
    public mutating func set(_ key: String, _ value: String) throws(BenchError) {
        func int(_ min: Int = 0) throws(BenchError) -> Int {
            guard let n = Int(value), n >= min else { throw Self.bad(key, value) }
            return n
        }
        func double(_ min: Double = 0) throws(BenchError) -> Double {
            guard let n = Double(value), n >= min, n.isFinite else { throw Self.bad(key, value) }
            return n
        }
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
        case "topics": topics = try int(1)
        case "partitionsPerTopic": partitionsPerTopic = try int(1)
        case "producersPerTopic": producersPerTopic = try int(0)
        case "subscriptionsPerTopic": subscriptionsPerTopic = try int(0)
        case "consumerPerSubscription": consumerPerSubscription = try int(1)
        case "producerRate":
            guard let n = Double(value), n.isFinite else { throw Self.bad(key, value) }
            producerRate = n
        case "burst": burst = try int(1)
        case "messageSize": messageSize = try int(BenchStamp.size)
        case "messageSizeMax": messageSizeMax = try int(0)
        case "payload": payload = try choice(PayloadKind.self)
        case "compressionRatio": compressionRatio = try double(1)
        case "payloadFile": payloadFile = value.split(separator: ",").map(String.init)
        case "payloadLines": payloadLines = try bool()
        case "keyDistributor":
            switch value {
            case "UNIFORM", "RANDOM": keyDistributor = .uniform
            case "SEQUENTIAL": keyDistributor = .sequential
            case "NONE": keyDistributor = .none
            default: keyDistributor = try choice(KeyDistribution.self)
            }
        case "keyCount": keyCount = try int(1)
        case "zipfExponent":
            let z = try double(0)
            guard z > 0 else { throw Self.bad(key, value) }
            zipfExponent = z
        case "testDurationMinutes": durationSeconds = try double() * 60
        case "warmupDurationMinutes": warmupSeconds = try double() * 60
        case "durationSeconds": durationSeconds = try double()
        case "warmupSeconds": warmupSeconds = try double()
        case "records": records = try int(0)
        case "drainTimeoutSeconds": drainTimeoutSeconds = try double()
        case "scenario": scenario = try choice(Scenario.self)
        case "consumerBacklogSizeGB": consumerBacklogSizeGB = try double()
        case "consumerDelayMicros": consumerDelayMicros = try double()
        case "mode": mode = try choice(Mode.self)
        case "maxP99Millis":
            let m = try double()
            guard m > 0 else { throw Self.bad(key, value) }
            maxP99Millis = m
        case "reportIntervalSeconds":
            let s = try double()
            guard s > 0 else { throw Self.bad(key, value) }
            reportIntervalSeconds = s
        case "logDir": logDir = value
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

    /// Checks the combination of fields.
    public func validate() throws(BenchError) {
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

    /// The Kafka properties of this step, for reports (`--config` plus nothing implicit).
    public var topicNames: [String] { (0..<topics).map { "weir-bench-\($0)" } }
}
