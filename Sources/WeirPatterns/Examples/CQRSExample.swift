import Foundation
import WeirClient

/// `weir example cqrs`: orders with a command side and a read model queried by user.
let cqrsExample = PatternExample(
    name: "cqrs",
    summary: "CQRS: a command handler validates and appends events; a projection keeps a SQLite read model queryable by order id and by user id"
) { client, workDirectory, output in
    enum OrderCommand: Sendable { case place(user: String, totalCents: Int64), cancel }
    struct Placed: Codable { var user: String; var totalCents: Int64 }
    struct Order: Codable, Sendable { var user = ""; var totalCents: Int64 = 0; var status = "none" }
    let evolve: @Sendable (Order, EventRecord) throws -> Order = { order, event in
        var o = order
        switch event.type {
        case "OrderPlaced":
            let p = try event.decode(Placed.self)
            o.user = p.user; o.totalCents = p.totalCents; o.status = "placed"
        case "OrderCancelled": o.status = "cancelled"
        default: break
        }
        return o
    }
    let store = try await EventStore.open(client: client, configuration: .init(topic: "shop.order.events", partitions: 2))
    let commands = CommandHandler<Order, OrderCommand>(store: store, initial: Order(), evolve: evolve) { order, command in
        switch command {
        case .place(let user, let total):
            guard order.status == "none" else { throw CommandRejected("the order exists already") }
            guard total > 0 else { throw CommandRejected("the total must be positive") }
            return [try .json("OrderPlaced", Placed(user: user, totalCents: total))]
        case .cancel:
            guard order.status == "placed" else { throw CommandRejected("only a placed order can be cancelled (it is \(order.status))") }
            return [NewEvent(type: "OrderCancelled", payload: Array("{}".utf8))]
        }
    }
    for i in 1...6 { try await commands.handle(.place(user: "user-\(i % 2)", totalCents: Int64(i) * 1000), aggregateId: "order-\(i)") }
    try await commands.handle(.cancel, aggregateId: "order-3")
    do throws(CommandError) { try await commands.handle(.cancel, aggregateId: "order-3") } catch { output("rejected: \(error.message)") }
    do throws(CommandError) { try await commands.handle(.place(user: "user-9", totalCents: -5), aggregateId: "order-7") } catch { output("rejected: \(error.message)") }

    let database = try SQLiteDatabase(path: workDirectory + "/read-model.sqlite")
    let orders = try DocumentReadModel<Order>(database: database, table: "orders")
    let projection = try ReadModelProjection(name: "orders", topic: "shop.order.events", groupId: "orders-read-model", client: client, database: database) { tx, event in
        let current = try orders.document(event.aggregateId, in: tx) ?? Order()
        let next = try evolve(current, event)
        try orders.upsert(next, id: event.aggregateId, secondaryKey: next.user, version: event.version, in: tx)
    }
    try await projection.start()
    while projection.counts.applied < 7 { try await projection.poll() }
    let (cp0, cp1) = (try projection.checkpoint(0) ?? -1, try projection.checkpoint(1) ?? -1)
    output("projection applied \(projection.counts.applied) events; checkpoints (last applied offset) p0=\(cp0) p1=\(cp1)")
    if let o = try orders.document(id: "order-3") { output("order-3: \(o.status), \(o.totalCents) cents, user \(o.user)") }
    let byUser = try orders.documents(secondaryKey: "user-1")
    output("user-1 has \(byUser.count) orders: \(byUser.map(\.id).joined(separator: ", "))")
    let plans = try orders.queryPlans()
    output("query plans: \(plans.byId) | \(plans.bySecondaryKey)")
    await projection.stop()
    await store.close()
}
