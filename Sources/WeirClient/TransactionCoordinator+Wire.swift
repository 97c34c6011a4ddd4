public import WeirLog
import WeirFormat

/// The transaction coordinator of a log directory, for a Kafka wire-protocol broker
/// (`weir serve`): the same producer ids, epochs, transaction state and markers as the
/// embedded `Producer`'s transactions, with no second implementation.
public struct TransactionCoordinatorHandle: Sendable {
    let _coordinator: _TransactionCoordinator
    let directory: LogDirectory

    /// The coordinator shared by every producer of `directory`.
    public init(directory: LogDirectory) {
        self.directory = directory
        _coordinator = _TransactionCoordinator.shared(for: directory)
    }

    /// A new producer id for an idempotent producer without `transactional.id` (epoch 0).
    public func allocateProducerId() -> Int64 { _coordinator.allocateProducerId() }

    /// Kafka's `InitProducerId` for `transactional.id`: the id and a bumped epoch (fencing older producers).
    public func initProducerId(transactionalId: String, transactionTimeoutMs: Int64) async throws(ClientError) -> (producerId: Int64, epoch: Int16) {
        let (pid, epoch) = try await _coordinator.initProducerId(transactionalId, timeoutMs: transactionTimeoutMs)
        return (pid, epoch)
    }

    /// Kafka's `AddPartitionsToTxn`.
    public func addPartitions(transactionalId: String, producerId: Int64, epoch: Int16, _ partitions: [TopicPartition]) throws(ClientError) {
        try _coordinator.addPartitions(transactionalId, pid: producerId, epoch: epoch, partitions)
    }

    /// The `__consumer_offsets` partition that holds `groupId`'s commits (created if missing).
    public func offsetsPartition(forGroup groupId: String) throws(ClientError) -> TopicPartition {
        try InternalTopics.offsetsPartition(forGroup: groupId, in: directory)
    }

    /// Kafka's `AddOffsetsToTxn`: adds the group's offsets partition to the transaction.
    public func addOffsets(transactionalId: String, producerId: Int64, epoch: Int16, groupId: String) throws(ClientError) {
        try addPartitions(transactionalId: transactionalId, producerId: producerId, epoch: epoch, [offsetsPartition(forGroup: groupId)])
    }

    /// Kafka's `TxnOffsetCommit`: writes the offsets transactionally to `__consumer_offsets`
    /// (visible with the commit marker), as `Producer.sendOffsetsToTransaction` does.
    public func commitOffsets(producerId: Int64, epoch: Int16, groupId: String, _ offsets: [TopicPartition: Int64]) async throws(ClientError) {
        guard !offsets.isEmpty else { return }
        try await InternalTopics.appendTransactionalOffsets(offsets, group: groupId, producerId: producerId, epoch: epoch,
                                                            to: try offsetsPartition(forGroup: groupId), in: directory)
    }

    /// Kafka's `EndTxn`: commit or abort markers on every partition of the transaction.
    public func endTransaction(transactionalId: String, producerId: Int64, epoch: Int16, commit: Bool) async throws(ClientError) {
        try await _coordinator.endTransaction(transactionalId, pid: producerId, epoch: epoch, commit: commit)
    }
}
