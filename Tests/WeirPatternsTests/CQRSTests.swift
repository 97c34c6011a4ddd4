import Foundation
import Testing
import WeirClient
import WeirPatterns

@Suite struct CQRSTests {
    enum Cmd: Sendable { case place(user: String, total: Int64), cancel }
    struct Placed: Codable { var user: String; var total: Int64 }
    struct Order: Codable, Sendable, Equatable { var user = ""; var total: Int64 = 0; var status = "none" }

    static let evolve: @Sendable (Order, EventRecord) throws -> Order = { o, e in
        var o = o
        switch e.type {
        case "OrderPlaced":
            let p = try e.decode(Placed.self)
            o.user = p.user; o.total = p.total; o.status = "placed"
        case "OrderCancelled": o.status = "cancelled"
        default: break
        }
        return o
    }

    static func handler(_ store: EventStore) -> CommandHandler<Order, Cmd> {
        CommandHandler(store: store, initial: Order(), evolve: evolve) { order, cmd in
            switch cmd {
            case .place(let user, let total):
                guard order.status == "none" else { throw CommandRejected("the order exists") }
                guard total > 0 else { throw CommandRejected("the total must be positive") }
                return [try .json("OrderPlaced", Placed(user: user, total: total))]
            case .cancel:
                guard order.status == "placed" else { throw CommandRejected("not placed") }
                return [NewEvent(type: "OrderCancelled", payload: Array("{}".utf8))]
            }
        }
    }

    static func projection(_ f: EmbeddedFixture, _ db: SQLiteDatabase, _ model: DocumentReadModel<Order>, group: String,
                           failOn: String? = nil) throws -> ReadModelProjection {
        try ReadModelProjection(name: "orders", topic: "shop.order.events", groupId: group, client: f.client, database: db) { tx, event in
            if event.aggregateId == failOn { throw CommandRejected("poison") }
            let next = try evolve(try model.document(event.aggregateId, in: tx) ?? Order(), event)
            try model.upsert(next, id: event.aggregateId, secondaryKey: next.user, version: event.version, in: tx)
        }
    }

    static func drain(_ p: ReadModelProjection, until: () -> Bool) async throws {
        for _ in 0..<200 where !until() { try await p.poll(timeout: .milliseconds(20)) }
    }

