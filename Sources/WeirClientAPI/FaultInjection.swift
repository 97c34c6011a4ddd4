/// A producer whose appends to its log can be held back on purpose: a load generator's
/// "stall the log's appends" fault (a disk that stops taking writes for a while).
public protocol AppendStallingProducer: MessageProducer {
    /// While `stalled`, every append to the log waits (polling every 100 µs); records keep
    /// accumulating in the producer's buffer up to `buffer.memory`.
    func stallAppends(_ stalled: Bool)
}

/// A client whose brokers can be taken down and brought up: librdkafka's mock cluster.
public protocol BrokerFaultClient: MessagingClient {
    /// Takes broker `id` down (`up: false`) or brings it back.
    func setBroker(_ id: Int32, up: Bool) throws(ClientError)
}
