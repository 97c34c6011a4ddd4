import Foundation
import Synchronization
import WeirFormat
import WeirLog

/// Committed offsets of every group, kept durably in the compacted internal topic
/// `__consumer_offsets` of the log directory, in Kafka's own record format:
///
/// - key: `OffsetCommitKey` version 1 — int16 version, string group, string topic, int32 partition;
/// - value: `OffsetCommitValue` version 3 — int16 version, int64 offset, int32 leader epoch,
///   string metadata, int64 commit timestamp; a null value (tombstone) deletes the commit.
///
/// A group's commits go to partition `abs(groupId.hashCode) % partitionCount`, as Kafka computes
/// it. The log is the source of truth: the in-memory table is a view that catches up with the log
/// (up to the last stable offset, applying transactional commits — `sendOffsetsToTransaction` —
/// only when their commit marker is read, and dropping aborted ones).
final class _OffsetStore: Sendable {
    static let topic = InternalTopics.consumerOffsets

    struct _Pending { var group: String; var tp: TopicPartition; var value: OffsetAndMetadata? }
    struct State {
        var offsets: [String: [TopicPartition: OffsetAndMetadata]] = [:]
        var readPositions: [Int32: Int64] = [:]
        /// Transactional commits not yet decided, per producer id.
        var pending: [Int64: [_Pending]] = [:]
    }

    let directory: LogDirectory
    let state = Mutex(State())

    init(directory: LogDirectory) {
        self.directory = directory
    }

    /// Appends commits (nil value: delete) for `group` and waits until they are in the mapping
    /// (`acks=1`: they survive a process crash).
    func write(group: String, _ offsets: [TopicPartition: OffsetAndMetadata?]) throws(ClientError) {
        guard !offsets.isEmpty else { return }
        let tp = try InternalTopics.offsetsPartition(forGroup: group, in: directory)
        let log: PartitionLog
        do { log = try directory.partition(tp) } catch { throw ClientError(error) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: Int(Int32.max))
            for (tp, v) in offsets.sorted(by: { $0.key < $1.key }) {
                let value = v.map { InternalTopics.offsetCommitValue(OffsetAndMetadata(offset: $0.offset, metadata: $0.metadata, commitTimestamp: $0.commitTimestamp == 0 ? now : $0.commitTimestamp, leaderEpoch: $0.leaderEpoch)) }
                _ = b.append(timestamp: now, key: InternalTopics.offsetCommitKey(group: group, topic: tp.topic, partition: tp.partition), value: value)
            }
            _ = try b.seal()
            try b.withUnsafeSealedBytes { (bytes) throws(LogError) in _ = try log.append(bytes) }
        } catch let e as LogError {
            throw ClientError(e)
        } catch {
            throw ClientError(.log, "writing the offsets of group \(group) to \(Self.topic) failed: \(error)")
        }
        catchUp()
    }

    /// The committed offsets of `group`.
    func committed(group: String) -> [TopicPartition: OffsetAndMetadata] {
        catchUp()
        return state._withLock { $0.offsets[group] ?? [:] }
    }

    /// Every group with at least one committed offset.
    func groups() -> [String] {
        catchUp()
        return state._withLock { $0.offsets.filter { !$0.value.isEmpty }.keys.sorted() }
    }

    /// Reads what the log has beyond the table (up to each partition's last stable offset).
    func catchUp() {
        guard directory.topicNames.contains(Self.topic), let count = try? directory.partitionCount(Self.topic) else { return }
        state._withLock { s in
            for p in 0..<Int32(count) {
                guard let log = try? directory.partition(Self.topic, p) else { continue }
                var next = max(s.readPositions[p] ?? 0, log.logStartOffset)
                let limit = log.lastStableOffset
                while next < limit, let r = try? log.read(from: next, maxBytes: 1 << 20, maxOffset: limit), !r.batches.isEmpty {
                    for b in r.batches { Self._apply(b, from: next, &s) }
                    next = r.nextOffset
                }
                s.readPositions[p] = next
            }
        }
    }

    static func _apply(_ b: RecordBatchView, from: Int64, _ s: inout State) {
        let header = b.header
        let decoder = RecordBatchDecoder(checkCRCs: false)
        if header.isControl {
            var isCommit = false
            b.withUnsafeBytes { bytes in
                try? decoder.forEachRecord(in: bytes) { (rec) throws(RecordBatchError) in
                    if let m = try? ControlRecord(rec) { isCommit = m.type == .commit }
                }
            }
            let list = s.pending.removeValue(forKey: header.producerId) ?? []
            if isCommit { for e in list { _set(e, &s) } }
            return
        }
        b.withUnsafeBytes { bytes in
            try? decoder.forEachRecord(in: bytes) { (rec) throws(RecordBatchError) in
                guard rec.offset >= from, let k = rec.key, let key = InternalTopics.parseOffsetCommitKey(k) else { return }
                let value = rec.value.flatMap { InternalTopics.parseOffsetCommitValue($0) }
                let entry = _Pending(group: key.group, tp: TopicPartition(key.topic, key.partition), value: rec.value == nil ? nil : value)
                if rec.value != nil && value == nil { return }
                if header.isTransactional {
                    s.pending[header.producerId, default: []].append(entry)
                } else {
                    _set(entry, &s)
                }
            }
        }
    }

    static func _set(_ e: _Pending, _ s: inout State) {
        if let v = e.value { s.offsets[e.group, default: [:]][e.tp] = v } else { s.offsets[e.group]?[e.tp] = nil }
    }
}

