import Foundation
import Synchronization
public import WeirClient
public import WeirFormat
import WeirLog

/// An event to append: its type and payload (and any extra headers).
public struct NewEvent: Sendable, Hashable {
    /// The event type, written to the `event.type` header (`OrderPlaced`).
    public var type: String
    /// The payload bytes (the record value).
    public var payload: [UInt8]
    /// Extra headers (a schema version, a trace context, …).
    public var headers: [RecordHeader]

    public init(type: String, payload: [UInt8], headers: [RecordHeader] = []) {
        self.type = type
        self.payload = payload
        self.headers = headers
    }

    /// An event whose payload is `value` as JSON.
    public static func json<T: Encodable>(_ type: String, _ value: T, headers: [RecordHeader] = []) throws(EventStoreError) -> NewEvent {
        do { return NewEvent(type: type, payload: Array(try JSONEncoder().encode(value)), headers: headers) } catch {
            throw EventStoreError(.codec, "cannot encode event '\(type)' as JSON: \(error).")
        }
    }
}

/// An event as stored: the aggregate, its version and where it lies in the log.
public struct EventRecord: Sendable, Hashable {
    public var aggregateId: String
    /// The aggregate's version after this event (1 for the first event).
    public var version: Int64
    public var type: String
    public var payload: [UInt8]
    /// All headers of the record (including `event.type` and `aggregate.version`).
    public var headers: [RecordHeader]
    public var partition: Int32
    public var offset: Int64
    /// `CreateTime`, ms since the epoch.
    public var timestamp: Int64

    /// The payload decoded from JSON.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(EventStoreError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(payload)) } catch {
            throw EventStoreError(.codec, "event \(aggregateId)@\(version) (\(self.type)) is not a valid \(T.self): \(error).", aggregateId: aggregateId)
        }
    }
}

extension EventRecord {
    /// The event of a consumed record, nil when the record is not an event-store record (no
    /// key or no `aggregate.version` header).
    public init?(_ record: ConsumerRecord) {
        guard let key = record.key, let value = record.value,
              let v = record.headers.last(where: { $0.key == EventStore.versionHeader })?.value,
              let version = Int64(String(decoding: v, as: UTF8.self)) else { return nil }
        aggregateId = String(decoding: key, as: UTF8.self)
        self.version = version
        type = record.headers.last { $0.key == EventStore.typeHeader }.flatMap(\.value).map { String(decoding: $0, as: UTF8.self) } ?? ""
        payload = value
        headers = record.headers
        partition = record.partition
        offset = record.offset
        timestamp = record.timestamp
    }
}

/// The state of an aggregate rebuilt by a fold, and the version it reflects.
public struct AggregateState<State: Sendable>: Sendable {
    public var state: State
    /// The number of events folded into `state` (the expected version of the next append).
    public var version: Int64
    /// The snapshot version the fold started from (0 = from the first event).
    public var snapshotVersion: Int64
    /// The events read from the log to rebuild it.
    public var eventsRead: Int
}

