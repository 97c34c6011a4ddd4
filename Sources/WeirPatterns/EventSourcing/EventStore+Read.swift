import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

// The readers under the index: scanning a topic and reading indexed offsets.
extension EventStore {
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
