import Foundation
import Synchronization
import WeirClientAPI
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
        .eventSourcing,
        presets: [
            Preset(name: "event-sourcing", summary: "5k appends/s with expected version over 1000 aggregates, 1 KiB events, projection into SQLite; embedded", steps: [
                Preset.step(named: "append-project-5k") {
                    $0.pattern = "event-sourcing"; $0.patternOptions = ["aggregates": "1000"]
                    $0.partitionsPerTopic = 4; $0.producerRate = 5_000; $0.messageSize = 1024; $0.payload = .json
                    $0.warmupSeconds = 2; $0.durationSeconds = 10; $0.config = ["linger.ms": "1"]
                },
            ]),
        ],
        wrap: { workload, client async throws(BenchError) in
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
            let producerCount = Atomic<Int>(0)
            let members = workload.consumerPerSubscription
            var scenario = _ScenarioClient(base: client)
            scenario.makeProducer = { _, onDelivery async throws(BenchError) in
                // The generator makes `producersPerTopic` producers per topic, topic by topic.
                let index = producerCount.add(1, ordering: .relaxed).oldValue
                let topic = workload.topicNames[min(index / max(workload.producersPerTopic, 1), workload.topicNames.count - 1)]
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
                return _LanedProducer(lanes: writers, onDelivery: onDelivery, send: { lane, _, _, value in
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
            }
            scenario.makeFeed = { topic, group, member async throws(BenchError) in
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
                let feed = _PatternConsumer(fetch: {
                    try await projection.poll(timeout: .milliseconds(100)).map(\.payload)
                }, close: { await projection.stop() })
                // The projections of a group share its partitions through the group; the share
                // reported here only tells the generator that the member is ready.
                let count = (try? await client.partitionCount(topic)) ?? workload.partitionsPerTopic
                return (feed, _share(of: topic, count: count, member: member, members: members))
            }
            scenario.onClose = {
                for s in stores.withLock({ $0 }) { await s.close() }
                database.close()
                try? FileManager.default.removeItem(atPath: dir)
            }
            return scenario
        })
}
