import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

// Reading an aggregate's events back and folding them into its state.
extension EventStore {
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

}
