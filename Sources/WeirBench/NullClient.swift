import Synchronization
public import WeirClientAPI

/// A client that acknowledges every record at once and delivers nothing to consumers: it
/// measures the load generator's own ceiling (scheduling, payload selection, clock reads and
/// histogram recording), the figure every other backend's results must stay well below.
///
/// Its topics hold nothing; its consumers split a topic's partitions among the members of
/// their group (partition `p` to member `p % members`), so that groups settle as on any client.
public struct NullClient: MessagingClient {
    let topics = _TopicCounts()
    let members = _MemberCounter()

    public init() {}

    public var backendName: String { "null" }

    public func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
        Producer(onDelivery: onDelivery)
    }

    public func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
        let group = properties["group.id"] ?? ""
        return Consumer(client: self, group: group, member: members.take(group))
    }

    public func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        topics.ensure(name, partitions: partitions)
    }

    public func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
        _TopicCounts.endOffsets(partitions)
    }

    public func partitionCount(_ topic: String) async throws(ClientError) -> Int {
        guard let n = topics.count(topic) else {
            throw ClientError(.unknownTopicOrPartition, "topic '\(topic)' does not exist; ensureTopic creates it.")
        }
        return n
    }

    struct Producer: _BaselineProducer {
        let onDelivery: DeliveryHandler?

        func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
            RecordMetadata(topic: record.topic, partition: record.partition ?? 0, offset: -1, timestamp: record.timestamp ?? 0)
        }

        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
            onDelivery?(DeliveryBatchReport(topicPartition: TopicPartition(topic, 0), result: .success(-1), opaques: [opaque]))
        }
    }

    /// Holds its share of the partitions and returns nothing.
    final class Consumer: _BaselineConsumer {
        let client: NullClient
        let group: String
        let member: Int
        let topic = Mutex<String?>(nil)

        init(client: NullClient, group: String, member: Int) {
            self.client = client
            self.group = group
            self.member = member
        }

        func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
            topic.withLock { $0 = topics.first }
        }
        func assign(_ partitions: [TopicPartition]) async throws(ClientError) {}
        func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
            sleepNanos(min(UInt64(max(0, timeout._nanoseconds)), 1_000_000))
            return 0
        }
        func assignment() async -> [TopicPartition] {
            guard let topic = topic.withLock({ $0 }) else { return [] }
            return _share(of: topic, count: client.topics.count(topic) ?? 0, member: member, members: client.members.count(group))
        }
    }
}
