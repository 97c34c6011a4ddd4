import Foundation
import Synchronization
public import WeirClient
import WeirFormat
import WeirLog

/// One step of a saga: an action and the compensation that undoes it.
///
/// **Both must be idempotent.** After a crash the orchestrator re-runs the step that was in
/// flight (its action may have run, its `StepCompleted` not been written) and re-runs a
/// compensation whose `CompensationCompleted` was not written. Use the saga id in the context
/// as an idempotency key towards the services the step calls.
public struct SagaStep<Context: Codable & Sendable>: Sendable {
    public var name: String
    /// Does the step's work and returns the context for the next steps.
    public var action: @Sendable (Context) async throws -> Context
    /// Undoes the step's work, given the context the saga had when it failed.
    public var compensation: @Sendable (Context) async throws -> Void

    public init(_ name: String, action: @escaping @Sendable (Context) async throws -> Context,
                compensation: @escaping @Sendable (Context) async throws -> Void) {
        self.name = name
        self.action = action
        self.compensation = compensation
    }
}

/// A saga: a name (which names its events topic) and its steps, in order.
public struct SagaDefinition<Context: Codable & Sendable>: Sendable {
    public var name: String
    public var steps: [SagaStep<Context>]

    public init(name: String, steps: [SagaStep<Context>]) {
        self.name = name
        self.steps = steps
    }

    /// `<name>.saga.events`.
    public var eventsTopic: String { "\(name).saga.events" }
}

/// How a saga ended.
public enum SagaOutcome: Sendable, Hashable {
    /// Every step succeeded; the final context as JSON.
    case completed(context: String)
    /// A step failed and every completed step was compensated.
    case compensated(reason: String)
    /// A compensation kept failing; an operator must finish the saga.
    case failed(reason: String)
}

/// Where the crash hook is asked whether to crash the orchestrator (tests).
public enum SagaCrashPoint: Sendable, Hashable {
    /// Step `step`'s action returned, before its `StepCompleted` was written.
    case afterAction(sagaId: String, step: Int)
    /// After an event was written.
    case afterEvent(SagaEvent.Kind, sagaId: String, step: Int?)
}

/// A saga failure.
public typealias SagaError = PatternError<SagaErrorCode>

/// What kind of saga failure a `SagaError` is.
public enum SagaErrorCode: String, PatternErrorCode {
    /// Writing or reading the events topic failed.
    case client
    /// The orchestrator crashed (the crash hook fired) or was shut down; start a new one on
    /// the same topic to resume.
    case orchestratorStopped
    /// A saga with this id is already running or finished.
    case duplicateSaga
    /// A context could not be encoded or decoded as JSON.
    case context
    /// No saga with this id is known.
    case unknownSaga
    case invalidConfiguration

    public static var descriptionPrefix: String { "saga " }
}

/// How a `SagaOrchestrator` works.
public struct SagaConfiguration: Sendable {
    /// Partitions of the events topic when it is created.
    public var partitions = 1
    /// Attempts of an action that throws a retriable error (`ClassifiedError.isRetriable`)
    /// before the step counts as failed; a non-retriable error fails it at once.
    public var maxStepAttempts = 3
    /// Attempts of a compensation before the saga ends `SagaFailed`.
    public var maxCompensationAttempts = 5
    /// Backoff between attempts: doubles from this.
    public var retryBackoff: Duration = .milliseconds(20)
    /// Extra producer properties for the events producer (`linger.ms`, …). It always uses
    /// `enable.idempotence=true` and `acks=all`: an event is durable before the next step runs.
    public var producerProperties: [String: String] = ["linger.ms": "0"]
    /// Outcomes kept for `outcome(of:)` and duplicate detection in `begin` (oldest dropped
    /// first), so a long-running orchestrator's memory stays bounded; the topic keeps them all.
    public var retainedOutcomes = 10_000
    /// Called with each saga's outcome.
    public var onOutcome: (@Sendable (_ sagaId: String, _ outcome: SagaOutcome) -> Void)?
    /// Crash injection for tests: return true to stop the orchestrator at that point as if its
    /// process died (nothing more is written).
    public var crashHook: (@Sendable (SagaCrashPoint) -> Bool)?

