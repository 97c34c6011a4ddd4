import Synchronization
public import WeirClientAPI

/// A client that acknowledges every record at once and delivers nothing to consumers: it
/// measures the load generator's own ceiling (scheduling, payload selection, clock reads and
/// histogram recording), the figure every other backend's results must stay well below.
///
/// Its topics hold nothing; its consumers split a topic's partitions among the members of
/// their group (partition `p` to member `p % members`), so that groups settle as on any client.
public struct NullClient: MessagingClient {
    let state = _NullState()

    public init() {}

    public var backendName: String { "null" }

    public func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
        Producer(onDelivery: onDelivery)
    }

    public func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
        Consumer(state: state, group: properties["group.id"] ?? "", member: state.join(properties["group.id"] ?? ""))
    }

    public func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        state.topics.withLock { $0[name] = max($0[name] ?? 0, partitions) }
    }

    public func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: partitions.map { ($0, 0) })
    }

    public func partitionCount(_ topic: String) async throws(ClientError) -> Int {
        guard let n = state.topics.withLock({ $0[topic] }) else {
            throw ClientError(.unknownTopicOrPartition, "topic '\(topic)' does not exist; ensureTopic creates it.")
        }
        return n
    }

    struct Producer: MessageProducer {
        let onDelivery: DeliveryHandler?

        func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
            RecordMetadata(topic: record.topic, partition: record.partition ?? 0, offset: -1, timestamp: record.timestamp ?? 0)
        }

        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
            onDelivery?(DeliveryBatchReport(topicPartition: TopicPartition(topic, 0), result: .success(-1), opaques: [opaque]))
        }

        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                        timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) {
            try produceNow(topic: topic, key: key, value: value, opaque: opaque)
        }

        func flush() async throws(ClientError) {}
        func close() async {}
    }

    /// Holds its share of the partitions and returns nothing.
    final class Consumer: MessageConsumer {
        let state: _NullState
        let group: String
        let member: Int
        let topic = Mutex<String?>(nil)

        init(state: _NullState, group: String, member: Int) {
            self.state = state
            self.group = group
            self.member = member
        }

        func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
            topic.withLock { $0 = topics.first }
        }
        func assign(_ partitions: [TopicPartition]) async throws(ClientError) {}
        func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] { [] }
        func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
            sleepNanos(min(UInt64(timeout.components.seconds) * 1_000_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000), 1_000_000))
            return 0
        }
        func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) {}
        func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? { nil }
        func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) {}
        func pause(_ partitions: [TopicPartition]) async throws(ClientError) {}
        func resume(_ partitions: [TopicPartition]) async throws(ClientError) {}
        func assignment() async -> [TopicPartition] {
            guard let topic = topic.withLock({ $0 }) else { return [] }
            let count = state.topics.withLock { $0[topic] ?? 0 }
            let members = state.groups.withLock { $0[group] ?? 1 }
            return (0..<count).filter { $0 % members == member }.map { TopicPartition(topic, Int32($0)) }
        }
        func close() async {}
    }
}

/// The null client's topics (partition counts) and group sizes.
final class _NullState: Sendable {
    let topics = Mutex<[String: Int]>([:])
    let groups = Mutex<[String: Int]>([:])

    /// The next member number of `group`.
    func join(_ group: String) -> Int {
        groups.withLock { g in
            defer { g[group, default: 0] += 1 }
            return g[group, default: 0]
        }
    }
}
