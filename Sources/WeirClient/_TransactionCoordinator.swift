import Foundation
import Synchronization
import WeirFormat
import WeirLog

/// Names and settings of the internal topics the client keeps in a log directory.
public enum InternalTopics {
    /// `__transaction_state`: one record per `transactional.id` (producer id, epoch, state,
    /// partitions), compacted. Kafka's transaction log.
    public static let transactionState = "__transaction_state"
    /// `__consumer_offsets`: committed offsets, in Kafka's `OffsetCommitKey` v1 /
    /// `OffsetCommitValue` v3 format, compacted. Transactional commits
    /// (`sendOffsetsToTransaction`) are written here inside the transaction.
    public static let consumerOffsets = "__consumer_offsets"
    /// The partition count `__consumer_offsets` is created with (Kafka's
    /// `offsets.topic.num.partitions`, 50 on a broker; fewer suits an embedded log).
    public static let consumerOffsetsPartitionCount = 4
    /// `segment.bytes` of the internal topics.
    public static let segmentBytes = 8 << 20

    /// Whether a topic name is internal (starts with `__`).
    public static func isInternal(_ topic: String) -> Bool { topic.hasPrefix("__") }

    /// The `__consumer_offsets` partition of a group, as Kafka computes it:
    /// `abs(groupId.hashCode()) % partitionCount` (Java's `String.hashCode` over UTF-16).
    public static func offsetsPartition(forGroup groupId: String, partitionCount: Int) -> Int32 {
        var h: Int32 = 0
        for unit in groupId.utf16 { h = h &* 31 &+ Int32(unit) }
        let positive = h == .min ? 0 : abs(h)
        return positive % Int32(partitionCount)
    }

    /// Creates an internal topic if it does not exist (compacted, small segments).
    static func ensure(_ name: String, partitions: Int, in dir: LogDirectory) throws(ClientError) {
        if dir.topicNames.contains(name) { return }
        do {
            try dir.createTopic(name, partitions: partitions,
                                config: LogConfig(segmentBytes: segmentBytes, segmentIndexBytes: 1 << 20, cleanupPolicy: .compact))
        } catch where error.code == .topicAlreadyExists {
        } catch {
            throw ClientError(error)
        }
    }
}

/// The transaction coordinator of one log directory (Kafka's `TransactionCoordinator` on the
/// embedded node): producer ids, epochs and fencing per `transactional.id`, the transaction
/// state (`__transaction_state`), markers, and timeouts.
final class _TransactionCoordinator: Sendable {
    enum TxnState: String, Codable, Sendable { case empty, ongoing, prepareCommit, prepareAbort, completeCommit, completeAbort }

    struct TxnMetadata: Codable, Sendable {
        var producerId: Int64
        var epoch: Int16
        var state: TxnState
        var timeoutMs: Int64
        var partitions: [String]  // "topic-partition" (encoded as topic + "\u{0}" + partition)
        var startMillis: Int64
        var generation: UInt64 = 0
        /// Set when the coordinator aborted the transaction on timeout (not persisted meaning).
        var timedOut: Bool = false
    }

    struct State {
        var nextProducerId: Int64
        var txns: [String: TxnMetadata] = [:]
    }

    let directory: LogDirectory
    let state: Mutex<State>

    private static let registry = _PerDirectory<_TransactionCoordinator>()

    /// The coordinator of `directory` (one per open directory).
    static func shared(for directory: LogDirectory) -> _TransactionCoordinator {
        registry.value(for: directory) { _TransactionCoordinator(directory: directory) }
    }

