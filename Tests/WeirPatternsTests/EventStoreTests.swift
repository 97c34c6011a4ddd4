import Foundation
import Synchronization
import Testing
import WeirClient
import WeirLog
import WeirPatterns

@Suite struct EventStoreTests {
    struct Amount: Codable { var cents: Int64 }
    struct Account: Codable, Sendable, Equatable { var balance: Int64 = 0; var count = 0 }
    static let fold: @Sendable (Account, EventRecord) throws -> Account = { a, e in
        var a = a
        a.balance += try e.decode(Amount.self).cents
        a.count += 1
        return a
    }

    @Test func appendWithExpectedVersionAndConflicts() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let store = try await EventStore.open(client: f.client, configuration: .init(topic: "bank.account.events", partitions: 2))
        let e1 = try await store.append("Deposited", Amount(cents: 100), to: "a", expectedVersion: 0)
        #expect(e1.version == 1)
        try await store.append("Deposited", Amount(cents: 50), to: "a", expectedVersion: 1)
        #expect(store.version(of: "a") == 2)
        await #expect(throws: EventStoreError.self) { try await store.append("Deposited", Amount(cents: 1), to: "a", expectedVersion: 1) }
        do {
            try await store.append("Deposited", Amount(cents: 1), to: "a", expectedVersion: 5)
        } catch {
            #expect(error.code == .concurrencyConflict)
            #expect(error.expectedVersion == 5 && error.actualVersion == 2)
            #expect(error.isRetriable)
        }
        // nil: no check.
        try await store.append("Deposited", Amount(cents: 1), to: "a", expectedVersion: nil)
        #expect(store.version(of: "a") == 3)
        // Bad arguments.
        do { try await store.append([], to: "a", expectedVersion: nil); Issue.record("empty append accepted") } catch { #expect(error.code == .invalidArgument && !error.isRetriable) }
        do { try await store.append("X", Amount(cents: 1), to: "", expectedVersion: nil); Issue.record("empty id accepted") } catch { #expect(error.code == .invalidArgument) }
        do { try await store.saveSnapshot(of: "a", version: 9, state: []); Issue.record("future snapshot accepted") } catch { #expect(error.code == .invalidArgument) }
        await store.close()
    }

    @Test func concurrentAppendsWithTheSameVersionHaveOneWinner() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let store = try await EventStore.open(client: f.client, configuration: .init(topic: "race.events"))
        for round in 0..<5 {
            let outcomes = await withTaskGroup(of: EventStoreError.Code?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do throws(EventStoreError) {
                            try await store.append("Deposited", Amount(cents: 1), to: "hot", expectedVersion: Int64(round))
                            return nil
                        } catch {
                            return error.code
                        }
                    }
                }
                var all: [EventStoreError.Code?] = []
                for await o in group { all.append(o) }
                return all
            }
            #expect(outcomes.filter { $0 == nil }.count == 1)
            #expect(outcomes.filter { $0 == .concurrencyConflict }.count == 7)
        }
        #expect(store.version(of: "hot") == 5)
        let events = try await store.events(of: "hot")
        #expect(events.map(\.version) == [1, 2, 3, 4, 5])
        await store.close()
    }

    @Test func replayReadsOnlyTheAggregatesRecords() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        var config = EventStore.Configuration(topic: "interleaved.events")
        config.producerProperties = ["acks": "1", "enable.idempotence": "false"] // 320 appends: no fsync each
        let store = try await EventStore.open(client: f.client, configuration: config)
        // 40 aggregates × 8 events, interleaved in one partition (320 records).
        for round in 0..<8 {
            for a in 0..<40 {
                try await store.append("Deposited", Amount(cents: Int64(round + 1)), to: "acc-\(a)", expectedVersion: Int64(round))
            }
        }
        let (events, stats) = try await store.readEvents(of: "acc-7")
        #expect(events.map(\.version) == Array(1...8))
        #expect(events.allSatisfy { $0.aggregateId == "acc-7" && $0.type == "Deposited" })
        #expect(stats.recordsFetched == 8) // not 320
        #expect(stats.seeks == 8)
        let expectedOffsets: [Int64] = (0..<8).map { Int64($0 * 40 + 7) }
        let offsets: [Int64] = store.locations(of: "acc-7").map(\.offset)
        #expect(offsets == expectedOffsets)
        let after = try await store.readEvents(of: "acc-7", after: 6)
        #expect(after.events.map(\.version) == [7, 8] && after.statistics.recordsFetched == 2)
        let rebuilt = try await store.rebuildAggregate("acc-7", initial: Account(), Self.fold)
        #expect(rebuilt.state == Account(balance: 36, count: 8) && rebuilt.version == 8)
        #expect(try await store.events(of: "missing").isEmpty)
        await store.close()
    }

    @Test func snapshotsInACompactedTopic() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let store = try await EventStore.open(client: f.client, configuration: .init(topic: "snap.events"))
        for i in 0..<10 { try await store.append("Deposited", Amount(cents: 10), to: "s", expectedVersion: Int64(i)) }
        let full = try await store.rebuildAggregate("s", initial: Account(), Self.fold)
        try await store.saveSnapshot(of: "s", full)
        for i in 10..<13 { try await store.append("Deposited", Amount(cents: 1), to: "s", expectedVersion: Int64(i)) }
        let fromSnapshot = try await store.rebuildAggregate("s", initial: Account(), useSnapshot: true, Self.fold)
        #expect(fromSnapshot.snapshotVersion == 10 && fromSnapshot.eventsRead == 3)
        #expect(fromSnapshot.state == Account(balance: 103, count: 13) && fromSnapshot.version == 13)
        let snapshot = try #require(try await store.latestSnapshot(of: "s"))
        #expect(snapshot.version == 10)
        #expect(try f.log.partitionCount("snap.events.snapshots") == 1)
        #expect(try f.log.partition("snap.events.snapshots", 0).config.cleanupPolicy.contains(.compact))
        await store.close()
        // A fresh store finds the snapshot by scanning the (small) compacted topic.
        let reopened = try await EventStore.open(client: f.client, configuration: .init(topic: "snap.events"))
        let again = try await reopened.rebuildAggregate("s", initial: Account(), useSnapshot: true, Self.fold)
        #expect(again.snapshotVersion == 10 && again.state == fromSnapshot.state)
        await reopened.close()
    }

    @Test func indexIsRebuiltFromTheLogAndFromACheckpoint() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let checkpoint = f.work + "/index.json"
        var config = EventStore.Configuration(topic: "idx.events", partitions: 3, indexCheckpointPath: checkpoint)
        let store = try await EventStore.open(client: f.client, configuration: config)
        for i in 0..<30 { try await store.append("Deposited", Amount(cents: 1), to: "x\(i % 6)", expectedVersion: Int64(i / 6)) }
        await store.close() // writes the checkpoint
        #expect(FileManager.default.fileExists(atPath: checkpoint))
        // Another writer appends after the checkpoint.
        config.indexCheckpointPath = nil
        let other = try await EventStore.open(client: f.client, configuration: config)
        try await other.append("Deposited", Amount(cents: 1), to: "x0", expectedVersion: 5)
        await other.close()
        // From the checkpoint plus the new tail.
        config.indexCheckpointPath = checkpoint
        let fromCheckpoint = try await EventStore.open(client: f.client, configuration: config)
        #expect(fromCheckpoint.version(of: "x0") == 6 && fromCheckpoint.version(of: "x5") == 5)
        #expect(try await fromCheckpoint.events(of: "x0").count == 6)
        await fromCheckpoint.close()
        // From the log alone.
        config.indexCheckpointPath = nil
        let scanned = try await EventStore.open(client: f.client, configuration: config)
        #expect(Set(scanned.aggregateIds()) == Set((0..<6).map { "x\($0)" }))
        #expect(scanned.version(of: "x0") == 6)
        await scanned.close()
        // A corrupt checkpoint is an error that says what to do.
        _ = FileManager.default.createFile(atPath: checkpoint, contents: Data("garbage".utf8))
        config.indexCheckpointPath = checkpoint
        do { _ = try await EventStore.open(client: f.client, configuration: config); Issue.record("corrupt checkpoint accepted") } catch {
            #expect(error.code == .checkpoint && error.message.contains("delete it"))
        }
    }

    @Test func twoProcessesWritingOneAggregateResolveByTheFirstVersionInTheLog() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        let config = EventStore.Configuration(topic: "split.events")
        let a = try await EventStore.open(client: f.client, configuration: config)
        let b = try await EventStore.open(client: f.client, configuration: config)
        try await a.append("Deposited", Amount(cents: 1), to: "acc", expectedVersion: 0)
        // b did not see a's append: its own check passes (no single writer).
        try await b.append("Deposited", Amount(cents: 1000), to: "acc", expectedVersion: 0)
        try await b.refresh()
        #expect(b.anomalies == 1)
        await a.close()
        await b.close()
        let c = try await EventStore.open(client: f.client, configuration: config)
        #expect(c.version(of: "acc") == 1 && c.anomalies == 1)
        let state = try await c.rebuildAggregate("acc", initial: Account(), Self.fold)
        #expect(state.state.balance == 1)
        await c.close()
    }
}