    public init() {}
}

/// Runs sagas (orchestration): each step's action in order; on a failure the completed steps'
/// compensations in reverse order. Every transition is an event on the saga events topic
/// (`SagaEvent`), written with an idempotent `acks=all` producer **before** the saga moves on,
/// so the topic is the saga's state:
///
/// `SagaStarted → StepCompleted(0) → … → SagaCompleted`, or
/// `… → StepFailed(i, reason) → CompensationCompleted(i-1) → … → SagaCompensated(reason)`.
///
/// `start()` replays the topic and resumes every unfinished saga where it stopped: it re-runs
/// the step that was in flight (steps must be idempotent) or goes on compensating. Run one
/// orchestrator per saga definition at a time.
///
/// ```swift
/// let orchestrator = SagaOrchestrator(client: client, definition: orderSaga)
/// try await orchestrator.start()
/// let outcome = try await orchestrator.execute(id: order.id, context: order)
/// ```
public final class SagaOrchestrator<Context: Codable & Sendable>: Sendable {
    public let client: any MessagingClient
    public let definition: SagaDefinition<Context>
    public let configuration: SagaConfiguration
    let producer = Mutex<(any MessageProducer)?>(nil)
    let crashed = Atomic<Bool>(false)
    let sagas = Mutex<[String: _Slot]>([:])
    let finishedOrder = Mutex<[String]>([])
    let tasks = Mutex<[String: Task<Void, Never>]>([:])

    struct _Slot {
        var outcome: SagaOutcome?
        var waiters: [CheckedContinuation<SagaOutcome?, Never>] = []
    }

    public init(client: any MessagingClient, definition: SagaDefinition<Context>, configuration: SagaConfiguration = SagaConfiguration()) {
        self.client = client
        self.definition = definition
        self.configuration = configuration
    }

    /// Whether the crash hook stopped this orchestrator (or `shutdown` did).
    public var isStopped: Bool { crashed.load(ordering: .relaxed) }

    /// Creates the events topic when missing, replays it and resumes every unfinished saga
    /// (in the background). Returns the ids of the resumed sagas.
    @discardableResult
    public func start() async throws(SagaError) -> [String] {
        do { try await client.ensureTopic(definition.eventsTopic, partitions: configuration.partitions, configs: [:]) } catch {
            throw SagaError(.client, "cannot create the saga events topic '\(definition.eventsTopic)': \(error.message)", isRetriable: error.isRetriable)
        }
        var props = configuration.producerProperties
        props["enable.idempotence"] = "true"
        props["acks"] = "all"
        do {
            let p = try await client.makeProducer(properties: props)
            producer.withLock { $0 = p }
        } catch {
            throw SagaError(.client, "cannot create the saga events producer: \(error.message)", isRetriable: error.isRetriable)
        }
        let states = try await replay()
        var resumed: [String] = []
        for (id, state) in states.sorted(by: { $0.key < $1.key }) {
            if state.isTerminal {
                sagas.withLock { $0[id] = _Slot(outcome: Self.outcome(of: state)) }
                retire(id)
            } else {
                sagas.withLock { $0[id] = _Slot() }
                resumed.append(id)
                launch(id) { await self.drive(id, state) }
            }
        }
        return resumed
    }