    @Test func commandsAreValidatedAndPublished() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let store = try await EventStore.open(client: f.client, configuration: .init(topic: "shop.order.events", partitions: 2))
        let h = Self.handler(store)
        let placed = try await h.handle(.place(user: "u1", total: 500), aggregateId: "o1")
        #expect(placed.map(\.type) == ["OrderPlaced"] && placed[0].version == 1)
        do { try await h.handle(.place(user: "u1", total: 5), aggregateId: "o1"); Issue.record("duplicate place accepted") } catch {
            #expect(error.code == .rejected && !error.isRetriable && error.message.contains("exists"))
        }
        do { try await h.handle(.place(user: "u1", total: -1), aggregateId: "o2"); Issue.record("negative total accepted") } catch {
            #expect(error.code == .rejected)
        }
        #expect(store.version(of: "o2") == 0)
        try await h.handle(.cancel, aggregateId: "o1")
        #expect(try await store.rebuildAggregate("o1", initial: Order(), Self.evolve).state.status == "cancelled")
        await store.close()
    }

    @Test func projectionIsIdempotentAndSurvivesRestart() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let store = try await EventStore.open(client: f.client, configuration: .init(topic: "shop.order.events", partitions: 2))
        let h = Self.handler(store)
        for i in 0..<10 { try await h.handle(.place(user: "user-\(i % 3)", total: Int64(i + 1) * 100), aggregateId: "o\(i)") }
        try await h.handle(.cancel, aggregateId: "o4")
        let dbPath = f.work + "/rm.sqlite"
        var db = try SQLiteDatabase(path: dbPath)
        var model = try DocumentReadModel<Order>(database: db, table: "orders")
        let first = try Self.projection(f, db, model, group: "rm-1")
        try await first.start()
        try await Self.drain(first) { first.counts.applied >= 11 }
        #expect(first.counts.applied == 11)
        #expect(try model.document(id: "o4")?.status == "cancelled")
        #expect(try model.version(id: "o4") == 2)
        #expect(try model.documents(secondaryKey: "user-1").map(\.id) == ["o1", "o4", "o7"])
        await first.stop()
        db.close()

        // Restart with a new group (no committed offsets: everything is redelivered) on the same
        // database: the checkpoints skip what was applied; only new events change the model.
        try await h.handle(.cancel, aggregateId: "o7")
        db = try SQLiteDatabase(path: dbPath)
        model = try DocumentReadModel<Order>(database: db, table: "orders")
        let second = try Self.projection(f, db, model, group: "rm-2")
        try await second.start()
        try await Self.drain(second) { second.counts.applied >= 1 }
        // Positioned after the checkpoints on assignment: only the new event arrives.
        #expect(second.counts.applied == 1)
        #expect(try model.document(id: "o7")?.status == "cancelled")
        #expect(try model.documents(secondaryKey: "user-1").count == 3)
        let cps = try [second.checkpoint(0), second.checkpoint(1)].compactMap { $0 }
        #expect(cps.reduce(0) { $0 + $1 + 1 } == 12) // last offsets + 1 add up to every record
        // A member positioned before events that another member already applied (a redelivery)
        // skips them by the checkpoint: they change nothing.
        let third = try Self.projection(f, db, model, group: "rm-3")
        try await third.start()
        try await third.poll(timeout: .milliseconds(50)) // joins; positioned after the checkpoints
        try await h.handle(.cancel, aggregateId: "o1")
        try await Self.drain(second) { second.counts.applied >= 2 }
        try await Self.drain(third) { third.counts.skippedDuplicates >= 1 }
        #expect(third.counts.applied == 0 && third.counts.skippedDuplicates == 1)
        #expect(try model.version(id: "o1") == 2)
        await third.stop()
        await second.stop()
        db.close()
        await store.close()
    }

    @Test func queriesUseIndexesNotScans() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-rm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try SQLiteDatabase(path: dir + "/q.sqlite")
        let model = try DocumentReadModel<Order>(database: db, table: "orders")
        let plans = try model.queryPlans()
        #expect(plans.byId.contains("USING INDEX sqlite_autoindex_orders_1") || plans.byId.contains("PRIMARY KEY"))
        #expect(plans.bySecondaryKey.contains("USING INDEX orders_by_secondary_key"))
        #expect(!plans.byId.hasPrefix("SCAN") && !plans.bySecondaryKey.hasPrefix("SCAN"))
        db.close()
    }

    @Test func aFailingApplyRollsBackTheBatchAndItsCheckpoint() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let store = try await EventStore.open(client: f.client, configuration: .init(topic: "shop.order.events", partitions: 1))
        let h = Self.handler(store)
        for i in 0..<3 { try await h.handle(.place(user: "u", total: 1), aggregateId: "o\(i)") }
        let db = try SQLiteDatabase(path: f.work + "/fail.sqlite")
        let model = try DocumentReadModel<Order>(database: db, table: "orders")
        let p = try Self.projection(f, db, model, group: "rm-fail", failOn: "o2")
        try await p.start()
        var failures = 0
        for _ in 0..<50 where failures < 2 {
            do { try await p.poll(timeout: .milliseconds(20)) } catch {
                #expect(error.code == .apply)
                failures += 1
            }
        }
        #expect(failures == 2) // rewound and polled again: the same failure
        // The read model and its checkpoint moved together, and never past the poison event.
        let cp = try p.checkpoint(0)
        #expect(cp == nil || cp! < 2)
        #expect(try model.document(id: "o2") == nil)
        #expect((try model.document(id: "o0") == nil) == (cp == nil))
        await p.stop()
        db.close()
        await store.close()
        let notStarted = try Self.projection(f, try SQLiteDatabase(path: f.work + "/other.sqlite"), model, group: "x")
        await #expect(throws: ProjectionError.self) { try await notStarted.poll() }
    }
}
