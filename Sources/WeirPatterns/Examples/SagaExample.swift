import Foundation
import WeirClient
import WeirLog

/// `weir example saga`: an order saga (reserve stock, charge card, ship). One order completes;
/// one fails at shipping and is compensated in reverse; one orchestrator crashes mid-saga and a
/// new one resumes it from the saga events topic.
let sagaExample = PatternExample(
    name: "saga",
    summary: "orchestrated saga: compensation in reverse, state as events on <name>.saga.events, crash and resume"
) { client, _, print in
    struct Order: Codable, Sendable {
        var id: String
        var shippable: Bool
        var log: [String] = []
    }
    struct ShippingRefused: Error, CustomStringConvertible { var description: String { "no carrier accepts the parcel" } }

    func step(_ name: String) -> SagaStep<Order> {
        SagaStep(name, action: { order in
            if name == "ship" && !order.shippable { throw ShippingRefused() }
            print("  \(order.id): \(name)")
            var o = order
            o.log.append(name)
            return o
        }, compensation: { order in
            print("  \(order.id): undo \(name)")
        })
    }
    let saga = SagaDefinition(name: "shop.order", steps: [step("reserve-stock"), step("charge-card"), step("ship")])

    let orchestrator = SagaOrchestrator(client: client, definition: saga)
    try await orchestrator.start()
    print("o-1 → \(try await orchestrator.execute(id: "o-1", context: Order(id: "o-1", shippable: true)))")
    print("o-2 → \(try await orchestrator.execute(id: "o-2", context: Order(id: "o-2", shippable: false)))")
    await orchestrator.shutdown()

    var crashing = SagaConfiguration()
    crashing.crashHook = { $0 == .afterEvent(.stepCompleted, sagaId: "o-3", step: 0) }
    let first = SagaOrchestrator(client: client, definition: saga, configuration: crashing)
    try await first.start()
    _ = try await first.begin(id: "o-3", context: Order(id: "o-3", shippable: true))
    do { _ = try await first.outcome(of: "o-3") } catch { print("orchestrator crashed after o-3's first step: \(error)") }
    await first.shutdown()

    let second = SagaOrchestrator(client: client, definition: saga)
    let resumed = try await second.start()
    print("a new orchestrator replayed \(saga.eventsTopic) and resumed \(resumed)")
    print("o-3 → \(try await second.outcome(of: "o-3"))")
    await second.shutdown()
}