    private init(directory: LogDirectory) {
        self.directory = directory
        var maxPid: Int64 = -1
        for log in directory.allPartitions { maxPid = max(maxPid, log.largestProducerId) }
        var txns: [String: TxnMetadata] = [:]
        if let log = try? directory.partition(InternalTopics.transactionState, 0) {
            let decoder = RecordBatchDecoder()
            var next = log.logStartOffset
            while next < log.highWatermark, let r = try? log.read(from: next, maxBytes: 1 << 20), !r.batches.isEmpty {
                for b in r.batches {
                    try? b.withUnsafeBytes { bytes in
                        try decoder.forEachRecord(in: bytes) { rec in
                            guard let k = rec.key, let v = rec.value else { return }
                            let id = String(decoding: k, as: UTF8.self)
                            if let m = try? JSONDecoder().decode(TxnMetadata.self, from: Data(v)) {
                                txns[id] = m
                                maxPid = max(maxPid, m.producerId)
                            }
                        }
                    }
                }
                next = r.nextOffset
            }
        }
        state = Mutex(State(nextProducerId: maxPid + 1, txns: txns))
    }

    func allocateProducerId() -> Int64 {
        state._withLock { s in
            defer { s.nextProducerId += 1 }
            return s.nextProducerId
        }
    }

    static func _tpKey(_ tp: TopicPartition) -> String { "\(tp.topic)\u{0}\(tp.partition)" }
    static func _tp(_ key: String) -> TopicPartition? {
        guard let i = key.lastIndex(of: "\u{0}"), let p = Int32(key[key.index(after: i)...]) else { return nil }
        return TopicPartition(String(key[..<i]), p)
    }

