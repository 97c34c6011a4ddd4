import Foundation

extension Workload {
    /// The largest value size a workload may ask for (16 MiB; Kafka's default
    /// `message.max.bytes` is 1 MiB).
    public static let maxMessageSize = 16 << 20

    /// Every numeric field's range (documented in `docs/bench.md`), from `fields`.
    public static let ranges: [WorkloadFieldRange] = fields.compactMap(\.range)

    static func range(_ name: String) -> WorkloadFieldRange? { ranges.first { $0.name == name } }

    /// Every field a workload file or `--set` accepts, declared once each: `set(_:_:)`,
    /// `validate()`, `weir bench list --fields` and the usage errors all read this list.
    public static let fields: [WorkloadField] = [
        .text("name", "string", example: "run") { $0.name = $1 } get: { $0.name },
        .text("backend", "embedded | null | kafka", example: "null") { w, v in
            guard ["embedded", "null", "kafka"].contains(v) else { throw WorkloadField.Invalid() }
            w.backend = v
        } get: { $0.backend },
        .int("topics", 1, 1_000_000, "topics", \.topics),
        .int("partitionsPerTopic", 1, 100_000, "partitions", \.partitionsPerTopic),
        .int("producersPerTopic", 0, 10_000, "producers", \.producersPerTopic),
        .int("subscriptionsPerTopic", 0, 1_000, "consumer groups", \.subscriptionsPerTopic),
        .int("consumerPerSubscription", 1, 10_000, "consumers per group", \.consumerPerSubscription),
        .double("producerRate", 0, 100_000_000, "records/s over all producers; 0 = max rate", \.producerRate),
        .int("burst", 1, 1_000_000, "records per burst", \.burst),
        .int("messageSize", Double(BenchStamp.size), Double(maxMessageSize), "bytes", \.messageSize),
        .int("messageSizeMax", 0, Double(maxMessageSize), "bytes; 0 = fixed sizes", \.messageSizeMax),
        .text("messageSizeDistribution", "map of SIZE or LO-HI (bytes) → weight ≥ 0", example: "100:70,1024-4096:30") {
            $0.messageSizeDistribution = try parseDistribution($1)
        } get: { w in
            w.messageSizeDistribution.map { $0.sorted { $0.key < $1.key }.map { "\($0.key):\(Int($0.value))" }.joined(separator: ",") }
        },
        .choice("payload", \.payload),
        .double("compressionRatio", 1, 100, "(text payloads)", \.compressionRatio),
        .text("payloadFile", "path or list of paths (non-empty files)", example: "a.txt,b.txt") {
            $0.payloadFile = $1.split(separator: ",").map(String.init)
        } get: { $0.payloadFile.joined(separator: ",") },
        .bool("payloadLines", set: { $0.payloadLines = $1 }, get: { $0.payloadLines }),
        .bool("useRandomizedPayloads", " (OMB)", set: { $0.useRandomizedPayloads = $1 }, get: { $0.useRandomizedPayloads }),
        .number("randomBytesRatio", 0, 1, "fraction (OMB)", set: { $0.randomBytesRatio = $1 }, get: { $0.randomBytesRatio }),
        .number(
            "randomizedPayloadPoolSize", 1, 100_000, integer: true, "payloads (OMB)",
            set: { $0.randomizedPayloadPoolSize = Int($1) }, get: { $0.randomizedPayloadPoolSize.map(Double.init) }),
        .choice(
            "keyDistributor", \.keyDistributor, help: "NO_KEY | KEY_ROUND_ROBIN | RANDOM_NANO | UNIFORM | ZIPFIAN",
            aliases: ["UNIFORM": .uniform, "RANDOM": .uniform, "SEQUENTIAL": .sequential, "NONE": .none]),
        .int("keyCount", 1, 1_000_000, "keys", \.keyCount),
        .double("zipfExponent", 0.01, 10, "", \.zipfExponent),
        .number(
            "testDurationMinutes", 0, 1_440, integer: true, "minutes (OMB)", validated: false,
            set: { $0.durationSeconds = $1 * 60 }, get: { $0.durationSeconds / 60 }),
        .number(
            "warmupDurationMinutes", 0, 1_440, integer: true, "minutes (OMB; default 1 in OMB files)", validated: false,
            set: { $0.warmupSeconds = $1 * 60 }, get: { $0.warmupSeconds / 60 }),
        .double("durationSeconds", 0, 86_400, "seconds", \.durationSeconds),
        .double("warmupSeconds", 0, 86_400, "seconds", \.warmupSeconds),
        .int("records", 0, 1_000_000_000_000, "records; 0 = until durationSeconds", \.records),
        .double("drainTimeoutSeconds", 0, 3_600, "seconds", \.drainTimeoutSeconds),
        .choice("scenario", \.scenario),
        .number("consumerBacklogSizeGB", 0, 1_024, "GB (10^9 bytes)") { w, v in
            w.consumerBacklogSizeGB = v
            // OMB: a backlog size above 0 is the backlog scenario (consumers start once it is built).
            if v > 0 && w.scenario == .steady { w.scenario = .backlog }
        } get: { $0.consumerBacklogSizeGB },
        .number(
            "backlogDrainRatio", 0, 1, "fraction of the backlog (OMB; default 1)",
            set: { $0.backlogDrainRatio = $1 }, get: { $0.backlogDrainRatio }),
        .double("consumerDelayMicros", 0, 10_000_000, "µs per record", \.consumerDelayMicros),
        .choice("mode", \.mode),
        .double("maxP99Millis", 0.001, 600_000, "ms", \.maxP99Millis),
        .double("reportIntervalSeconds", 0.1, 3_600, "seconds", \.reportIntervalSeconds),
        .text("config", "map of Kafka properties", example: "config.acks=all", prefix: "config.") { w, kv in
            let (k, v) = kv.splitOnce()
            w.config[k] = v
        } get: { w in w.config.sorted { $0.key < $1.key }.map { "config.\($0.key)=\($0.value)" }.first },
        .text("logDir", "path", example: "/tmp/weir-bench") { $0.logDir = $1 } get: { $0.logDir },
        .text("driverClass", "string (OMB; recorded only)", example: "x") { $0.driverClass = $1 } get: { $0.driverClass },
        .text("topic", "an existing topic to produce to or consume from", example: "orders") { w, v in
            guard !v.isEmpty else { throw WorkloadField.Invalid() }
            w.topic = v
        } get: { $0.topic },
        .number(
            "transactionDurationMs", 1, 3_600_000, "ms per transaction (with transactional.id)",
            set: { $0.transactionDurationMs = $1 }, get: { $0.transactionDurationMs }),
        .text(
            "faults",
            "list of {kind, at, duration[, broker]} or KIND@AT+DURATION,…; kinds: pauseConsumers, restartConsumer, stallAppends, brokerDown",
            example: "pauseConsumers@1+2"
        ) { $0.faults = try Fault.parseList($1) } get: { w in
            w.faults.map { list in
                list.map { f in
                    let at = WorkloadFieldRange.plain(f.atSeconds), d = WorkloadFieldRange.plain(f.durationSeconds)
                    return "\(f.kind.rawValue)\(f.broker.map { ":\($0)" } ?? "")@\(at)+\(d)"
                }.joined(separator: ",")
            }
        },
        .text("pattern", "a pattern scenario: see `weir bench list`", example: PatternScenario.all.first?.name ?? "") { w, v in
            guard PatternScenario.named(v) != nil else {
                throw BenchError.usage("pattern: '\(v)' is not valid; allowed: \(PatternScenario.all.map(\.name).joined(separator: ", ")).")
            }
            w.pattern = v
        } get: { $0.pattern },
        .text("pattern.KEY", "an option of the pattern scenario", example: "pattern.KEY=v", prefix: "pattern.") { w, kv in
            let (k, v) = kv.splitOnce()
            w.patternOptions = (w.patternOptions ?? [:]).merging([k: v]) { $1 }
        } get: { w in (w.patternOptions ?? [:]).sorted { $0.key < $1.key }.map { "pattern.\($0.key)=\($0.value)" }.first },
    ]

