import Foundation
public import WeirClientAPI

extension Workload {
    /// The largest value size a workload may ask for (16 MiB; Kafka's default
    /// `message.max.bytes` is 1 MiB).
    public static let maxMessageSize = 16 << 20

    /// `messageSize`'s range; a size in `messageSizeDistribution` is checked against it too.
    static let messageSizeRange = WorkloadFieldRange("messageSize", Double(BenchStamp.size), Double(maxMessageSize), integer: true)
    /// `randomizedPayloadPoolSize`'s range; `useRandomizedPayloads` names it too.
    static let poolSizeRange = WorkloadFieldRange("randomizedPayloadPoolSize", 1, 100_000, integer: true)

    /// Every field a workload file or `--set` accepts, declared once each with its name, type,
    /// range or choices and doc (the default is `Workload()`'s): `set(_:_:)`, `validate()`,
    /// `weir bench list --fields`, the `--help` texts and the usage errors all read this table.
    public static let table = PropertyTable<Workload>("workload", defaults: Workload(), [
        .text("name", allowed: "", "the step's name (a row in tables, a series in charts)", example: "run") { $0.name = $1 } get: { $0.name },
        .text("backend", type: "enum", allowed: Workload.backends.joined(separator: ", "),
              "the client: the embedded log, the generator's ceiling, a cluster, or one of this machine's baselines (`weir bench run machine`)",
              example: "null") { w, v in
            guard Workload.backends.contains(v) else { throw InvalidFieldValue() }
            w.backend = v
        } get: { $0.backend },
        .integer("topics", 1, 1_000_000, "topics (weir-bench-0 …)", \.topics),
        .integer("partitionsPerTopic", 1, 100_000, "partitions of each topic", \.partitionsPerTopic),
        .integer("producersPerTopic", 0, 10_000, "producers per topic", \.producersPerTopic),
        .integer("subscriptionsPerTopic", 0, 1_000, "consumer groups per topic (0 = produce only)", \.subscriptionsPerTopic),
        .integer("consumerPerSubscription", 1, 10_000, "consumers in each group", \.consumerPerSubscription),
        .decimal("producerRate", 0, 100_000_000, "records/s over all producers; 0 = max rate", \.producerRate),
        .integer("burst", 1, 1_000_000, "records scheduled at the same intended time", \.burst),
        .number(messageSizeRange, "value bytes", set: { $0.messageSize = Int($1) }, get: { Double($0.messageSize) }),
        .integer("messageSizeMax", 0, Double(maxMessageSize), "uniform sizes messageSize…messageSizeMax; 0 = fixed", \.messageSizeMax),
        .text("messageSizeDistribution", type: "map", allowed: "SIZE or LO-HI (bytes) → weight ≥ 0",
              "sizes drawn by weight (uniform within a range)", example: "100:70,1024-4096:30") {
            $0.messageSizeDistribution = try parseDistribution($1)
        } get: { w in
            w.messageSizeDistribution.map { $0.sorted { $0.key < $1.key }.map { "\($0.key):\(Int($0.value))" }.joined(separator: ",") }
        },
        .oneOf("payload", \.payload, "random (incompressible), json (events), text (to compressionRatio), zeros"),
        .decimal("compressionRatio", 1, 100, "lz4 ratio of text payloads", \.compressionRatio),
        .text("payloadFile", type: "list", allowed: "paths of non-empty files", "each file one payload (OMB)", example: "a.txt,b.txt") {
            $0.payloadFile = $1.split(separator: ",").map(String.init)
        } get: { $0.payloadFile.joined(separator: ",") },
        .flag("payloadLines", "each line of each payloadFile one payload", set: { $0.payloadLines = $1 }, get: { $0.payloadLines }),
        .flag("useRandomizedPayloads", "OMB: payloads of randomBytesRatio random bytes, then zeros",
              set: { $0.useRandomizedPayloads = $1 }, get: { $0.useRandomizedPayloads }),
        .number(WorkloadFieldRange("randomBytesRatio", 0, 1, integer: false), "OMB: the random fraction of a randomized payload",
                set: { $0.randomBytesRatio = $1 }, get: { $0.randomBytesRatio }),
        .number(poolSizeRange, "OMB: payloads in the randomized pool",
                set: { $0.randomizedPayloadPoolSize = Int($1) }, get: { $0.randomizedPayloadPoolSize.map(Double.init) }),
        .oneOf("keyDistributor", \.keyDistributor, "how records get keys (over keyCount)",
               allowed: "NO_KEY, KEY_ROUND_ROBIN, RANDOM_NANO, UNIFORM, ZIPFIAN",
               aliases: ["UNIFORM": .uniform, "RANDOM": .uniform, "SEQUENTIAL": .sequential, "NONE": .none]),
        .integer("keyCount", 1, 1_000_000, "distinct keys", \.keyCount),
        .decimal("zipfExponent", 0.01, 10, "ZIPFIAN skew", \.zipfExponent),
        .number(WorkloadFieldRange("testDurationMinutes", 0, 1_440, integer: true), "OMB: measured minutes (sets durationSeconds)",
                checked: false, set: { $0.durationSeconds = $1 * 60 }, get: { wholeMinutes($0.durationSeconds) }),
        .number(WorkloadFieldRange("warmupDurationMinutes", 0, 1_440, integer: true), "OMB: warmup minutes (sets warmupSeconds; OMB's default 1)",
                checked: false, set: { $0.warmupSeconds = $1 * 60 }, get: { wholeMinutes($0.warmupSeconds) }),
        .decimal("durationSeconds", 0, 86_400, "measured seconds", \.durationSeconds),
        .decimal("warmupSeconds", 0, 86_400, "warmup seconds (excluded from every statistic)", \.warmupSeconds),
        .integer("records", 0, 1_000_000_000_000, "stop after this many records; 0 = at durationSeconds", \.records),
        .decimal("drainTimeoutSeconds", 0, 3_600, "wait at the end for acknowledgements and consumers", \.drainTimeoutSeconds),
        .oneOf("scenario", \.scenario, "backlog: consumers start after consumerBacklogSizeGB; slowConsumer: consumerDelayMicros per record"),
        .number(WorkloadFieldRange("consumerBacklogSizeGB", 0, 1_024, integer: false),
                "OMB: backlog (10^9 bytes) to build before consumers start; > 0 selects scenario backlog") { w, v in
            w.consumerBacklogSizeGB = v
            // OMB: a backlog size above 0 is the backlog scenario (consumers start once it is built).
            if v > 0 && w.scenario == .steady { w.scenario = .backlog }
        } get: { $0.consumerBacklogSizeGB },
        .number(WorkloadFieldRange("backlogDrainRatio", 0, 1, integer: false), "OMB: fraction of the backlog that must drain (1 when unset)",
                set: { $0.backlogDrainRatio = $1 }, get: { $0.backlogDrainRatio }),
        .decimal("consumerDelayMicros", 0, 10_000_000, "slowConsumer: pause per record (µs)", \.consumerDelayMicros),
        .oneOf("mode", \.mode, "findMaxRate: search the highest rate whose publish p99 stays under maxP99Millis"),
        .decimal("maxP99Millis", 0.001, 600_000, "findMaxRate: the publish p99 bound (ms)", \.maxP99Millis),
        .decimal("reportIntervalSeconds", 0.1, 3_600, "seconds between live lines", \.reportIntervalSeconds),
        .text("config.KEY", type: "map", allowed: "Kafka properties", "a Kafka property (config: in files, --config)",
              example: "config.acks=all", prefix: "config.") { w, kv in
            let (k, v) = kv.splitOnce()
            w.config[k] = v
        } get: { w in w.config.sorted { $0.key < $1.key }.map { "config.\($0.key)=\($0.value)" }.first },
        .text("logDir", allowed: "", "the embedded log's directory (kept); default a fresh temporary one", example: "/tmp/weir-bench") {
            $0.logDir = $1
        } get: { $0.logDir },
        .text("driverClass", allowed: "", "OMB: recorded only", example: "x") { $0.driverClass = $1 } get: { $0.driverClass },
        .text("topic", allowed: "a topic name", "an existing topic to produce to or consume from", example: "orders") { w, v in
            guard !v.isEmpty else { throw InvalidFieldValue() }
            w.topic = v
        } get: { $0.topic },
        .number(WorkloadFieldRange("transactionDurationMs", 1, 3_600_000, integer: false), "ms per transaction (with transactional.id)",
                set: { $0.transactionDurationMs = $1 }, get: { $0.transactionDurationMs }),
        .text("faults", type: "list", allowed: "{kind, at, duration[, broker]} or KIND@AT+DURATION,…",
              "faults on the timeline: pauseConsumers, restartConsumer, stallAppends, brokerDown", example: "pauseConsumers@1+2") {
            $0.faults = try Fault.parseList($1)
        } get: { w in
            w.faults.map { list in
                list.map { f in
                    let at = WorkloadFieldRange.plain(f.atSeconds), d = WorkloadFieldRange.plain(f.durationSeconds)
                    return "\(f.kind.rawValue)\(f.broker.map { ":\($0)" } ?? "")@\(at)+\(d)"
                }.joined(separator: ",")
            }
        },
        .text("pattern", type: "enum", allowed: PatternSpec.all.map(\.name).joined(separator: ", "), "a pattern scenario the records flow through",
              example: PatternSpec.all.first?.name ?? "") { w, v in
            guard PatternSpec.named(v) != nil else { throw InvalidFieldValue() }
            w.pattern = v
        } get: { $0.pattern },
        .text("pattern.KEY", type: "map", allowed: "the options of the pattern", "an option of the pattern scenario (patternOptions: in files)",
              example: "pattern.KEY=v", prefix: "pattern.") { w, kv in
            let (k, v) = kv.splitOnce()
            w.patternOptions = (w.patternOptions ?? [:]).merging([k: v]) { $1 }
        } get: { w in (w.patternOptions ?? [:]).sorted { $0.key < $1.key }.map { "pattern.\($0.key)=\($0.value)" }.first },
    ])