// MARK: - Kafka's OffsetCommitKey v1 / OffsetCommitValue v3

/// The one codec of `__consumer_offsets` records, used by the offsets store, by
/// `sendOffsetsToTransaction` and by anything that reads the topic. Decoding works in place on
/// the record's bytes (no copy); the `[UInt8]` forms are conveniences over it.
extension InternalTopics {
    /// Kafka's `OffsetCommitKey` version 1: int16 version, string group, string topic, int32 partition.
    public static func offsetCommitKey(group: String, topic: String, partition: Int32) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(10 + group.utf8.count + topic.utf8.count)
        _putBE(&o, 1, 2)
        _putString(&o, group)
        _putString(&o, topic)
        _putBE(&o, Int64(partition), 4)
        return o
    }

    /// Kafka's `OffsetCommitValue` version 3: int16 version, int64 offset, int32 leader epoch,
    /// string metadata, int64 commit timestamp (ms since the epoch).
    public static func offsetCommitValue(offset: Int64, metadata: String = "", commitTimestamp: Int64, leaderEpoch: Int32 = -1) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(24 + metadata.utf8.count)
        _putBE(&o, 3, 2)
        _putBE(&o, offset, 8)
        _putBE(&o, Int64(leaderEpoch), 4)
        _putString(&o, metadata)
        _putBE(&o, commitTimestamp, 8)
        return o
    }

    /// The `__consumer_offsets` partition that holds `group`'s commits in `directory` (the topic
    /// is created if missing).
    static func offsetsPartition(forGroup group: String, in directory: LogDirectory) throws(ClientError) -> TopicPartition {
        try ensure(consumerOffsets, partitions: consumerOffsetsPartitionCount, in: directory)
        let count: Int
        do { count = try directory.partitionCount(consumerOffsets) } catch { throw ClientError(error) }
        return TopicPartition(consumerOffsets, offsetsPartition(forGroup: group, partitionCount: count))
    }

    /// Writes `offsets` for `group` transactionally (Kafka's `TxnOffsetCommit`) to `partition` of
    /// `__consumer_offsets` with acks=all; they become visible with the transaction's commit
    /// marker. The producer's `sendOffsetsToTransaction` and the coordinator's wire handler both
    /// write them.
    static func appendTransactionalOffsets(
        _ offsets: [TopicPartition: Int64], group: String, producerId: Int64, epoch: Int16,
        to partition: TopicPartition, in directory: LogDirectory
    ) async throws(ClientError) {
        do {
            let bytes = try transactionalOffsetsBatch(producerId: producerId, epoch: epoch, group: group, offsets)
            try await directory.partition(partition).append(bytes, acks: .all)
        } catch let e as LogError {
            throw ClientError(e)
        } catch {
            throw ClientError(.log, "writing transactional offsets for group \(group) failed: \(error)")
        }
    }

    /// The transactional batch of `offsets` for `group` (Kafka's `TxnOffsetCommit`).
    static func transactionalOffsetsBatch(producerId: Int64, epoch: Int16, group: String,
                                          _ offsets: [TopicPartition: Int64]) throws -> [UInt8] {
        let now = _wallMillis()
        let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: Int(Int32.max))
        b.producerId = producerId
        b.producerEpoch = epoch
        b.baseSequence = -1
        b.isTransactional = true
        for (p, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            b.append(timestamp: now, key: offsetCommitKey(group: group, topic: p.topic, partition: p.partition),
                     value: offsetCommitValue(offset: offset, commitTimestamp: now))
        }
        try b.seal()
        return b.sealedBytes()
    }

    /// An `OffsetCommitValue` of `value` (version 3).
    static func offsetCommitValue(_ value: OffsetAndMetadata) -> [UInt8] {
        offsetCommitValue(offset: value.offset, metadata: value.metadata, commitTimestamp: value.commitTimestamp, leaderEpoch: value.leaderEpoch)
    }

    /// Parses an `OffsetCommitKey` v0/v1 in place: (group, topic, partition); nil for the other
    /// keys of the topic (group metadata, version 2) and for a truncated key.
    public static func parseOffsetCommitKey(_ b: UnsafeRawBufferPointer) -> (group: String, topic: String, partition: Int32)? {
        var p = 0
        guard let v = _getBE(b, &p, 2), v == 0 || v == 1, let g = _getString(b, &p), let t = _getString(b, &p),
              let part = _getBE(b, &p, 4) else { return nil }
        return (g, t, Int32(truncatingIfNeeded: part))
    }

    /// Parses an `OffsetCommitValue` v0…v3 in place (only v3 has a leader epoch; the expire
    /// timestamp of v1 is skipped); nil for a truncated value or another version.
    public static func parseOffsetCommitValue(_ b: UnsafeRawBufferPointer) -> OffsetAndMetadata? {
        var p = 0
        guard let v = _getBE(b, &p, 2), (0...3).contains(v), let offset = _getBE(b, &p, 8) else { return nil }
        var epoch: Int32 = -1
        if v == 3 {
            guard let e = _getBE(b, &p, 4) else { return nil }
            epoch = Int32(truncatingIfNeeded: e)
        }
        guard let metadata = _getString(b, &p), let ts = _getBE(b, &p, 8) else { return nil }
        return OffsetAndMetadata(offset: offset, metadata: metadata, commitTimestamp: ts, leaderEpoch: epoch)
    }

    /// `parseOffsetCommitKey` over an array.
    public static func parseOffsetCommitKey(_ b: [UInt8]) -> (group: String, topic: String, partition: Int32)? {
        b.withUnsafeBytes { parseOffsetCommitKey($0) }
    }

    /// `parseOffsetCommitValue` over an array.
    public static func parseOffsetCommitValue(_ b: [UInt8]) -> OffsetAndMetadata? {
        b.withUnsafeBytes { parseOffsetCommitValue($0) }
    }

    static func _putBE(_ o: inout [UInt8], _ v: Int64, _ n: Int) {
        let u = UInt64(bitPattern: v)
        for i in stride(from: n - 1, through: 0, by: -1) { o.append(UInt8(truncatingIfNeeded: u >> (UInt64(i) * 8))) }
    }
    static func _putString(_ o: inout [UInt8], _ s: String) {
        _putBE(&o, Int64(s.utf8.count), 2)
        o += s.utf8
    }
    /// A big-endian signed integer of `n` bytes at `p`, or nil past the end.
    static func _getBE(_ b: UnsafeRawBufferPointer, _ p: inout Int, _ n: Int) -> Int64? {
        guard p + n <= b.count else { return nil }
        var u: UInt64 = 0
        for i in 0..<n { u = u << 8 | UInt64(b[p + i]) }
        p += n
        let shift = UInt64(64 - n * 8)
        return Int64(bitPattern: u << shift) >> Int64(shift)
    }
    static func _getString(_ b: UnsafeRawBufferPointer, _ p: inout Int) -> String? {
        guard let n = _getBE(b, &p, 2), n >= 0, p + Int(n) <= b.count else { return nil }
        defer { p += Int(n) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: b[p..<(p + Int(n))]), as: UTF8.self)
    }
}
