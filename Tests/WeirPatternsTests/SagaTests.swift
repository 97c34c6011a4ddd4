import Foundation
import Synchronization
import Testing
import WeirClient
import WeirLog
import WeirPatterns

@Suite(.serialized) struct SagaTests {
    struct Order: Codable, Sendable, Equatable {
        var id: String
        var done: [String] = []
    }

    struct Declined: Error {}
    struct Flaky: ClassifiedError { var isRetriable: Bool { true } }

    /// What the steps and compensations did, across orchestrators.
    final class Calls: Sendable {
        let log = Mutex<[String]>([])
        func add(_ s: String) { log.withLock { $0.append(s) } }
        var all: [String] { log.withLock { $0 } }
        func count(_ s: String) -> Int { all.filter { $0 == s }.count }
    }

    /// Steps reserve, charge, ship; `failing` makes that step throw `Declined`.
    static func definition(_ calls: Calls, failing: String? = nil, flakyCharge: Int = 0, compensationFails: Bool = false) -> SagaDefinition<Order> {
        let flaky = Mutex(flakyCharge)
        let steps = ["reserve", "charge", "ship"].map { name in
            SagaStep<Order>(name, action: { order in
                calls.add(name)
                if name == failing { throw Declined() }
                if name == "charge", flaky.withLock({ n in defer { n -= 1 }; return n > 0 }) { throw Flaky() }
                var o = order
                o.done.append(name)
                return o
            }, compensation: { order in
                calls.add("undo-\(name)")
                #expect(order.done.contains(name))
                if compensationFails { throw Declined() }
            })
        }
        return SagaDefinition(name: "shop.order", steps: steps)
    }

    static func events(_ s: DBSandbox, count: Int) async throws -> [SagaEvent] {
        try await s.readAll("shop.order.saga.events", count: count).compactMap { $0.value.flatMap(SagaEvent.decode) }
    }

