import Testing
import WeirClient
import WeirLog
import WeirPatterns
@testable import WeirKafka

/// `KafkaMessaging` as a lag monitor's `ConsumerGroupOffsets`: the group's committed offsets
/// from the cluster (`listConsumerGroupOffsets`), on librdkafka's in-process mock cluster.
@Suite("Kafka group offsets (lag)")
struct GroupOffsetsTests {
    @Test func committedOffsetsAndLagOfAGroupWithoutActiveMembers() async throws {
        let kafka = try KafkaMessaging(mockCluster: KafkaMockCluster(brokers: 3))
        let topic = "lag-\(UInt32.random(in: 0...UInt32.max))", group = "lag-group-\(UInt32.random(in: 0...UInt32.max))"
        try await kafka.ensureTopic(topic, partitions: 3, configs: [:])
        let producer = try await kafka.makeProducer(properties: [:])
        for p: Int32 in 0..<3 {
            for i in 0..<10 { _ = try await producer.send(ProducerRecord(topic: topic, partition: p, value: [UInt8(i)])) }
        }
        await producer.close()
        let p0 = TopicPartition(topic, 0), p1 = TopicPartition(topic, 1), p2 = TopicPartition(topic, 2)

        // A group nobody has used has no offsets.
        #expect(try await kafka.committedOffsets(group: group) == [:])

        // A consumer of the group commits without subscribing (assign), then leaves.
        let consumer = try await kafka.makeConsumer(properties: ["group.id": group])
        try await consumer.assign([p0, p1])
        try await consumer.commit([p0: 4, p1: 10])
        await consumer.close()

        #expect(try await kafka.committedOffsets(group: group) == [p0: 4, p1: 10])
        // The admin API's form, for the partitions asked for.
        #expect(try await kafka.admin.committedOffsets(group: group, partitions: [KafkaTopicPartition(topic: topic, partition: 1)]) == [KafkaTopicPartition(topic: topic, partition: 1): 10])
        // The mock cluster implements no DescribeGroups: no member count, which is not an error.
        #expect(await kafka.memberCount(group: group) ?? 0 == 0)

        let snap = try await LagMonitor.snapshot(client: kafka, offsets: kafka, group: group, topics: [topic],
                                                 thresholds: LagThresholds(warningPerPartition: 5, criticalPerPartition: 10))
        #expect(snap.partitions.map(\.topicPartition) == [p0, p1, p2])
        #expect(snap.partitions.map(\.committedOffset) == [4, 10, nil])
        #expect(snap.partitions.map(\.endOffset) == [10, 10, 10])
        #expect(snap.partitions.map(\.lag) == [6, 0, 10])
        #expect(snap.partitions.map(\.level) == [.warning, .ok, .critical])
        #expect(snap.totalLag == 16)
    }
}
