/// What a workload file may say about a pattern scenario (`pattern: NAME`,
/// `pattern.KEY=VALUE`): its name, one line for `weir bench list`, and the option keys it
/// accepts. The scenarios themselves (`PatternScenario` in WeirBench, which runs them on
/// WeirPatterns' components) take their name and options from here, so that loading and
/// validating a workload needs no pattern component.
public struct PatternSpec: Sendable {
    /// The value of the workload's `pattern` field.
    public var name: String
    /// One line for `weir bench list`.
    public var summary: String
    /// Option keys the scenario accepts (after `pattern.`), with what each takes.
    public var options: [(name: String, help: String)]

    public init(name: String, summary: String, options: [(name: String, help: String)]) {
        self.name = name
        self.summary = summary
        self.options = options
    }

    /// Every pattern scenario, in `weir bench list`'s order (`PatternScenario.all` has one
    /// scenario per entry, in the same order).
    public static let all: [PatternSpec] = [outbox, saga, idempotent, metricsOverhead, dlq, encryption, eventSourcing]

    public static func named(_ name: String) -> PatternSpec? { all.first { $0.name == name } }

    public static let dlq = PatternSpec(
        name: "dlq",
        summary: "retry topics with backoff and a dead-letter topic under a given failure rate",
        options: [
            ("failureRate", "fraction of first attempts that fail, 0...1 (default 0.1)"),
            ("retryFailureRate", "fraction of retries that fail again, 0...1 (default 0.5)"),
            ("nonRetriableRate", "fraction of failures that are non-retriable (straight to the DLQ), 0...1 (default 0)"),
            ("maxRetries", "retries before the DLQ, 0...20 (default 3)"),
            ("baseBackoffMs", "delay before the first retry in ms, 1...600000 (default 50); doubles per retry, full jitter"),
            ("maxBackoffMs", "longest retry delay in ms (default 1000)"),
        ]
    )
    public static let encryption = PatternSpec(
        name: "encryption",
        summary: "AES-256-GCM message encryption (EncryptingProducer + MessageCipher.decrypt) against the same client path in plaintext",
        options: [("encrypt", "true | false (default true): encrypt before send, decrypt before the consumer reports"),
            ("inFlight", "concurrent sends per producer (default 256)")]
    )
    public static let eventSourcing = PatternSpec(
        name: "event-sourcing",
        summary: "EventStore appends with expected version over N aggregates; a CQRS projection into SQLite; end_to_end = appended → queryable",
        options: [("aggregates", "number of aggregates (default 1000)"),
            ("writers", "concurrent appenders, each owning aggregates a % writers (default 128)")]
    )
    public static let idempotent = PatternSpec(
        name: "idempotent",
        summary: "idempotent consumer (ids in SQLite, same transaction as the handler) versus a plain consumer",
        options: [
            ("consumer", "plain | idempotent (default idempotent)"),
            ("duplicateRate", "fraction of records redelivered once (default 0)"),
        ]
    )
    public static let metricsOverhead = PatternSpec(
        name: "metrics-overhead",
        summary: "consumer handler instrumented with ProcessingMetrics (Prometheus histogram per record) vs. not",
        options: [("instrument", "metrics (default) or none")]
    )
    public static let outbox = PatternSpec(
        name: "outbox",
        summary: "transactional outbox: entity+outbox rows in SQLite, relay publishes in order per aggregate",
        options: [
            ("aggregates", "distinct aggregate ids the records cycle through (default 64)"),
            ("relayBatch", "rows the relay reads per round (default 256)"),
            ("writeBatch", "records per SQLite transaction at most (default 64; 1 = one transaction per record)"),
        ]
    )
    public static let saga = PatternSpec(
        name: "saga",
        summary: "orchestrated saga per record; end-to-end = until SagaCompleted/SagaCompensated is consumed",
        options: [
            ("steps", "steps per saga (default 3)"),
            ("compensationRate", "fraction of sagas whose last step fails and that are compensated (default 0.1)"),
            ("stepMicros", "simulated work per step and compensation, µs (default 0)"),
        ]
    )
}