/// What one read of an aggregate's events fetched from the log: `recordsFetched` counts every
/// record the reader polled, including neighbours that share a batch, so a test can check that a
/// replay reads O(events of the aggregate), not the topic.
public struct ReplayStatistics: Sendable, Hashable {
    public var eventsReturned = 0
    public var recordsFetched = 0
    public var seeks = 0
}

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

    // MARK: - Appending

    /// Appends `events` to the aggregate if its version is `expectedVersion` (nil: whatever it
    /// is). Returns the stored events with their versions and offsets.
    ///
    /// - Throws: `.concurrencyConflict` when the version differs or another append to the
    ///   aggregate is in flight; `.appendFailed` when the producer fails (the events appended
    ///   before the failure stay appended and indexed); `.invalidArgument` for an empty id or
    ///   list.
    @discardableResult
    public func append(_ events: [NewEvent], to aggregateId: String, expectedVersion: Int64?) async throws(EventStoreError) -> [EventRecord] {
        guard !aggregateId.isEmpty else { throw EventStoreError(.invalidArgument, "the aggregate id is empty; give every aggregate a non-empty id.") }
        guard !events.isEmpty else { throw EventStoreError(.invalidArgument, "no events to append to '\(aggregateId)'.", aggregateId: aggregateId) }
        // Check and reserve atomically.
        let start: Int64 = try _index.withLock { (ix) throws(EventStoreError) -> Int64 in
            var agg = ix.aggregates[aggregateId] ?? _Aggregate()
            if agg.inFlight {
                throw EventStoreError(.concurrencyConflict, "another append to '\(aggregateId)' is in flight; reload the aggregate and retry the command.",
                                      aggregateId: aggregateId, expectedVersion: expectedVersion, actualVersion: agg.version)
            }
            if let expectedVersion, expectedVersion != agg.version {
                throw EventStoreError(.concurrencyConflict, "'\(aggregateId)' is at version \(agg.version), not the expected \(expectedVersion); reload the aggregate and retry the command.",
                                      aggregateId: aggregateId, expectedVersion: expectedVersion, actualVersion: agg.version)
            }
            agg.inFlight = true
            ix.aggregates[aggregateId] = agg
            return agg.version
        }
        var stored: [EventRecord] = []
        var failure: EventStoreError?
        let key = Array(aggregateId.utf8)
        for (i, event) in events.enumerated() {
            let version = start + Int64(i) + 1
            var headers = event.headers
            headers.append(RecordHeader(key: Self.typeHeader, value: Array(event.type.utf8)))
            headers.append(RecordHeader(key: Self.versionHeader, value: Array(String(version).utf8)))
            do {
                let md = try await _producer.send(ProducerRecord(topic: configuration.topic, key: key, value: event.payload, headers: headers))
                stored.append(EventRecord(aggregateId: aggregateId, version: version, type: event.type, payload: event.payload, headers: headers,
                                          partition: md.partition, offset: md.offset, timestamp: md.timestamp))
                _index.withLock { ix in ix.aggregates[aggregateId, default: _Aggregate()].locations.append(_Location(p: md.partition, o: md.offset)) }
            } catch {
                failure = EventStoreError(.appendFailed, "appending event \(version) (\(event.type)) of '\(aggregateId)' failed: \(error.message)",
                                          aggregateId: aggregateId, clientError: error)
                break
            }
        }
        _index.withLock { ix in
            ix.aggregates[aggregateId]?.inFlight = false
            if ix.aggregates[aggregateId]?.locations.isEmpty == true { ix.aggregates[aggregateId] = nil }
        }
        if let failure { throw failure }
        return stored
    }

    /// Appends one event whose payload is `value` as JSON.
    @discardableResult
    public func append<T: Encodable>(_ type: String, _ value: T, to aggregateId: String, expectedVersion: Int64?) async throws(EventStoreError) -> EventRecord {
        try await append([.json(type, value)], to: aggregateId, expectedVersion: expectedVersion)[0]
    }

    // MARK: - Replay

    /// The aggregate's events with a version above `version`, in order, read from the indexed
    /// offsets only.
    public func events(of aggregateId: String, after version: Int64 = 0) async throws(EventStoreError) -> [EventRecord] {
        try await readEvents(of: aggregateId, after: version).events
    }

    /// `events(of:after:)` with what the read fetched from the log.
    public func readEvents(of aggregateId: String, after version: Int64 = 0) async throws(EventStoreError) -> (events: [EventRecord], statistics: ReplayStatistics) {
        let locations = _index.withLock { ix -> [_Location] in
            guard let agg = ix.aggregates[aggregateId], version < agg.version else { return [] }
            return Array(agg.locations[Int(max(0, version))...])
        }
        guard !locations.isEmpty else { return ([], ReplayStatistics()) }
        let (records, fetched) = try await _read(topic: configuration.topic, locations)
        var statistics = fetched
        var out: [EventRecord] = []
        out.reserveCapacity(records.count)
        for (i, r) in records.enumerated() {
            guard let e = EventRecord(r), e.aggregateId == aggregateId, e.version == version + Int64(i) + 1 else {
                throw EventStoreError(.readFailed, "\(configuration.topic)-\(r.partition)@\(r.offset) is not event \(version + Int64(i) + 1) of '\(aggregateId)'; the index does not match the log. Delete the index checkpoint to rebuild it.", aggregateId: aggregateId)
            }
            out.append(e)
        }
        statistics.eventsReturned = out.count
        return (out, statistics)
    }

    /// Rebuilds the aggregate by folding all its events into `initial`.
    public func rebuildAggregate<State: Sendable>(_ aggregateId: String, initial: State,
                                                  _ fold: (State, EventRecord) throws -> State) async throws(EventStoreError) -> AggregateState<State> {
        let events = try await self.events(of: aggregateId)
        return try _fold(aggregateId, initial, 0, events, fold)
    }

    /// Rebuilds the aggregate from its latest snapshot (JSON of `State`) and the events after
    /// the snapshot's version; from `initial` and every event when it has no snapshot.
    public func rebuildAggregate<State: Codable & Sendable>(_ aggregateId: String, initial: State, useSnapshot: Bool,
                                                            _ fold: (State, EventRecord) throws -> State) async throws(EventStoreError) -> AggregateState<State> {
        guard useSnapshot, let snapshot = try await latestSnapshot(of: aggregateId) else {
            return try await rebuildAggregate(aggregateId, initial: initial, fold)
        }
        let state: State
        do { state = try JSONDecoder().decode(State.self, from: Data(snapshot.state)) } catch {
            throw EventStoreError(.codec, "the snapshot of '\(aggregateId)' at version \(snapshot.version) is not a valid \(State.self): \(error); save a new snapshot or rebuild without.", aggregateId: aggregateId)
        }
        let events = try await self.events(of: aggregateId, after: snapshot.version)
        return try _fold(aggregateId, state, snapshot.version, events, fold)
    }

    func _fold<State: Sendable>(_ id: String, _ initial: State, _ from: Int64, _ events: [EventRecord],
                                _ fold: (State, EventRecord) throws -> State) throws(EventStoreError) -> AggregateState<State> {
        var state = initial
        for e in events {
            do { state = try fold(state, e) } catch {
                throw EventStoreError(.codec, "folding event \(e.version) (\(e.type)) of '\(id)' failed: \(error).", aggregateId: id)
            }
        }
        return AggregateState(state: state, version: from + Int64(events.count), snapshotVersion: from, eventsRead: events.count)
    }

    // MARK: - Snapshots

    /// A saved state of an aggregate at a version.
    public struct Snapshot: Sendable, Hashable {
        public var aggregateId: String
        public var version: Int64
        public var state: [UInt8]
    }

    /// Saves `state` as the aggregate's snapshot at `version` in the compacted snapshot topic.
    public func saveSnapshot(of aggregateId: String, version: Int64, state: [UInt8]) async throws(EventStoreError) {
        let current = self.version(of: aggregateId)
        guard version >= 1, version <= current else {
            throw EventStoreError(.invalidArgument, "a snapshot of '\(aggregateId)' at version \(version) is outside 1...\(current); snapshot a state you rebuilt.", aggregateId: aggregateId)
        }
        let record = ProducerRecord(topic: configuration.snapshotTopic, key: Array(aggregateId.utf8), value: state,
                                    headers: [RecordHeader(key: Self.versionHeader, value: Array(String(version).utf8))])
        let md: RecordMetadata
        do { md = try await _producer.send(record) } catch {
            throw EventStoreError(.appendFailed, "saving the snapshot of '\(aggregateId)' failed: \(error.message)", aggregateId: aggregateId, clientError: error)
        }
        _index.withLock { ix in
            if (ix.snapshots[aggregateId]?.version ?? 0) <= version {
                ix.snapshots[aggregateId] = _Snapshot(location: _Location(p: md.partition, o: md.offset), version: version)
            }
        }
    }

    /// Saves `state` as JSON.
    public func saveSnapshot<State: Encodable & Sendable>(of aggregateId: String, _ state: AggregateState<State>) async throws(EventStoreError) {
        let bytes: [UInt8]
        do { bytes = Array(try JSONEncoder().encode(state.state)) } catch {
            throw EventStoreError(.codec, "cannot encode the snapshot of '\(aggregateId)': \(error).", aggregateId: aggregateId)
        }
        try await saveSnapshot(of: aggregateId, version: state.version, state: bytes)
    }

    /// The aggregate's latest snapshot, nil when it has none.
    public func latestSnapshot(of aggregateId: String) async throws(EventStoreError) -> Snapshot? {
        guard let s = _index.withLock({ $0.snapshots[aggregateId] }) else { return nil }
        let records = try await _read(topic: configuration.snapshotTopic, [s.location]).records
        guard let r = records.first, let value = r.value else { return nil }
        return Snapshot(aggregateId: aggregateId, version: s.version, state: value)
    }

    // MARK: - Scanning

    /// Indexes what was appended to the topics since the last scan (by other processes, or
    /// everything on the first open).
    public func refresh() async throws(EventStoreError) {
        let (eventStart, snapStart) = _index.withLock { ($0.eventPositions, $0.snapshotPositions) }
        let events = try await _scan(configuration.topic, from: eventStart)
        let snaps = try await _scan(configuration.snapshotTopic, from: snapStart)
        _index.withLock { ix in
            for r in events.records {
                guard let key = r.key, let v = r.headers.last(where: { $0.key == Self.versionHeader })?.value,
                      let version = Int64(String(decoding: v, as: UTF8.self)) else { continue }
                let id = String(decoding: key, as: UTF8.self)
                let loc = _Location(p: r.partition, o: r.offset)
                var agg = ix.aggregates[id] ?? _Aggregate()
                if version == agg.version + 1 {
                    agg.locations.append(loc)
                } else if version >= 1, version <= agg.version, agg.locations[Int(version - 1)] == loc {
                    // Appended by this store and already indexed.
                } else {
                    ix.anomalies += 1
                }
                ix.aggregates[id] = agg
            }
            for r in snaps.records {
                guard let key = r.key, r.value != nil, let v = r.headers.last(where: { $0.key == Self.versionHeader })?.value,
                      let version = Int64(String(decoding: v, as: UTF8.self)) else { continue }
                let id = String(decoding: key, as: UTF8.self)
                if (ix.snapshots[id]?.version ?? 0) <= version {
                    ix.snapshots[id] = _Snapshot(location: _Location(p: r.partition, o: r.offset), version: version)
                }
            }
            ix.eventPositions.merge(events.positions) { max($0, $1) }
            ix.snapshotPositions.merge(snaps.positions) { max($0, $1) }
        }
    }

    /// Saves the index to `indexCheckpointPath` (atomically); a no-op without one.
    public func checkpointIndex() throws(EventStoreError) {
        guard let path = configuration.indexCheckpointPath else { return }
        let data: Data
        do {
            data = try _index.withLock { ix in try JSONEncoder().encode(ix) }
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw EventStoreError(.checkpoint, "cannot write the index checkpoint '\(path)': \(error); check that the directory is writable.")
        }
    }

    /// Saves the index checkpoint (when configured) and closes the producer.
    public func close() async {
        try? checkpointIndex()
        await _producer.close()
    }

    func _makeReader(maxPollRecords: Int? = nil) async throws(EventStoreError) -> any MessageConsumer {
        var props = configuration.consumerProperties
        if let maxPollRecords { props["max.poll.records"] = String(maxPollRecords) }
        props["enable.auto.commit"] = "false"
        props["auto.offset.reset"] = props["auto.offset.reset"] ?? "earliest"
        do { return try await client.makeConsumer(properties: props) } catch {
            throw EventStoreError(.readFailed, "cannot create a reader: \(error.message)", clientError: error)
        }
    }

    /// Reads every record of `topic` from `from` (per partition; 0 when absent) to the current
    /// end offsets.
    func _scan(_ topic: String, from: [Int32: Int64]) async throws(EventStoreError) -> (records: [ConsumerRecord], positions: [Int32: Int64]) {
        let count: Int
        let ends: [TopicPartition: Int64]
        do {
            count = try await client.partitionCount(topic)
            ends = try await client.endOffsets((0..<count).map { TopicPartition(topic, Int32($0)) })
        } catch {
            throw EventStoreError(.readFailed, "cannot read the end offsets of '\(topic)': \(error.message)", clientError: error)
        }
        var positions: [Int32: Int64] = [:]
        var pending: [TopicPartition] = []
        for (tp, end) in ends {
            let start = from[tp.partition] ?? 0
            positions[tp.partition] = max(start, end)
            if start < end { pending.append(tp) }
        }
        guard !pending.isEmpty else { return ([], positions) }
        let reader = try await _makeReader()
        var records: [ConsumerRecord] = []
        do {
            try await reader.assign(pending)
            for tp in pending { try await reader.seek(tp, to: from[tp.partition] ?? 0) }
            var remaining = Set(pending)
            var idle = 0
            while !remaining.isEmpty {
                let got = try await reader.poll(timeout: .milliseconds(50))
                if got.isEmpty {
                    // What is left is control records or aborted data, which poll skips.
                    idle += 1
                    if idle >= 4 { break }
                    continue
                }
                idle = 0
                for r in got {
                    let end = ends[r.topicPartition]!
                    if r.offset < end { records.append(r) }
                    if r.offset + 1 >= end { remaining.remove(r.topicPartition) }
                }
            }
        } catch {
            await reader.close()
            throw EventStoreError(.readFailed, "scanning '\(topic)' failed: \(error.message)", clientError: error)
        }
        await reader.close()
        return (records, positions)
    }

    /// Reads exactly the records at `locations` (in order): seeks to each run of consecutive
    /// offsets and polls until the run is read.
    func _read(topic: String, _ locations: [_Location]) async throws(EventStoreError) -> (records: [ConsumerRecord], statistics: ReplayStatistics) {
        // A poll returns at most the longest run of consecutive offsets, so a replay of an
        // aggregate whose events are interleaved with others fetches its own records only.
        var longestRun = 1, run = 1
        let sorted = locations.sorted { ($0.p, $0.o) < ($1.p, $1.o) }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            run = (a.p == b.p && b.o == a.o + 1) ? run + 1 : 1
            longestRun = max(longestRun, run)
        }
        let reader = try await _makeReader(maxPollRecords: min(500, longestRun))
        var found: [_Location: ConsumerRecord] = [:]
        var stats = ReplayStatistics()
        do {
            let partitions = Set(locations.map(\.p)).sorted()
            try await reader.assign(partitions.map { TopicPartition(topic, $0) })
            for p in partitions {
                let offsets = locations.filter { $0.p == p }.map(\.o).sorted()
                let tp = TopicPartition(topic, p)
                var i = 0
                var position: Int64 = -1
                var idle = 0
                while i < offsets.count {
                    if position != offsets[i] {
                        try await reader.seek(tp, to: offsets[i])
                        stats.seeks += 1
                        position = offsets[i]
                    }
                    let got = try await reader.poll(timeout: .milliseconds(100))
                    if got.isEmpty {
                        idle += 1
                        if idle >= 20 { break }
                        continue
                    }
                    idle = 0
                    stats.recordsFetched += got.count
                    for r in got {
                        position = r.offset + 1
                        while i < offsets.count, offsets[i] < r.offset { i += 1 } // missing: reported below
                        if i < offsets.count, offsets[i] == r.offset {
                            found[_Location(p: p, o: r.offset)] = r
                            i += 1
                        }
                    }
                }
            }
        } catch {
            await reader.close()
            throw EventStoreError(.readFailed, "reading '\(topic)' failed: \(error.message)", clientError: error)
        }
        await reader.close()
        var out: [ConsumerRecord] = []
        out.reserveCapacity(locations.count)
        for loc in locations {
            guard let r = found[loc] else {
                throw EventStoreError(.readFailed, "\(topic)-\(loc.p)@\(loc.o) is indexed but no longer in the log (retention or compaction removed it); keep event topics with retention.ms=-1, or rebuild from a snapshot.")
            }
            out.append(r)
        }
        return (out, stats)
    }
}
