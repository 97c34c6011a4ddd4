public import WeirClientAPI

/// A pattern benchmark: wraps a step's client so that the load generator's records flow
/// through a pattern component (retry/DLQ, outbox relay, saga, idempotent consumer,
/// encryption, …) before the consumer side reports them.
///
/// The load generator is unchanged: it still produces open-loop at `producerRate`, stamps each
/// value with its intended send time and measures publish and end-to-end latency. A scenario's
/// client decides what "produced" and "consumed" mean for its pattern, e.g. the consumer side
/// of the DLQ scenario reports a record only when it was finally processed after its retries,
/// so `end_to_end` includes the retry delays.
///
/// A workload selects a scenario with `pattern: NAME` and passes options as
/// `pattern.KEY=VALUE` (`--set pattern.failureRate=0.1`).
public struct PatternScenario: Sendable {
    /// The scenario's name, summary and options (WeirWorkload validates workloads with them).
    public var spec: PatternSpec
    /// The value of the workload's `pattern` field.
    public var name: String { spec.name }
    /// One line for `weir bench list`.
    public var summary: String { spec.summary }
    /// Option keys the scenario accepts (after `pattern.`), with what each takes.
    public var options: [(name: String, help: String)] { spec.options }
    /// Wraps the step's client: the pattern's own topics and clients run on `client`; the
    /// returned client is what the load generator drives.
    public var wrap: @Sendable (_ workload: Workload, _ client: any MessagingClient) async throws(BenchError) -> any MessagingClient
    /// The named presets that measure this pattern (listed by `weir bench list` after the
    /// built-in ones); each step sets `pattern` to this scenario's name.
    public var presets: [Preset]

    public init(_ spec: PatternSpec, presets: [Preset] = [],
                wrap: @escaping @Sendable (_ workload: Workload, _ client: any MessagingClient) async throws(BenchError) -> any MessagingClient) {
        self.spec = spec
        self.presets = presets
        self.wrap = wrap
    }

    /// Every registered pattern scenario.
    public static var all: [PatternScenario] { _registry }

    public static func named(_ name: String) -> PatternScenario? { all.first { $0.name == name } }
}

/// One entry per pattern scenario file (`Sources/WeirBench/Patterns/`), in `PatternSpec.all`'s order.
let _registry: [PatternScenario] = [
    outboxScenario,
    sagaScenario,
    idempotentScenario,
    metricsOverheadScenario,
    dlqScenario,
    .encryption,
    .eventSourcing,
]
