import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

// Keeping the index current: scanning new records, the index checkpoint, closing.
extension EventStore {
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
}
