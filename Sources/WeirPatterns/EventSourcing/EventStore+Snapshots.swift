import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

// Snapshots of an aggregate's state in the compacted snapshots topic.
extension EventStore {
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

}
