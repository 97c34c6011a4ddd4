import Foundation
import Synchronization
import WeirClient
import WeirPatterns

// The `event-sourcing` scenario: every generated record becomes an event appended with its
// expected version to one of `pattern.aggregates` aggregates (one writer per aggregate, as the
// store's guarantee asks); the consumer side is a CQRS read-model projection into SQLite, and a
// record counts as consumed when the transaction that applied it (read model row + checkpoint)
// committed, i.e. when the event is queryable. end_to_end = intended send → queryable.

/// One row of the benchmark's read model.
struct _BenchAggregateView: Codable, Sendable {
    var events: Int64
    var lastVersion: Int64
}

extension PatternScenario {
    static let eventSourcing = PatternScenario(
        name: "event-sourcing",
        summary: "EventStore appends with expected version over N aggregates; a CQRS projection into SQLite; end_to_end = appended → queryable",
        options: [("aggregates", "number of aggregates (default 1000)"),
                  ("writers", "concurrent appenders, each owning aggregates a % writers (default 128)")],
        presets: [
            Preset(name: "event-sourcing", summary: "5k appends/s with expected version over 1000 aggregates, 1 KiB events, projection into SQLite; embedded", steps: [
                Preset.step(named: "append-project-5k") {
                    $0.pattern = "event-sourcing"; $0.patternOptions = ["aggregates": "1000"]
                    $0.partitionsPerTopic = 4; $0.producerRate = 5_000; $0.messageSize = 1024; $0.payload = .json
                    $0.warmupSeconds = 2; $0.durationSeconds = 10; $0.config = ["linger.ms": "1"]
                },
            ]),
        ],
        wrap: { workload, backend, client async throws(BenchError) in
            let options = _PatternOptions(workload)
            let aggregates = try options.int("aggregates", 1000, 1...10_000_000)
            let writers = min(aggregates, try options.int("writers", 128, 1...4096))
            let dir = NSTemporaryDirectory() + "weir-bench-es-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let database: SQLiteDatabase
            let readModel: DocumentReadModel<_BenchAggregateView>
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                database = try SQLiteDatabase(path: dir + "/read-model.sqlite")
                readModel = try DocumentReadModel(database: database, table: "aggregates")
            } catch {
                throw BenchError(.backend, "cannot create the read model's database in '\(dir)': \(error)")
            }
            let stores = Mutex<[EventStore]>([])
            let producerProps = _producerProperties(workload)
            return _PatternBackend(base: backend, makeProducer: { topic, index, sink async throws(BenchError) in
                var config = EventStore.Configuration(topic: topic, partitions: workload.partitionsPerTopic)
                config.producerProperties.merge(producerProps) { $1 }
                let store: EventStore
                do throws(EventStoreError) { store = try await EventStore.open(client: client, configuration: config) } catch {
                    throw BenchError(.backend, "cannot open the event store on '\(topic)': \(error.message)")
                }
                stores.withLock { $0.append(store) }
                // Writer w owns aggregates a with a % writers == w and appends to them round-robin,
                // each with the version it last wrote as the expected version.
                let state = Mutex<[(next: Int, versions: [Int: Int64])]>(Array(repeating: (0, [:]), count: writers))
                let prefix = "p\(index)-agg-"
                return _LanedBenchProducer(lanes: writers, sink: sink, send: { lane, _, value in
                    let (aggregate, expected) = state.withLock { all -> (Int, Int64) in
                        let owned = (aggregates - lane + writers - 1) / writers
                        let a = lane + (all[lane].next % max(1, owned)) * writers
                        all[lane].next += 1
                        return (a, all[lane].versions[a] ?? 0)
                    }
                    do {
                        _ = try await store.append([NewEvent(type: "BenchEvent", payload: value)], to: prefix + String(aggregate), expectedVersion: expected)
                        state.withLock { $0[lane].versions[aggregate] = expected + 1 }
                        return true
                    } catch {
                        // A conflict would mean a second writer; resynchronise from the store.
                        let v = store.version(of: prefix + String(aggregate))
                        state.withLock { $0[lane].versions[aggregate] = v }
                        return false
                    }
                }, close: { await store.close() })
            }, makeConsumer: { topic, group, member, members async throws(BenchError) in
                let projection: ReadModelProjection
                do {
                    projection = try ReadModelProjection(name: "bench-\(group)", topic: topic, groupId: group, client: client, database: database) { tx, event in
                        var view = try readModel.document(event.aggregateId, in: tx) ?? _BenchAggregateView(events: 0, lastVersion: 0)
                        view.events += 1
                        view.lastVersion = event.version
                        try readModel.upsert(view, id: event.aggregateId, secondaryKey: String(event.aggregateId.utf8.reduce(0) { $0 &+ Int($1) } & 63), version: event.version, in: tx)
                    }
                    try await projection.start()
                } catch let e as ProjectionError {
                    throw BenchError(.backend, "cannot start the projection: \(e.message)")
                } catch {
                    throw BenchError(.backend, "cannot create the projection: \(error)")
                }
                return _PatternConsumer(fetch: {
                    try await projection.poll(timeout: .milliseconds(100)).map(\.payload)
                }, close: { await projection.stop() })
            }, onShutdown: {
                for s in stores.withLock({ $0 }) { await s.close() }
                database.close()
                try? FileManager.default.removeItem(atPath: dir)
            })
        })
}
