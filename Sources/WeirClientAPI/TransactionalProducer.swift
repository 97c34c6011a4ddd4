/// A producer with Kafka's transactions (`transactional.id`): what a load generator needs to
/// run kafka-producer-perf-test's transactional mode on any backend that has them.
public protocol TransactionalMessageProducer: MessageProducer {
    /// Registers the `transactional.id` and fences older producers with it (`initTransactions`).
    func initTransactions() async throws(ClientError)
    /// Starts a transaction; records sent until the commit belong to it.
    func beginTransaction() throws(ClientError)
    /// Flushes and commits the open transaction.
    func commitTransaction() async throws(ClientError)
    /// Aborts the open transaction.
    func abortTransaction() async throws(ClientError)
}