    /// `seconds` in whole minutes, nil when not whole (what the OMB minute fields read back).
    static func wholeMinutes(_ seconds: Double) -> Double? { seconds.truncatingRemainder(dividingBy: 60) == 0 ? seconds / 60 : nil }

    /// Sets one field from its text form (`--set key=value`, or a scalar in a workload file).
    ///
    /// - Throws: `.usage` naming the field and what it accepts.
    public mutating func set(_ key: String, _ value: String) throws(BenchError) {
        guard let (spec, text) = Self.table.lookup(key, value) else {
            throw .usage("unknown workload field '\(key)'. Known fields: \(Self.table.names.joined(separator: ", ")).")
        }
        do throws(PropertyError) { try spec.set(&self, text) } catch { throw .usage(error.message) }
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
        let sizeRange = messageSizeRange
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
        do throws(PropertyError) { try Self.table.check(self) } catch { throw .usage(error.message) }
        if let d = messageSizeDistribution { _ = try Self.sizeBuckets(d) }
        if useRandomizedPayloads == true && randomizedPayloadPoolSize == nil {
            throw .usage("useRandomizedPayloads: true needs randomizedPayloadPoolSize (\(Self.poolSizeRange.text)), as in OMB.")
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
            guard let scenario = PatternSpec.named(pattern) else {
                throw .usage("pattern: '\(pattern)' is not valid; allowed: \(Self.table.spec("pattern")?.allowed ?? "").")
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
