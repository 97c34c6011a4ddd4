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

    /// Creates `__consumer_offsets` if it does not exist (compacted; shared with the
    /// producer's `sendOffsetsToTransaction`).
    func ensureTopic() throws(ClientError) {
        try InternalTopics.ensure(Self.topic, partitions: InternalTopics.consumerOffsetsPartitionCount, in: directory)
    }

    /// Appends commits (nil value: delete) for `group` and waits until they are in the mapping
    /// (`acks=1`: they survive a process crash).
    func write(group: String, _ offsets: [TopicPartition: OffsetAndMetadata?]) throws(ClientError) {
        guard !offsets.isEmpty else { return }
        try ensureTopic()
        let log: PartitionLog
        do {
            let count = try directory.partitionCount(Self.topic)
            log = try directory.partition(Self.topic, InternalTopics.offsetsPartition(forGroup: group, partitionCount: count))
        } catch { throw ClientError(error) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: Int(Int32.max))
            for (tp, v) in offsets.sorted(by: { $0.key < $1.key }) {
                let value = v.map { Self.encodeValue(OffsetAndMetadata(offset: $0.offset, metadata: $0.metadata, commitTimestamp: $0.commitTimestamp == 0 ? now : $0.commitTimestamp, leaderEpoch: $0.leaderEpoch)) }
                _ = b.append(timestamp: now, key: Self.encodeKey(group: group, tp), value: value)
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
                guard rec.offset >= from, let k = rec.key, let (group, tp) = decodeKey(k) else { return }
                let value = rec.value.flatMap { decodeValue($0) }
                let entry = _Pending(group: group, tp: tp, value: rec.value == nil ? nil : value)
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

    // MARK: - Kafka's OffsetCommitKey v1 / OffsetCommitValue v3

    static func encodeKey(group: String, _ tp: TopicPartition) -> [UInt8] {
        InternalTopics.offsetCommitKey(group: group, topic: tp.topic, partition: tp.partition)
    }

    static func encodeValue(_ v: OffsetAndMetadata) -> [UInt8] {
        var o: [UInt8] = []
        _put16(&o, 3)
        _put64(&o, v.offset)
        _put32(&o, v.leaderEpoch)
        _putString(&o, v.metadata)
        _put64(&o, v.commitTimestamp)
        return o
    }

    /// (group, topic-partition) of an `OffsetCommitKey` v0/v1; nil for other keys (group metadata).
    static func decodeKey(_ b: UnsafeRawBufferPointer) -> (String, TopicPartition)? {
        var p = 0
        guard let v = _get(b, &p, 2), v <= 1, let g = _getString(b, &p), let t = _getString(b, &p), let part = _get(b, &p, 4) else { return nil }
        return (g, TopicPartition(t, Int32(truncatingIfNeeded: part)))
    }

    /// An `OffsetCommitValue` v1 or v3.
    static func decodeValue(_ b: UnsafeRawBufferPointer) -> OffsetAndMetadata? {
        var p = 0
        guard let v = _get(b, &p, 2), let offset = _get(b, &p, 8) else { return nil }
        var epoch: Int32 = -1
        if v >= 3 { guard let e = _get(b, &p, 4) else { return nil }; epoch = Int32(truncatingIfNeeded: e) }
        guard let metadata = _getString(b, &p) else { return nil }
        let ts = _get(b, &p, 8) ?? 0
        return OffsetAndMetadata(offset: offset, metadata: metadata, commitTimestamp: ts, leaderEpoch: epoch)
    }

    static func _put16(_ o: inout [UInt8], _ v: Int16) { _putBE(&o, UInt64(UInt16(bitPattern: v)), 2) }
    static func _put32(_ o: inout [UInt8], _ v: Int32) { _putBE(&o, UInt64(UInt32(bitPattern: v)), 4) }
    static func _put64(_ o: inout [UInt8], _ v: Int64) { _putBE(&o, UInt64(bitPattern: v), 8) }
    static func _putBE(_ o: inout [UInt8], _ v: UInt64, _ n: Int) {
        for i in stride(from: n - 1, through: 0, by: -1) { o.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
    }
    static func _putString(_ o: inout [UInt8], _ s: String) {
        _put16(&o, Int16(truncatingIfNeeded: s.utf8.count))
        o += Array(s.utf8)
    }
    /// A big-endian signed integer of `n` bytes.
    static func _get(_ b: UnsafeRawBufferPointer, _ p: inout Int, _ n: Int) -> Int64? {
        guard p + n <= b.count else { return nil }
        var u: UInt64 = 0
        for i in 0..<n { u = u << 8 | UInt64(b[p + i]) }
        p += n
        let shift = UInt64(64 - n * 8)
        return Int64(bitPattern: u << shift) >> Int64(shift)
    }
    static func _getString(_ b: UnsafeRawBufferPointer, _ p: inout Int) -> String? {
        guard let n = _get(b, &p, 2), n >= 0, p + Int(n) <= b.count else { return nil }
        defer { p += Int(n) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: b[p..<(p + Int(n))]), as: UTF8.self)
    }
}
