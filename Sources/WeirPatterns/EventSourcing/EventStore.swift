import Foundation
import Synchronization
public import WeirClient
import WeirFormat
import WeirLog


/// An event store on a topic: events keyed by aggregate id, appended with an expected version
/// (optimistic concurrency), read back per aggregate through an index, rebuilt by a fold, with
/// snapshots in a compacted topic.
///
/// **Records.** An event is a record on `configuration.topic` whose key is the aggregate id, so
/// all events of an aggregate land in one partition in order, with headers `event.type` and
/// `aggregate.version` (the aggregate's version after the event, 1, 2, 3, …).
///
/// **Index.** `open` scans the topic once and builds an index from aggregate id to the
/// (partition, offset) of each of its events; appends then maintain it. With
/// `indexCheckpointPath`, the index and the scanned positions are saved (`checkpointIndex()`,
/// `close()`), and the next `open` scans only what was appended after them. `events(of:)` reads
/// exactly the indexed offsets: assign, seek, poll; a run of consecutive offsets costs one seek.
///
/// **Concurrency guarantee.** In one process, `append` checks the expected version and reserves
/// the aggregate atomically (a mutex): of two concurrent appends with the same expected version
/// one wins and the other gets `.concurrencyConflict`; an append while another append to the
/// same aggregate is in flight also gets `.concurrencyConflict`. Across processes the store
/// relies on a single writer per aggregate (route commands by aggregate id, e.g. with the same
/// key partitioning as the events, so one consumer-group member owns each aggregate). If two
/// processes do write the same version, the version embedded in each record makes the outcome
/// deterministic: on replay (and in every index rebuild) the first record of a version in the
/// log wins and later records with a version already seen, or with a gap, are skipped and
/// counted in `anomalies`. Call `refresh()` to index what other processes appended.
///
/// **Snapshots.** `saveSnapshot` writes the state and its version to `snapshotTopic`
/// (`cleanup.policy=compact`, key = aggregate id), so compaction keeps the latest per
/// aggregate; rebuilding starts from the latest snapshot and reads only the events after its
/// version.
public final class EventStore: Sendable {
    /// Where the store keeps its events and snapshots.
    public struct Configuration: Sendable {
        /// The events topic.
        public var topic: String
        /// Partitions of the events topic when it is created.
        public var partitions: Int = 1
        /// The compacted snapshots topic; default `<topic>.snapshots`.
        public var snapshotTopic: String
        /// Producer properties; default `acks=all`, `enable.idempotence=true` (a retried send is
        /// not written twice).
        public var producerProperties: [String: String] = ["acks": "all", "enable.idempotence": "true"]
        /// Consumer properties of the readers (no `group.id` is needed).
        public var consumerProperties: [String: String] = [:]
        /// A file where `checkpointIndex()` saves the index, so `open` does not rescan the topic.
        public var indexCheckpointPath: String?

        public init(topic: String, partitions: Int = 1, snapshotTopic: String? = nil, indexCheckpointPath: String? = nil) {
            self.topic = topic
            self.partitions = partitions
            self.snapshotTopic = snapshotTopic ?? "\(topic).snapshots"
            self.indexCheckpointPath = indexCheckpointPath
        }
    }

    /// The `aggregate.version` header.
    public static let versionHeader = "aggregate.version"
    /// The `event.type` header.
    public static let typeHeader = "event.type"

    public let configuration: Configuration
    public let client: any MessagingClient
    let _producer: any MessageProducer
    let _index: Mutex<_Index>

    struct _Location: Codable, Hashable, Sendable {
        var p: Int32
        var o: Int64
    }

    struct _Aggregate: Codable, Sendable {
        /// `locations[i]` holds version i + 1.
        var locations: [_Location] = []
        var inFlight = false
        var version: Int64 { Int64(locations.count) }
        enum CodingKeys: String, CodingKey { case locations }
    }

    struct _Snapshot: Codable, Sendable {
        var location: _Location
        var version: Int64
    }

    struct _Index: Codable, Sendable {
        var aggregates: [String: _Aggregate] = [:]
        var snapshots: [String: _Snapshot] = [:]
        /// Next offset to scan, per partition, of the events and snapshot topics.
        var eventPositions: [Int32: Int64] = [:]
        var snapshotPositions: [Int32: Int64] = [:]
        var anomalies = 0
    }

    init(configuration: Configuration, client: any MessagingClient, producer: any MessageProducer, index: _Index) {
        self.configuration = configuration
        self.client = client
        self._producer = producer
        self._index = Mutex(index)
    }

    /// Opens the store: creates the topics when missing, loads the index checkpoint if there is
    /// one, and scans what the index does not cover yet.
    public static func open(client: any MessagingClient, configuration: Configuration) async throws(EventStoreError) -> EventStore {
        do {
            try await client.ensureTopic(configuration.topic, partitions: configuration.partitions, configs: [:])
            try await client.ensureTopic(configuration.snapshotTopic, partitions: 1, configs: ["cleanup.policy": "compact"])
        } catch {
            throw EventStoreError(.readFailed, "cannot create the topics '\(configuration.topic)' and '\(configuration.snapshotTopic)': \(error.message)", clientError: error)
        }
        var index = _Index()
        if let path = configuration.indexCheckpointPath, let data = FileManager.default.contents(atPath: path) {
            do { index = try JSONDecoder().decode(_Index.self, from: data) } catch {
                throw EventStoreError(.checkpoint, "cannot read the index checkpoint '\(path)': \(error); delete it to rebuild the index from the log.")
            }
            // A checkpoint ahead of the log belongs to another log: rebuild from scratch.
            let fits = try await _checkpointFits(index, client: client, configuration: configuration)
            if !fits { index = _Index() }
        }
        let producer: any MessageProducer
        do { producer = try await client.makeProducer(properties: configuration.producerProperties) } catch {
            throw EventStoreError(.appendFailed, "cannot create the event store's producer: \(error.message)", clientError: error)
        }
        let store = EventStore(configuration: configuration, client: client, producer: producer, index: index)
        try await store.refresh()
        return store
    }

    static func _checkpointFits(_ index: _Index, client: any MessagingClient, configuration: Configuration) async throws(EventStoreError) -> Bool {
        for (topic, positions) in [(configuration.topic, index.eventPositions), (configuration.snapshotTopic, index.snapshotPositions)] {
            let tps = positions.keys.map { TopicPartition(topic, $0) }
            let ends: [TopicPartition: Int64]
            do { ends = try await client.endOffsets(tps) } catch { return false }
            for tp in tps where (ends[tp] ?? -1) < positions[tp.partition]! { return false }
        }
        return true
    }

    // MARK: - Reading the index

    /// The aggregate's version: the number of its events (0 when it has none).
    public func version(of aggregateId: String) -> Int64 {
        _index.withLock { $0.aggregates[aggregateId]?.version ?? 0 }
    }

    /// The ids of every indexed aggregate.
    public func aggregateIds() -> [String] { _index.withLock { Array($0.aggregates.keys) } }

    /// Records skipped while indexing because their version was already taken or left a gap
    /// (two writers of one aggregate; see the type's concurrency guarantee).
    public var anomalies: Int { _index.withLock { $0.anomalies } }

    /// The (partition, offset) of each event of the aggregate, in version order.
    public func locations(of aggregateId: String) -> [(partition: Int32, offset: Int64)] {
        _index.withLock { $0.aggregates[aggregateId]?.locations.map { ($0.p, $0.o) } ?? [] }
    }
}