    /// Folds the whole events topic into each saga's state (this definition's sagas only).
    public func replay() async throws(SagaError) -> [String: SagaState] {
        let topic = definition.eventsTopic
        let consumer: any MessageConsumer
        var states: [String: SagaState] = [:]
        do {
            let n = try await client.partitionCount(topic)
            let partitions = (0..<n).map { TopicPartition(topic, Int32($0)) }
            let ends = try await client.endOffsets(partitions)
            consumer = try await client.makeConsumer(properties: ["auto.offset.reset": "earliest"])
            try await consumer.assign(partitions)
            var remaining = Set(partitions.filter { (ends[$0] ?? 0) > 0 })
            var idle = 0
            while !remaining.isEmpty && idle < 20 {
                let records = try await consumer.poll(timeout: .milliseconds(100))
                idle = records.isEmpty ? idle + 1 : 0
                for r in records {
                    if r.offset + 1 >= (ends[r.topicPartition] ?? 0) { remaining.remove(r.topicPartition) }
                    guard let v = r.value, let e = SagaEvent.decode(v), e.saga == definition.name else { continue }
                    if let s = SagaState.fold(states[e.sagaId], e) { states[e.sagaId] = s }
                }
            }
            await consumer.close()
        } catch {
            throw SagaError(.client, "cannot replay '\(topic)': \(error.message)", isRetriable: error.isRetriable)
        }
        return states
    }

    /// Starts saga `id` (a new UUID when nil) with `context`: writes `SagaStarted` (durably) and runs the saga in the
    /// background. Returns once `SagaStarted` is acknowledged.
    ///
    /// - Throws: `.duplicateSaga` when `id` is known, `.client` when the event cannot be written.
    public func begin(id: String? = nil, context: Context) async throws(SagaError) -> String {
        let id = id ?? UUID().uuidString
        let json = try Self.encode(context)
        let fresh = sagas.withLock { s -> Bool in
            if s[id] != nil { return false }
            s[id] = _Slot()
            return true
        }
        guard fresh else { throw SagaError(.duplicateSaga, "saga '\(id)' is already running or finished; use a new id.") }
        do {
            try await write(SagaEvent(type: .sagaStarted, sagaId: id, saga: definition.name, context: json))
        } catch {
            sagas.withLock { $0[id] = nil }
            throw error
        }
        launch(id) { await self.drive(id, .running(nextStep: 0, context: json)) }
        return id
    }

    /// Runs saga `id` to its end and returns the outcome.
    public func execute(id: String? = nil, context: Context) async throws(SagaError) -> SagaOutcome {
        let id = try await begin(id: id, context: context)
        return try await outcome(of: id)
    }

    /// Waits for saga `id`'s outcome.
    ///
    /// - Throws: `.orchestratorStopped` when the orchestrator crashed or shut down first,
    ///   `.unknownSaga` for an id it does not know.
    public func outcome(of id: String) async throws(SagaError) -> SagaOutcome {
        guard sagas.withLock({ $0[id] != nil }) else {
            throw SagaError(.unknownSaga, "no saga '\(id)' is known to this orchestrator; begin it, or start() to replay the topic.")
        }
        let r: SagaOutcome? = await withCheckedContinuation { (c: CheckedContinuation<SagaOutcome?, Never>) in
            let immediate = sagas.withLock { s -> SagaOutcome?? in
                guard var slot = s[id] else { return .some(nil) }
                if let o = slot.outcome { return .some(o) }
                if crashed.load(ordering: .relaxed) { return .some(nil) }
                slot.waiters.append(c)
                s[id] = slot
                return .none
            }
            if let immediate { c.resume(returning: immediate) }
        }
        guard let r else {
            throw SagaError(.orchestratorStopped, "the orchestrator stopped before saga '\(id)' ended; start a new one on '\(definition.eventsTopic)' to resume it.")
        }
        return r
    }

    /// Stops running sagas where they are (as a crash would; a new orchestrator resumes them)
    /// and closes the producer.
    public func shutdown() async {
        crashed.store(true, ordering: .relaxed)
        let running = tasks.withLock { $0 }
        for t in running.values { await t.value }
        failWaiters()
        if let p = producer.withLock({ p -> (any MessageProducer)? in defer { p = nil }; return p }) { await p.close() }
    }