    /// The field named `key` (or whose prefix `key` starts with), with the text its setter takes.
    static func field(_ key: String, _ value: String) -> (WorkloadField, String)? {
        if let f = fields.first(where: { $0.name == key && $0.prefix == nil }) { return (f, value) }
        for f in fields { if let p = f.prefix, key.hasPrefix(p) { return (f, "\(key.dropFirst(p.count))=\(value)") } }
        return nil
    }

    /// Sets one field from its text form (`--set key=value`, or a scalar in a workload file).
    ///
    /// - Throws: `.usage` naming the field and what it accepts.
    public mutating func set(_ key: String, _ value: String) throws(BenchError) {
        guard let (f, text) = Self.field(key, value) else {
            throw .usage("unknown workload field '\(key)'. Known fields: \(Self.fields.map(\.name).joined(separator: ", ")).")
        }
        do { try f.apply(&self, text) } catch let e as BenchError { throw e } catch { throw Self.bad(key, value) }
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
        for f in Self.fields where f.validated {
            if let r = f.range, let v = f.number?(self) { try r.check(v) }
        }
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

extension String {
    /// `"KEY=VALUE"` → `("KEY", "VALUE")` (the value may contain `=`).
    fileprivate func splitOnce() -> (String, String) {
        let parts = split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}