    func _persist(_ id: String, _ m: TxnMetadata) throws(ClientError) {
        try InternalTopics.ensure(InternalTopics.transactionState, partitions: 1, in: directory)
        let value: [UInt8]
        do { value = Array(try JSONEncoder().encode(m)) } catch {
            throw ClientError(.log, "cannot encode the state of transactional.id \(id): \(error)")
        }
        do {
            let log = try directory.partition(InternalTopics.transactionState, 0)
            let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 20)
            b.append(timestamp: _wallMillis(), key: Array(id.utf8), value: value)
            try b.seal()
            try b.withUnsafeSealedBytes { (bytes) throws(LogError) in _ = try log.append(bytes) }
        } catch let e as LogError {
            throw ClientError(e)
        } catch {
            throw ClientError(.log, "writing the state of transactional.id \(id) failed: \(error)")
        }
    }

    /// `InitProducerId`: a producer id and a bumped epoch for `id`; an open transaction of an
    /// older epoch is aborted first (fencing the old producer).
    func initProducerId(_ id: String, timeoutMs: Int64) async throws(ClientError) -> (Int64, Int16) {
        var pending: (TxnMetadata, Int16)? = nil
        let existing = state._withLock { $0.txns[id] }
        if let m = existing, m.state == .ongoing || m.state == .prepareAbort || m.state == .prepareCommit {
            // Abort (or finish committing) the old epoch's transaction with a bumped epoch.
            pending = (m, m.epoch &+ 1)
        }
        if let (m, epoch) = pending {
            try await _writeMarkers(m, epoch: epoch, commit: m.state == .prepareCommit)
        }
        let result: (Int64, Int16, TxnMetadata) = state._withLock { s in
            var m = s.txns[id] ?? TxnMetadata(producerId: s.nextProducerId, epoch: -1, state: .empty, timeoutMs: timeoutMs, partitions: [], startMillis: 0)
            if s.txns[id] == nil { s.nextProducerId += 1 }
            if let (_, e) = pending { m.epoch = e }
            if m.epoch >= Int16.max - 1 {
                m.producerId = s.nextProducerId
                s.nextProducerId += 1
                m.epoch = -1
            }
            m.epoch += 1
            m.state = .empty
            m.partitions = []
            m.timeoutMs = timeoutMs
            m.generation &+= 1
            m.timedOut = false
            s.txns[id] = m
            return (m.producerId, m.epoch, m)
        }
        try _persist(id, result.2)
        return (result.0, result.1)
    }

    func _check(_ s: State, _ id: String, _ pid: Int64, _ epoch: Int16) throws(ClientError) -> TxnMetadata {
        guard let m = s.txns[id], m.producerId == pid else {
            throw ClientError(.invalidTransactionState, "transactional.id \(id) has no producer id \(pid); call initTransactions().")
        }
        if m.epoch != epoch {
            let why = m.timedOut ? "its transaction exceeded transaction.timeout.ms=\(m.timeoutMs) and was aborted" : "a newer producer with the same transactional.id called initTransactions()"
            throw ClientError(m.timedOut ? .transactionTimedOut : .producerFenced, "producer \(pid) epoch \(epoch) of transactional.id \(id) is fenced: \(why). Close this producer and create a new one.")
        }
        return m
    }

    /// `AddPartitionsToTxn`: starts the transaction (and its timeout) on the first partition.
    func addPartitions(_ id: String, pid: Int64, epoch: Int16, _ tps: [TopicPartition]) throws(ClientError) {
        let (m, started): (TxnMetadata, Bool) = try state._withLock { (s: inout State) throws(ClientError) -> (TxnMetadata, Bool) in
            var m = try _check(s, id, pid, epoch)
            var started = false
            if m.state != .ongoing {
                m.state = .ongoing
                m.partitions = []
                m.startMillis = _wallMillis()
                m.generation &+= 1
                started = true
            }
            for tp in tps where !m.partitions.contains(Self._tpKey(tp)) { m.partitions.append(Self._tpKey(tp)) }
            s.txns[id] = m
            return (m, started)
        }
        try _persist(id, m)
        if started { _scheduleTimeout(id, generation: m.generation, after: m.timeoutMs) }
    }

    func _scheduleTimeout(_ id: String, generation: UInt64, after ms: Int64) {
        Task.detached { [weak self] in
            try? await Task.sleep(for: .milliseconds(ms))
            guard let self else { return }
            let m: TxnMetadata? = self.state._withLock { s in
                guard var m = s.txns[id], m.generation == generation, m.state == .ongoing else { return nil }
                m.state = .prepareAbort
                m.epoch &+= 1  // fence the producer
                m.timedOut = true
                s.txns[id] = m
                return m
            }
            guard let m else { return }
            try? await self._writeMarkers(m, epoch: m.epoch, commit: false)
            let done: TxnMetadata? = self.state._withLock { s in
                guard var m = s.txns[id], m.generation == generation else { return nil }
                m.state = .completeAbort
                m.partitions = []
                s.txns[id] = m
                return m
            }
            if let done { try? self._persist(id, done) }
        }
    }

    /// `EndTxn`: writes commit or abort markers to every partition of the transaction.
    func endTransaction(_ id: String, pid: Int64, epoch: Int16, commit: Bool) async throws(ClientError) {
        let m: TxnMetadata = try state._withLock { (s: inout State) throws(ClientError) -> TxnMetadata in
            var m = try _check(s, id, pid, epoch)
            guard m.state == .ongoing else {
                m.state = commit ? .completeCommit : .completeAbort
                return m
            }
            m.state = commit ? .prepareCommit : .prepareAbort
            s.txns[id] = m
            return m
        }
        if m.state == .completeCommit || m.state == .completeAbort { return }  // nothing was sent
        try _persist(id, m)
        try await _writeMarkers(m, epoch: epoch, commit: commit)
        let done: TxnMetadata = state._withLock { s in
            var d = s.txns[id] ?? m
            d.state = commit ? .completeCommit : .completeAbort
            d.partitions = []
            d.generation &+= 1
            s.txns[id] = d
            return d
        }
        try _persist(id, done)
    }

    /// Writes a control batch (commit or abort) for the transaction to each of its partitions.
    func _writeMarkers(_ m: TxnMetadata, epoch: Int16, commit: Bool) async throws(ClientError) {
        let marker = RecordBatchBuilder.controlBatch(ControlRecord(type: commit ? .commit : .abort), producerId: m.producerId,
                                                     producerEpoch: epoch, timestamp: _wallMillis())
        for key in m.partitions {
            guard let tp = Self._tp(key) else { continue }
            do {
                let log = try directory.partition(tp)
                try await log.append(marker, acks: .all)
            } catch where error.code == .unknownTopicOrPartition {
                continue  // the topic was deleted
            } catch {
                throw ClientError(error)
            }
        }
    }
}