    @Test func completesAndRecordsEveryStep() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let calls = Calls()
        let o = SagaOrchestrator(client: s.client, definition: Self.definition(calls, flakyCharge: 2))
        try await o.start()
        let outcome = try await o.execute(id: "o-1", context: Order(id: "o-1"))
        guard case .completed(let json) = outcome else { Issue.record("not completed: \(outcome)"); return }
        #expect(try JSONDecoder().decode(Order.self, from: Data(json.utf8)).done == ["reserve", "charge", "ship"])
        #expect(calls.count("charge") == 3) // two retriable failures, then success
        let events = try await Self.events(s, count: 5)
        #expect(events.map(\.type) == [.sagaStarted, .stepCompleted, .stepCompleted, .stepCompleted, .sagaCompleted])
        #expect(events.allSatisfy { $0.sagaId == "o-1" })
        await #expect(throws: SagaError.self) { try await o.begin(id: "o-1", context: Order(id: "o-1")) }
        await o.shutdown()
    }

    @Test func aFailedStepCompensatesTheCompletedStepsInReverse() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let calls = Calls()
        let o = SagaOrchestrator(client: s.client, definition: Self.definition(calls, failing: "ship"))
        try await o.start()
        let outcome = try await o.execute(id: "o-2", context: Order(id: "o-2"))
        guard case .compensated(let reason) = outcome else { Issue.record("not compensated: \(outcome)"); return }
        #expect(reason.contains("ship") && reason.contains("Declined"))
        #expect(calls.all == ["reserve", "charge", "ship", "undo-charge", "undo-reserve"])
        let events = try await Self.events(s, count: 7)
        #expect(events.map(\.type) == [.sagaStarted, .stepCompleted, .stepCompleted, .stepFailed, .compensationCompleted, .compensationCompleted, .sagaCompensated])
        #expect(events.last?.reason == reason)
        #expect(events.filter { $0.type == .compensationCompleted }.map(\.step) == [1, 0])
        await o.shutdown()
    }

    @Test func aCompensationThatKeepsFailingEndsTheSagaFailed() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let calls = Calls()
        var config = SagaConfiguration()
        config.maxCompensationAttempts = 2
        config.retryBackoff = .milliseconds(1)
        let o = SagaOrchestrator(client: s.client, definition: Self.definition(calls, failing: "charge", compensationFails: true), configuration: config)
        try await o.start()
        let outcome = try await o.execute(id: "o-3", context: Order(id: "o-3"))
        guard case .failed(let reason) = outcome else { Issue.record("not failed: \(outcome)"); return }
        #expect(reason.contains("reserve"))
        #expect(calls.count("undo-reserve") == 2)
        #expect(try await Self.events(s, count: 4).last?.type == .sagaFailed)
        await o.shutdown()
    }

    @Test func aCrashedOrchestratorIsResumedFromTheTopic() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let calls = Calls()
        var crashing = SagaConfiguration()
        crashing.crashHook = { point in point == .afterEvent(.stepCompleted, sagaId: "o-4", step: 0) }
        let first = SagaOrchestrator(client: s.client, definition: Self.definition(calls), configuration: crashing)
        try await first.start()
        let id = try await first.begin(id: "o-4", context: Order(id: "o-4"))
        do {
            _ = try await first.outcome(of: id)
            Issue.record("the crash hook did not stop the orchestrator")
        } catch {
            #expect(error.code == .orchestratorStopped)
        }
        #expect(first.isStopped)
        await first.shutdown()
        #expect(calls.all == ["reserve"])

        let second = SagaOrchestrator(client: s.client, definition: Self.definition(calls))
        #expect(try await second.start() == ["o-4"])
        guard case .completed(let json) = try await second.outcome(of: "o-4") else { Issue.record("not completed"); return }
        #expect(try JSONDecoder().decode(Order.self, from: Data(json.utf8)).done == ["reserve", "charge", "ship"])
        #expect(calls.all == ["reserve", "charge", "ship"]) // the completed step was not re-run
        await second.shutdown()

        // A third orchestrator finds the saga finished and resumes nothing.
        let third = SagaOrchestrator(client: s.client, definition: Self.definition(calls))
        #expect(try await third.start().isEmpty)
        #expect(try await third.outcome(of: "o-4") == .completed(context: json))
        await third.shutdown()
    }

    @Test func theStepInFlightIsRunAgainAfterACrash() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let calls = Calls()
        var crashing = SagaConfiguration()
        crashing.crashHook = { point in point == .afterAction(sagaId: "o-5", step: 1) }
        let first = SagaOrchestrator(client: s.client, definition: Self.definition(calls), configuration: crashing)
        try await first.start()
        _ = try await first.begin(id: "o-5", context: Order(id: "o-5"))
        await #expect(throws: SagaError.self) { try await first.outcome(of: "o-5") }
        await first.shutdown()
        let second = SagaOrchestrator(client: s.client, definition: Self.definition(calls))
        #expect(try await second.start() == ["o-5"])
        guard case .completed = try await second.outcome(of: "o-5") else { Issue.record("not completed"); return }
        // "charge" ran, its StepCompleted was never written: it runs again (steps are idempotent).
        #expect(calls.all == ["reserve", "charge", "charge", "ship"])
        await second.shutdown()
    }

    @Test func aCrashDuringCompensationContinuesCompensating() async throws {
        let s = try DBSandbox()
        defer { s.cleanup() }
        let calls = Calls()
        var crashing = SagaConfiguration()
        crashing.crashHook = { point in point == .afterEvent(.compensationCompleted, sagaId: "o-6", step: 1) }
        let first = SagaOrchestrator(client: s.client, definition: Self.definition(calls, failing: "ship"), configuration: crashing)
        try await first.start()
        _ = try await first.begin(id: "o-6", context: Order(id: "o-6"))
        await #expect(throws: SagaError.self) { try await first.outcome(of: "o-6") }
        await first.shutdown()
        #expect(calls.all == ["reserve", "charge", "ship", "undo-charge"])

        let second = SagaOrchestrator(client: s.client, definition: Self.definition(calls, failing: "ship"))
        #expect(try await second.start() == ["o-6"])
        guard case .compensated(let reason) = try await second.outcome(of: "o-6") else { Issue.record("not compensated"); return }
        #expect(reason.contains("ship"))
        #expect(calls.all == ["reserve", "charge", "ship", "undo-charge", "undo-reserve"])
        let events = try await Self.events(s, count: 7)
        #expect(events.map(\.type) == [.sagaStarted, .stepCompleted, .stepCompleted, .stepFailed, .compensationCompleted, .compensationCompleted, .sagaCompensated])
        await #expect(throws: SagaError.self) { try await second.outcome(of: "unknown") }
        await second.shutdown()
    }
}
