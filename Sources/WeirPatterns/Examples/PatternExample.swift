public import WeirClient

/// A runnable example of one pattern (`weir example NAME`): a short program that uses the
/// component the way an application would and prints what happens.
public struct PatternExample: Sendable {
    /// The name `weir example` takes.
    public var name: String
    /// One line for `weir example --list`.
    public var summary: String
    /// Runs the example on `client`. `workDirectory` is a fresh directory for the example's own
    /// files (SQLite databases); `output` prints one line.
    public var run: @Sendable (_ client: any MessagingClient, _ workDirectory: String, _ output: @escaping @Sendable (String) -> Void) async throws -> Void

    public init(name: String, summary: String,
                run: @escaping @Sendable (_ client: any MessagingClient, _ workDirectory: String, _ output: @escaping @Sendable (String) -> Void) async throws -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }

    /// Every example.
    public static var all: [PatternExample] { _examples }

    public static func named(_ name: String) -> PatternExample? { all.first { $0.name == name } }
}

/// One entry per example file in this folder.
let _examples: [PatternExample] = [
    outboxExample,
    idempotentConsumerExample,
    sagaExample,
    observabilityExample,
    gracefulShutdownExample,
    retryDLQExample,
    circuitBreakerExample,
    eventSourcingExample,
    cqrsExample,
    schemaEvolutionExample,
    encryptionExample,
    rebalanceSafeStateExample,
]
