import Synchronization
import WeirClientAPI

// What the generator's baseline clients (`NullClient`, `MachineBaseline`'s) share: they keep no
// offsets and no stamp headers, and count topics without storing anything in them.

/// A baseline consumer: records reach the generator through `pollBlocking` only, and there are
/// no offsets to commit, look up or move, so those calls do nothing.
protocol _BaselineConsumer: MessageConsumer {}

extension _BaselineConsumer {
    func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] { [] }
    func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) {}
    func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? { nil }
    func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) {}
    func pause(_ partitions: [TopicPartition]) async throws(ClientError) {}
    func resume(_ partitions: [TopicPartition]) async throws(ClientError) {}
    func close() async {}
}

/// A baseline producer: nothing is buffered, and a stamped send sends the value alone (the
/// stamp has no consumer to reach) unless the producer says otherwise.
protocol _BaselineProducer: MessageProducer {}

extension _BaselineProducer {
    func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                    timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) {
        try produceNow(topic: topic, key: key, value: value, opaque: opaque)
    }

    func flush() async throws(ClientError) {}
    func close() async {}
}

/// A baseline client's topics: partition counts only.
final class _TopicCounts: Sendable {
    let counts = Mutex<[String: Int]>([:])

    /// Creates `name`, or grows it to `partitions`.
    func ensure(_ name: String, partitions: Int) { counts.withLock { $0[name] = max($0[name] ?? 0, partitions) } }

    /// The partition count of `name`, nil when it was never ensured.
    func count(_ name: String) -> Int? { counts.withLock { $0[name] } }

    /// Every partition starts and stays at offset 0: nothing is stored.
    static func endOffsets(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: partitions.map { ($0, 0) })
    }
}
