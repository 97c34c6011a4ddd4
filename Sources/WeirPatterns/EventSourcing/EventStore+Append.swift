import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

// Appending events with an expected version (optimistic concurrency).
extension EventStore {
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

}
