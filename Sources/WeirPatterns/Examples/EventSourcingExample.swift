import Foundation
import WeirClient

/// `weir example event-sourcing`: bank accounts as event-sourced aggregates.
let eventSourcingExample = PatternExample(
    name: "event-sourcing",
    summary: "EventStore: append with expected version, a concurrency conflict, rebuild by fold, snapshot + replay of one aggregate"
) { client, workDirectory, output in
    struct Amount: Codable { var cents: Int64 }
    struct Account: Codable, Sendable { var balance: Int64 = 0; var transactions = 0 }
    let fold: @Sendable (Account, EventRecord) throws -> Account = { account, event in
        var a = account
        let amount = try event.decode(Amount.self).cents
        a.balance += event.type == "Deposited" ? amount : -amount
        a.transactions += 1
        return a
    }
    let store = try await EventStore.open(client: client, configuration: .init(
        topic: "bank.account.events", partitions: 4, indexCheckpointPath: workDirectory + "/account-index.json"))
    for i in 0..<20 {
        let id = "account-\(i % 5)"
        try await store.append(i % 3 == 2 ? "Withdrawn" : "Deposited", Amount(cents: Int64(100 * (i + 1))), to: id, expectedVersion: store.version(of: id))
    }
    output("appended 20 events to 5 accounts; account-0 is at version \(store.version(of: "account-0"))")

    do throws(EventStoreError) {
        try await store.append("Deposited", Amount(cents: 1), to: "account-0", expectedVersion: 1)
    } catch {
        guard error.code == .concurrencyConflict else { throw error }
        output("stale write rejected: expected version \(error.expectedVersion ?? -1), actual \(error.actualVersion ?? -1)")
    }

    let rebuilt = try await store.rebuildAggregate("account-0", initial: Account(), fold)
    output("account-0 rebuilt from \(rebuilt.eventsRead) events: balance \(rebuilt.state.balance) cents, version \(rebuilt.version)")
    try await store.saveSnapshot(of: "account-0", rebuilt)
    try await store.append("Deposited", Amount(cents: 500), to: "account-0", expectedVersion: rebuilt.version)
    let fromSnapshot = try await store.rebuildAggregate("account-0", initial: Account(), useSnapshot: true, fold)
    output("with the snapshot at v\(fromSnapshot.snapshotVersion): read \(fromSnapshot.eventsRead) event(s), balance \(fromSnapshot.state.balance)")
    let (events, stats) = try await store.readEvents(of: "account-3")
    output("account-3: \(events.count) events read with \(stats.seeks) seek(s), \(stats.recordsFetched) records fetched (the topic holds 21)")
    await store.close()
    let reopened = try await EventStore.open(client: client, configuration: .init(
        topic: "bank.account.events", partitions: 4, indexCheckpointPath: workDirectory + "/account-index.json"))
    output("reopened from the index checkpoint: account-0 at version \(reopened.version(of: "account-0"))")
    await reopened.close()
}
