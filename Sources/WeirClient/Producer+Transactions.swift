import Synchronization
import WeirFormat
public import WeirLog

/// The transactional side of a producer (`transactional.id`).
final class _ProducerTransactions: Sendable {
    enum Phase: Sendable, Equatable { case uninitialized, ready, inTransaction, committing, aborting, fatal }

    struct State {
        var phase: Phase = .uninitialized
        var partitions: Set<TopicPartition> = []
        /// The first error of a record in the current transaction (commit must fail, abort is needed).
        var failure: ClientError? = nil
    }

    let state = Mutex(State())

    func recordFailure(_ e: ClientError) {
        state._withLock { s in if s.phase == .inTransaction && s.failure == nil { s.failure = e } }
    }

    /// Called before a record for `tp` is accumulated: checks the state and adds the partition
    /// to the transaction (Kafka's `AddPartitionsToTxn`) the first time.
    func willSend(_ producer: Producer, to tp: TopicPartition) throws(ClientError) {
        let isNew: Bool = try state._withLock { (s: inout State) throws(ClientError) -> Bool in
            guard s.phase == .inTransaction else {
                throw ClientError(.invalidTransactionState, "a transactional producer sends only inside a transaction (phase \(s.phase)); call beginTransaction() first.")
            }
            return s.partitions.insert(tp).inserted
        }
        if isNew { try producer._coordinatorAdd([tp]) }
    }
}

extension Producer {
    var _coordinator: _TransactionCoordinator { _TransactionCoordinator.shared(for: logDirectory) }

    func _txn(_ call: String) throws(ClientError) -> (_ProducerTransactions, String) {
        guard let t = _transactions, let id = configuration.transactionalId else {
            throw ClientError(.invalidTransactionState, "\(call) needs a transactional producer; set transactional.id.")
        }
        return (t, id)
    }

    func _coordinatorAdd(_ tps: [TopicPartition]) throws(ClientError) {
        let (t, id) = try _txn("send")
        do {
            try _coordinator.addPartitions(id, pid: producerId, epoch: producerEpoch, tps)
        } catch {
            t.state._withLock { $0.phase = .fatal }
            throw error
        }
    }

    /// Kafka's `initTransactions()`: gets the producer id and a new epoch for `transactional.id`,
    /// aborting a transaction left open by an older producer with the same id, which is fenced
    /// from then on. Call once, before the first `beginTransaction()`.
    public func initTransactions() async throws(ClientError) {
        let (t, id) = try _txn("initTransactions()")
        let (pid, epoch) = try await _coordinator.initProducerId(id, timeoutMs: configuration.transactionTimeoutMs)
        _producerId.store(pid, ordering: .relaxed)
        _producerEpoch.store(epoch, ordering: .relaxed)
        for acc in _topics._withLock({ $0.values.flatMap { $0.state.partitions } }) { acc.nextSequence.store(0, ordering: .relaxed) }
        t.state._withLock { s in
            s.phase = .ready
            s.partitions = []
            s.failure = nil
        }
    }

    /// Kafka's `beginTransaction()`.
    public func beginTransaction() throws(ClientError) {
        let (t, _) = try _txn("beginTransaction()")
        try t.state._withLock { (s: inout _ProducerTransactions.State) throws(ClientError) in
            guard s.phase == .ready else {
                throw ClientError(.invalidTransactionState, "beginTransaction() in phase \(s.phase); call initTransactions() first, and commit or abort the previous transaction.")
            }
            s.phase = .inTransaction
            s.partitions = []
            s.failure = nil
        }
    }

    /// Kafka's `sendOffsetsToTransaction`: commits `offsets` (the next offset to consume, i.e.
    /// last processed + 1) for consumer group `groupId` as part of the transaction. They are
    /// written, transactionally, to `__consumer_offsets` in Kafka's offset-commit format and
    /// become visible with the commit marker.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], groupId: String) async throws(ClientError) {
        let (t, _) = try _txn("sendOffsetsToTransaction()")
        let phase = t.state._withLock { $0.phase }
        guard phase == .inTransaction else {
            throw ClientError(.invalidTransactionState, "sendOffsetsToTransaction() in phase \(phase); call beginTransaction() first.")
        }
        guard !offsets.isEmpty else { return }
        let tp = try InternalTopics.offsetsPartition(forGroup: groupId, in: logDirectory)
        let isNew = t.state._withLock { $0.partitions.insert(tp).inserted }
        if isNew { try _coordinatorAdd([tp]) }
        try await InternalTopics.appendTransactionalOffsets(offsets, group: groupId, producerId: producerId, epoch: producerEpoch, to: tp, in: logDirectory)
    }

    /// Kafka's `commitTransaction()`: flushes the transaction's records, then writes commit
    /// markers to every partition it touched. Fails (and the transaction must be aborted) when
    /// a record of the transaction failed.
    public func commitTransaction() async throws(ClientError) {
        try await _endTransaction(commit: true)
    }

    /// Kafka's `abortTransaction()`: flushes, then writes abort markers to every partition the
    /// transaction touched; `read_committed` readers never see its records.
    public func abortTransaction() async throws(ClientError) {
        try await _endTransaction(commit: false)
    }

    func _endTransaction(commit: Bool) async throws(ClientError) {
        let call = commit ? "commitTransaction()" : "abortTransaction()"
        let (t, id) = try _txn(call)
        try t.state._withLock { (s: inout _ProducerTransactions.State) throws(ClientError) in
            guard s.phase == .inTransaction || (!commit && s.phase == .fatal) else {
                throw ClientError(.invalidTransactionState, "\(call) in phase \(s.phase); call beginTransaction() first.")
            }
            s.phase = commit ? .committing : .aborting
        }
        await flush()
        let failure = t.state._withLock { $0.failure }
        if commit, let failure {
            t.state._withLock { $0.phase = .inTransaction }
            throw ClientError(failure.code, "the transaction cannot commit: a record failed (\(failure.message)); call abortTransaction().", logError: failure.logError)
        }
        do {
            try await _coordinator.endTransaction(id, pid: producerId, epoch: producerEpoch, commit: commit)
        } catch {
            t.state._withLock { $0.phase = .fatal }
            throw error
        }
        t.state._withLock { s in
            s.phase = .ready
            s.partitions = []
            s.failure = nil
        }
    }
}