    // MARK: - Driving a saga

    struct _Crash: Error {}

    func launch(_ id: String, _ body: @escaping @Sendable () async -> Void) {
        tasks.withLock { t in
            t[id] = Task {
                await body()
                _ = self.tasks.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    /// Runs saga `id` from `state` to its end (or to a crash).
    func drive(_ id: String, _ state: SagaState) async {
        do {
            let outcome = try await advance(id, state)
            finish(id, outcome)
        } catch {
            // A crash or shutdown: leave the saga where its events say it is.
            failWaiters()
        }
    }

    func advance(_ id: String, _ start: SagaState) async throws(_Crash) -> SagaOutcome {
        var state = start
        let steps = definition.steps
        while true {
            switch state {
            case .running(let next, let json):
                if next >= steps.count {
                    try await emit(SagaEvent(type: .sagaCompleted, sagaId: id, saga: definition.name, context: json))
                    return .completed(context: json)
                }
                let step = steps[next]
                switch await attempt(step.name, attempts: configuration.maxStepAttempts, { () async throws -> Context in
                    try await step.action(try Self.decode(json))
                }) {
                case .success(let ctx):
                    if configuration.crashHook?(.afterAction(sagaId: id, step: next)) == true { crash() }
                    try checkAlive()
                    let newJSON = (try? Self.encode(ctx)) ?? json
                    try await emit(SagaEvent(type: .stepCompleted, sagaId: id, saga: definition.name, step: next, stepName: step.name, context: newJSON))
                    state = .running(nextStep: next + 1, context: newJSON)
                case .failure(let e):
                    let reason = "step \(next) '\(step.name)' failed: \(e)"
                    try await emit(SagaEvent(type: .stepFailed, sagaId: id, saga: definition.name, step: next, stepName: step.name, context: json, reason: reason))
                    state = .compensating(nextStep: next - 1, context: json, reason: reason)
                }
            case .compensating(let next, let json, let reason):
                if next < 0 {
                    try await emit(SagaEvent(type: .sagaCompensated, sagaId: id, saga: definition.name, context: json, reason: reason))
                    return .compensated(reason: reason)
                }
                let step = steps[next]
                switch await attempt(step.name, attempts: configuration.maxCompensationAttempts, retryAll: true, { () async throws -> Void in
                    try await step.compensation(try Self.decode(json))
                }) {
                case .success:
                    try await emit(SagaEvent(type: .compensationCompleted, sagaId: id, saga: definition.name, step: next, stepName: step.name, context: json, reason: reason))
                    state = .compensating(nextStep: next - 1, context: json, reason: reason)
                case .failure(let e):
                    let why = "compensation of step \(next) '\(step.name)' failed \(configuration.maxCompensationAttempts) time(s): \(e) (after: \(reason)); finish it by hand."
                    try await emit(SagaEvent(type: .sagaFailed, sagaId: id, saga: definition.name, step: next, stepName: step.name, context: json, reason: why))
                    return .failed(reason: why)
                }
            case .completed(let json): return .completed(context: json)
            case .compensated(let r): return .compensated(reason: r)
            case .failed(let r): return .failed(reason: r)
            }
        }
    }

    /// Runs `body` up to `attempts` times: again after a retriable error (any error when
    /// `retryAll`), with doubling backoff.
    func attempt<T>(_ name: String, attempts: Int, retryAll: Bool = false, _ body: () async throws -> T) async -> Result<T, any Error> {
        var backoff = configuration.retryBackoff
        var last: any Error = SagaError(.invalidConfiguration, "\(name): no attempt made (attempts=\(attempts)); use at least 1.")
        for i in 0..<max(attempts, 1) {
            if crashed.load(ordering: .relaxed) { break }
            do { return .success(try await body()) } catch {
                last = error
                let retriable = retryAll || ((error as? any ClassifiedError)?.isRetriable ?? false)
                guard retriable, i + 1 < attempts else { break }
                try? await Task.sleep(for: backoff)
                backoff *= 2
            }
        }
        return .failure(last)
    }

    func emit(_ event: SagaEvent) async throws(_Crash) {
        try checkAlive()
        // Writing the event is retried until it succeeds or the orchestrator stops: the saga
        // cannot move on before its state is durable.
        var backoff = configuration.retryBackoff
        while true {
            do {
                try await write(event)
                break
            } catch {
                try checkAlive()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        if configuration.crashHook?(.afterEvent(event.type, sagaId: event.sagaId, step: event.step)) == true { crash() }
        try checkAlive()
    }

    func write(_ event: SagaEvent) async throws(SagaError) {
        guard let p = producer.withLock({ $0 }) else {
            throw SagaError(.orchestratorStopped, "the orchestrator is not started or was shut down; call start().")
        }
        let record = ProducerRecord(topic: definition.eventsTopic, key: Array(event.sagaId.utf8), value: event.encoded(),
                                    headers: [RecordHeader(key: SagaEvent.typeHeader, value: Array(event.type.rawValue.utf8))])
        do { _ = try await p.send(record) } catch {
            throw SagaError(.client, "cannot write \(event.type.rawValue) of saga '\(event.sagaId)': \(error.message)", isRetriable: error.isRetriable)
        }
    }

    func crash() {
        crashed.store(true, ordering: .relaxed)
    }

    func checkAlive() throws(_Crash) {
        if crashed.load(ordering: .relaxed) { throw _Crash() }
    }

    func finish(_ id: String, _ outcome: SagaOutcome) {
        let waiters = sagas.withLock { s -> [CheckedContinuation<SagaOutcome?, Never>] in
            let w = s[id]?.waiters ?? []
            s[id] = _Slot(outcome: outcome)
            return w
        }
        for w in waiters { w.resume(returning: outcome) }
        retire(id)
        configuration.onOutcome?(id, outcome)
    }

    /// Remembers a finished saga; forgets the oldest beyond `retainedOutcomes`.
    func retire(_ id: String) {
        let evicted = finishedOrder.withLock { order -> [String] in
            order.append(id)
            let excess = order.count - max(configuration.retainedOutcomes, 0)
            guard excess > max(64, order.count / 4) || (excess > 0 && configuration.retainedOutcomes < 64) else { return [] }
            defer { order.removeFirst(excess) }
            return Array(order.prefix(excess))
        }
        if !evicted.isEmpty { sagas.withLock { s in for id in evicted where s[id]?.outcome != nil { s[id] = nil } } }
    }

    func failWaiters() {
        guard crashed.load(ordering: .relaxed) else { return }
        let waiters = sagas.withLock { s -> [CheckedContinuation<SagaOutcome?, Never>] in
            var all: [CheckedContinuation<SagaOutcome?, Never>] = []
            for (id, slot) in s where !slot.waiters.isEmpty {
                all += slot.waiters
                s[id]?.waiters = []
            }
            return all
        }
        for w in waiters { w.resume(returning: nil) }
    }

    static func outcome(of state: SagaState) -> SagaOutcome? {
        switch state {
        case .completed(let c): .completed(context: c)
        case .compensated(let r): .compensated(reason: r)
        case .failed(let r): .failed(reason: r)
        default: nil
        }
    }

    static func encode(_ context: Context) throws(SagaError) -> String {
        do { return String(decoding: try SagaEvent._encoder.encode(context), as: UTF8.self) } catch {
            throw SagaError(.context, "cannot encode the saga context as JSON: \(error); make Context's Codable conformance total.")
        }
    }

    static func decode(_ json: String) throws(SagaError) -> Context {
        do { return try JSONDecoder().decode(Context.self, from: Data(json.utf8)) } catch {
            throw SagaError(.context, "cannot decode the saga context from its event: \(error); keep Context's JSON compatible with earlier events.")
        }
    }
}
