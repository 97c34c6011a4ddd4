/// One benchmark step: topology, rate, payload, keys, timing, scenario and Kafka properties.
///
/// Field names follow OpenMessaging Benchmark's workload files where they overlap (`topics`,
/// `partitionsPerTopic`, `messageSize`, `payloadFile`, `producersPerTopic`,
/// `subscriptionsPerTopic`, `consumerPerSubscription`, `producerRate`, `testDurationMinutes`,
/// `warmupDurationMinutes`, `consumerBacklogSizeGB`, `keyDistributor`); the rest are Weir's own
/// and are declared in `Workload.table`.
public struct Workload: Sendable, Codable, Equatable {
    /// The step's name (a row in tables, a series in charts).
    public var name = "run"
    /// `embedded` (the in-process log), `null` (the generator's ceiling), `kafka` (a cluster
    /// through librdkafka) or a `machine.*` baseline (`weir bench run machine`).
    public var backend = "embedded"
    /// Every value `backend` takes.
    public static let backends = ["embedded", "null", "kafka", "machine.pwrite", "machine.pwrite-kept", "machine.pwrite-fdatasync", "machine.handoff"]
    public var topics = 1
    public var partitionsPerTopic = 1
    public var producersPerTopic = 1
    /// Consumer groups per topic (0 = produce only).
    public var subscriptionsPerTopic = 1
    /// Consumers in each group.
    public var consumerPerSubscription = 1
    /// Total records per second over all producers, 0…100,000,000; 0 = max rate (unthrottled).
    public var producerRate: Double = 10_000
    /// Records per burst: records are scheduled in groups of this many at the same intended
    /// time, at the same average rate (1 = evenly spaced).
    public var burst = 1
    /// Value size in bytes, 8…16 MiB.
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
    /// A pattern scenario (`PatternSpec.all`: retry/DLQ, outbox, saga, …) the step's records
    /// flow through; nil = none.
    public var pattern: String?
    /// The pattern scenario's options, as `pattern.KEY=VALUE`.
    public var patternOptions: [String: String]?

    /// OMB's `useRandomizedPayloads`: each payload is `randomBytesRatio` × `messageSize` random
    /// bytes followed by zeros, from a pool of `randomizedPayloadPoolSize` payloads (nil = false).
    public var useRandomizedPayloads: Bool?
    /// OMB's `randomBytesRatio`: the random fraction of a randomized payload, 0…1.
    public var randomBytesRatio: Double?
    /// OMB's `randomizedPayloadPoolSize`: how many randomized payloads the pool holds.
    public var randomizedPayloadPoolSize: Int?
    /// OMB's `backlogDrainRatio` (default 1.0): the fraction of the backlog the consumers must
    /// drain before it counts as drained; 0 = do not wait for the drain.
    public var backlogDrainRatio: Double?
    /// Message sizes by weight: `"SIZE"` or `"LO-HI"` (bytes) → weight, e.g.
    /// `{ "100": 70, "1024-4096": 30 }` (the size-distribution extension of OMB workloads).
    public var messageSizeDistribution: [String: Double]?
    /// OMB's `driverClass`, recorded only (Weir picks its backend with `backend`).
    public var driverClass: String?
    /// An existing topic the step produces to or consumes from (`weir bench produce` /
    /// `weir bench consume`) instead of creating `weir-bench-N`; its partition count is the
    /// topic's own. With no producers, the consumers read it from the beginning.
    public var topic: String?
    /// Transactional producers (`transactional.id` in `config`): each commits a transaction
    /// every this many ms of its schedule (kafka-producer-perf-test's
    /// `--transaction-duration-ms`); nil = 3000 when `transactional.id` is set.
    public var transactionDurationMs: Double?
    /// Faults on the step's timeline (`faults:` in a workload file, `--set faults=…`).
    public var faults: [Fault]?
    /// `--worker I/N`: run only this share of the producers and consumers (nil = all).
    public var worker: WorkerShare?
    /// `--run-id ID`: the last part of the step's consumer group names
    /// (`weir-bench-group-G.TOPIC.ID`); nil = a fresh random one per run, so that no run
    /// resumes an earlier run's group offsets (OMB names its subscriptions afresh per test).
    /// The workers of one run (`--worker I/N`, N > 1, with consumers) must share one.
    public var runID: String?

    public init() {}

    public enum PayloadKind: String, Sendable, Codable, CaseIterable { case random, json, text, zeros }
    public enum KeyDistribution: String, Sendable, Codable, CaseIterable {
        case none = "NO_KEY", sequential = "KEY_ROUND_ROBIN", uniform = "RANDOM_NANO", zipfian = "ZIPFIAN"
    }
    public enum Scenario: String, Sendable, Codable, CaseIterable { case steady, backlog, slowConsumer }
    public enum Mode: String, Sendable, Codable, CaseIterable { case fixed, findMaxRate }

    /// True when producers run unthrottled.
    public var isMaxRate: Bool { producerRate <= 0 }

    /// The Kafka properties of this step, for reports (`--config` plus nothing implicit).
    public var topicNames: [String] { topic.map { [$0] } ?? (0..<topics).map { "\(topicStem ?? "weir-bench")-\($0)" } }

    /// The stem of the topics a step creates (`STEM-0`, `STEM-1` …); nil = `weir-bench`. A run
    /// sets it to `weir-bench-pP` when an existing `weir-bench-N` has another partition count
    /// than the step's `partitionsPerTopic` = P (a sweep over partitions on one log directory or
    /// cluster), so that no step runs on a topic of another size.
    public var topicStem: String?

    /// A consume-only step: no producers, consumers reading an existing `topic` from its start.
    public var isConsumeOnly: Bool { topic != nil && producersPerTopic == 0 && subscriptionsPerTopic > 0 }

}

